/**
 * A real, throwaway redis-server for tests: a free port on 127.0.0.1, a fresh temp dir,
 * append-only persistence (so restart() keeps the data) and no RDB snapshots.
 *
 * Readiness is an event, not a sleep: we wait for "Ready to accept connections" on the
 * server's stdout (bounded), and fail fast when the process exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningRedis {
  url: string;
  port: number;
  dir: string;
  /** SIGTERM (Redis flushes the AOF on a clean shutdown), wait for exit, remove the dir. */
  stop(): Promise<void>;
  /** SIGKILL at once: a crash (up to ~1 s of writes may be lost with appendfsync everysec). */
  kill9(): void;
  /** Stops (or after kill9: reaps) the server and starts it again on the same port and dir. */
  restart(): Promise<void>;
}

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const NOT_FOUND = 'redis-server not found: install it (apt-get install -y redis-server)';

/** A port nobody listens on right now: bind port 0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

export async function startRedisServer(): Promise<RunningRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'quizroom-redis-'));
  let child: ChildProcess;
  try {
    child = await launch(port, dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let removed = false;

  const stopProcess = async (): Promise<void> => {
    const proc = child;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      await stopProcess();
      if (!removed) {
        removed = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
    kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    async restart() {
      await stopProcess();
      child = await launch(port, dir);
    },
  };
}

/** Spawns redis-server and resolves once it accepts connections. */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--daemonize', 'no',
    '--logfile', '',
  ];
  const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Never leave a server behind when the test process ends.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));

  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const settle = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.removeListener('data', onData);
      // Keep draining the pipes so the server never blocks on a full one.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(child);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) settle(null);
    };
    const timer = setTimeout(
      () => settle(new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms:\n${output.slice(-2000)}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (err: NodeJS.ErrnoException) => settle(err.code === 'ENOENT' ? new Error(NOT_FOUND) : err));
    child.once('exit', (code, signal) => settle(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output.slice(-2000)}`)));
  });
}
