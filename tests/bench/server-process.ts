/**
 * The server under test, in its own process (so its CPU and RSS can be read from /proc and
 * it never shares an event loop with the load generator). Configured from the environment
 * like production (PORT=0, REDIS_URL optional, QUIZROOM_HOST_PASSWORD, LOG_LEVEL), it prints
 * one JSON line `{"type":"listening","port":…}` on stdout once it accepts connections.
 *
 * IPC (when spawned with an IPC channel): `{type:'mem', gc?:true}` → `{type:'mem', …memoryUsage}`.
 * SIGTERM / SIGINT / parent gone: graceful close, then exit (so `--cpu-prof` profiles are written).
 */
import { ConfigSchema } from '../../server/src/config.ts';
import { createLogger } from '../../server/src/logger.ts';
import { startQuizroom } from '../../server/src/server.ts';

const config = ConfigSchema.parse({
  ...process.env,
  PORT: process.env.PORT ?? '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  REDIS_URL: process.env.REDIS_URL || undefined,
});
const server = await startQuizroom({ config, logger: createLogger(config.LOG_LEVEL), clientDist: null });
process.stdout.write(JSON.stringify({ type: 'listening', port: server.port, url: server.url, pid: process.pid, store: server.storeKind }) + '\n');

let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 5000).unref();
  server.close().then(
    () => process.exit(code),
    () => process.exit(1),
  );
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.on('disconnect', () => stop(0));
process.on('message', (msg: { type?: string; gc?: boolean }) => {
  if (msg?.type !== 'mem') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (msg.gc && gc) gc();
  process.send?.({ type: 'mem', gcRan: Boolean(msg.gc && gc), ...process.memoryUsage() });
});
