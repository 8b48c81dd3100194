/**
 * Child processes of the bench (server processes, redis-server, generator workers, the
 * broadcast micro-benchmark): spawned with tsx, tracked, and always killed when the bench
 * ends, including on errors, SIGINT and uncaught exceptions. 127.0.0.1 only.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { now, withTimeout } from './clock.ts';
import type { WorkerCommand, WorkerReply, WorkerStats } from './worker.ts';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '../..');
export const PROFILE_DIR = '/tmp/qr-prof';
export const BENCH_PASSWORD = 'bench password for load tests';
/** tsx's loader, by absolute URL, so `node --import` works whatever the cwd. */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// ------------------------------------------------------------------ tracking

const live = new Set<ChildProcess>();
let hooked = false;

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    // Last resort (synchronous): nothing the bench started survives it.
    process.once('exit', killAllNow);
  }
  return child;
}

export function killAllNow(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ------------------------------------------------------------------ server processes

export interface ServerProc {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  store: 'memory' | 'redis';
  /** The server's own process.memoryUsage(), after a full GC when asked. */
  memory(gc: boolean): Promise<NodeJS.MemoryUsage & { gcRan: boolean }>;
  stop(): Promise<void>;
}

/**
 * Every simulated student connects from 127.0.0.1, so the per-IP join limit (a burst of
 * 100, then 10/s by default) would throttle the join storm to 10 joins/s. The bench lifts
 * it (unless `keepJoinLimit`); every other limit stays at its production default.
 */
export const LIFTED_JOIN_LIMIT = { LIMIT_JOIN_BURST: '100000', LIMIT_JOIN_PER_SEC: '10000' };

/** Samples per second of `perf record` (perf-summary.ts turns sample counts back into time). */
export const PERF_HZ = 1999;

/** `perf`: record the process with Linux perf (kernel and JIT frames) into that file until it stops. */
export async function spawnServer(opts: { redisUrl?: string; profile?: boolean; perf?: string; password: string; keepJoinLimit?: boolean }): Promise<ServerProc> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', QUIZROOM_HOST_PASSWORD: opts.password, LOG_LEVEL: 'silent', NODE_ENV: 'production' };
  delete env.REDIS_URL;
  if (!opts.keepJoinLimit) Object.assign(env, LIFTED_JOIN_LIMIT);
  if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
  const args = ['--import', TSX_LOADER, '--expose-gc'];
  if (opts.profile) args.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  // JIT frames named for perf (/tmp/perf-PID.map).
  if (opts.perf) args.push('--perf-basic-prof');
  // Extra Node/V8 flags for looking inside the server (bench.ts: BENCH_SERVER_NODE_ARGS).
  args.push(...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean));
  args.push(path.join(BENCH_DIR, 'server-process.ts'));
  const child = track(spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const listening = await withTimeout(
    new Promise<{ port: number; url: string; pid: number; store: 'memory' | 'redis' }>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.startsWith('{"type":"listening"'));
        if (line) {
          child.stdout!.off('data', onData);
          if (process.env.BENCH_SERVER_STDOUT) child.stdout!.pipe(createWriteStream(process.env.BENCH_SERVER_STDOUT));
          else child.stdout!.resume();
          resolve(JSON.parse(line));
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`server process exited (${signal ?? code}) before listening:\n${stderr}`)));
    }),
    60_000,
    'the server process to listen',
  ).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  // Timestamps on CLOCK_MONOTONIC, like the bench's phase windows (`perf report --time START,END` in seconds).
  const perf = opts.perf ? track(spawn('perf', ['record', '-k', 'mono', '-F', String(PERF_HZ), '-g', '-p', String(listening.pid), '-o', opts.perf], { stdio: 'ignore' })) : null;
  // No perf on this machine (ENOENT) or no access: the run goes on without a recording.
  perf?.on('error', (err) => process.stderr.write(`[bench] perf record failed: ${err.message}\n`));
  return {
    child,
    pid: listening.pid,
    url: listening.url,
    port: listening.port,
    store: listening.store,
    memory: (gc) =>
      withTimeout(
        new Promise((resolve) => {
          const onMessage = (m: { type?: string } & NodeJS.MemoryUsage & { gcRan: boolean }) => {
            if (m?.type !== 'mem') return;
            child.off('message', onMessage);
            resolve(m);
          };
          child.on('message', onMessage);
          child.send({ type: 'mem', gc });
        }),
        15_000,
        'server memory usage',
      ),
    // A graceful stop: the CPU profile (--profile) is written on exit.
    stop: async () => {
      if (perf && perf.exitCode === null) {
        const exited = new Promise((r) => perf.once('exit', r));
        perf.kill('SIGINT');
        await withTimeout(exited, 30_000, 'perf to write its data').catch(() => perf.kill('SIGKILL'));
      }
      await stopChild(child, 10_000);
    },
  };
}

/** The pid of the redis-server we started on `port` (a child of this process), for /proc. */
export function findRedisPid(port: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(redis-server)')) continue;
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes(`:${port}`)) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

// ------------------------------------------------------------------ generator workers

export class WorkerHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  lastStats: WorkerStats | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | null = null;

  constructor(readonly name: string) {
    this.child = track(
      fork(path.join(BENCH_DIR, 'worker.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', TSX_LOADER, ...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_WORKER_PROF] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    this.pid = this.child.pid!;
    this.child.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) {
        this.lastStats = reply.stats;
        p.resolve(reply.data);
      } else p.reject(new Error(`worker ${name}: ${reply.error}`));
    });
    this.child.once('exit', (code, signal) => {
      this.exited = `worker ${name} exited (${signal ?? code})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** Sends a command; rejects if no reply within `timeoutMs` (every command is bounded in the worker too). */
  call<T>(cmd: WorkerCommand, timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.seq++;
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd });
    });
    return withTimeout(reply, timeoutMs, `worker ${this.name}: ${cmd.type}`).finally(() => this.pending.delete(id));
  }

  /**
   * Offset of the worker's clock from ours, NTP-style over IPC (best of `rounds` by round
   * trip). Both read CLOCK_MONOTONIC, so it should be ~0 within ± rtt/2.
   */
  async clockOffset(rounds = 20): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Infinity };
    for (let i = 0; i < rounds; i++) {
      const t0 = now();
      const { t } = await this.call<{ t: number }>({ type: 'clock' }, 5000);
      const t1 = now();
      if (t1 - t0 < best.rttMs) best = { offsetMs: t - (t0 + t1) / 2, rttMs: t1 - t0 };
    }
    return best;
  }

  /** Every student leaves; the process stays for the next run. False if it could not (the caller closes it). */
  async reset(): Promise<boolean> {
    if (this.exited) return false;
    try {
      const r = await this.call<{ stillConnected: number }>({ type: 'reset', timeoutMs: 10_000 }, 15_000);
      return r.stillConnected === 0;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.exited) await this.call({ type: 'close' }, 5000).catch(() => undefined);
    await stopChild(this.child, process.env.BENCH_WORKER_PROF ? 30_000 : 2000);
  }
}

export function spawnTracked(command: string, args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  return track(spawn(command, args, options));
}
