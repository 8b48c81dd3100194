/**
 * The real server entry (`server/src/main.ts`, what `npm start` runs) in a child process,
 * for fault-injection tests that kill -9 it, SIGTERM it and start it again.
 *
 * - `node --import tsx server/src/main.ts` with cwd = the repository root (tsx is a root
 *   devDependency, so `--import tsx` resolves from there).
 * - A fixed port (default: a free one from `freePort()`), so a process started again with
 *   the same `port` comes back on the same URL and socket.io-clients reconnect by themselves.
 * - Ready is an event: the "Quizroom is running" banner on stdout (bounded); an exit before
 *   it rejects at once with the child's output.
 * - Every child is tracked: `killAllServerChildren()` (afterAll) SIGKILLs those still alive,
 *   by PID, and a process 'exit' hook does the same as a last resort. Only children started
 *   here are ever signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis-server.ts';
import { PASSWORD } from './quizroom.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = 20_000;
const BANNER = 'Quizroom is running';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerChild {
  url: string;
  port: number;
  pid: number;
  /** SIGKILL at once (a crash: no graceful close, no reconnect hint). */
  kill9(): void;
  /** SIGTERM; resolves with the exit code (null when it died of a signal). */
  sigterm(): Promise<number | null>;
  /** Settles when the process exits (never rejects). */
  exited: Promise<ChildExit>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Everything the process printed so far. */
  stdout(): string;
  stderr(): string;
}

export interface ServerChildOptions {
  redisUrl?: string;
  /** Default: a free port. Pass the port of an earlier child to come back on its URL. */
  port?: number;
  /** Extra environment (wins over the defaults below). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let hooked = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    // Last resort (synchronous): no server child outlives the test process.
    process.once('exit', () => {
      for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
  }
}

/** SIGKILLs every server child started by this module that is still running (afterAll). */
export async function killAllServerChildren(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of live) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    waits.push(new Promise((resolve) => child.once('exit', resolve)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

export async function startServerChild(opts: ServerChildOptions = {}): Promise<ServerChild> {
  const port = opts.port ?? (await freePort());
  // A minimal environment: nothing of the test runner's (a stray REDIS_URL, PUBLIC_URL…) leaks in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    QUIZROOM_HOST_PASSWORD: PASSWORD,
    LOG_LEVEL: 'warn',
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    ...opts.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('server', 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<ChildExit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  await new Promise<void>((resolve, reject) => {
    const timeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const done = (e: Error | null) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (e) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        reject(e);
      } else resolve();
    };
    const onData = () => {
      if (out.includes(BANNER)) done(null);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done(new Error(`server child exited (${signal ?? code}) before it was ready:\n${out.slice(-2000)}\n${err.slice(-2000)}`));
    const onError = (e: Error) => done(e);
    const timer = setTimeout(() => done(new Error(`server child on port ${port} not ready within ${timeoutMs} ms:\n${out.slice(-2000)}\n${err.slice(-2000)}`)), timeoutMs);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
    onData();
  });

  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    kill9() {
      if (alive()) child.kill('SIGKILL');
    },
    async sigterm() {
      if (alive()) child.kill('SIGTERM');
      return (await exited).code;
    },
    exited,
    alive,
    stdout: () => out,
    stderr: () => err,
  };
}
