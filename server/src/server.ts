/**
 * Wires one Quizroom process: store, game service, HTTP app, Socket.IO (with the Redis
 * adapter when the store is Redis) and graceful shutdown. Tests start it on port 0.
 */
import type { Bank } from '@quizroom/shared';
import { loadBundledBanks } from '@quizroom/question-bank';
import { createAdapter } from '@socket.io/redis-adapter';
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.ts';
import { GameService } from './game/service.ts';
import { createHttpApp } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';
import { attachRealtime, type QServer } from './realtime/socket.ts';
import { connectRedis } from './store/redis-client.ts';
import { MemoryStore } from './store/memory-store.ts';
import { RedisStore } from './store/redis-store.ts';
import type { SessionStore } from './store/types.ts';

export const defaultClientDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client/dist');

export interface StartOptions {
  config: Config;
  logger?: Logger;
  clock?: () => number;
  /** Use this store instead of the one the config names (tests). */
  store?: SessionStore;
  banks?: Bank[];
  clientDist?: string | null;
  /** Per-socket event bucket (tests of rate limiting tune it). */
  eventLimit?: { capacity: number; refillPerSec: number };
  loginLimit?: { capacity: number; refillPerSec: number };
}

export interface RunningServer {
  url: string;
  port: number;
  password: string;
  passwordGenerated: boolean;
  storeKind: 'memory' | 'redis';
  httpServer: HttpServer;
  io: QServer;
  service: GameService;
  /** Graceful: stop accepting, tell clients to reconnect, finish in-flight work, close the store. */
  close(): Promise<void>;
}

export async function startQuizroom(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const clock = opts.clock ?? Date.now;
  const passwordGenerated = !config.QUIZROOM_HOST_PASSWORD;
  const password = config.QUIZROOM_HOST_PASSWORD ?? randomBytes(12).toString('base64url');

  const redisClients: RedisConnection[] = [];
  let store = opts.store;
  let adapter: ReturnType<typeof createAdapter> | undefined;
  if (!store && config.REDIS_URL) {
    const onError = (err: Error) => logger.warn({ err: err.message }, 'redis connection problem');
    const client = await connectRedis(config.REDIS_URL, { onError, offlineQueue: false });
    const pub = await connectRedis(config.REDIS_URL, { onError });
    const sub = await connectRedis(config.REDIS_URL, { onError });
    redisClients.push(client, pub, sub);
    store = new RedisStore(client, { clock });
    adapter = createAdapter(pub, sub);
  }
  store ??= new MemoryStore({ clock });

  const banks = opts.banks ?? loadBundledBanks();
  let realtime: ReturnType<typeof attachRealtime> | undefined;
  const service = new GameService({
    store,
    logger,
    clock,
    retentionSeconds: Math.round(config.RESULTS_RETENTION_DAYS * 86400),
    onChange: (change) => realtime?.broadcaster.onChange(change),
  });

  const app = createHttpApp({
    service,
    banks,
    password,
    logger,
    clock,
    storeKind: store.kind,
    cookieSecure: config.COOKIE_SECURE,
    trustProxy: config.TRUST_PROXY,
    clientDist: opts.clientDist === undefined ? defaultClientDist : opts.clientDist,
    publicUrl: (req) => config.PUBLIC_URL?.replace(/\/$/, '') ?? `${req.protocol}://${req.headers.host ?? `localhost:${config.PORT}`}`,
    loginLimit: opts.loginLimit ?? { capacity: config.LIMIT_LOGIN_BURST, refillPerSec: config.LIMIT_LOGIN_PER_SEC },
  });
  const httpServer = createServer(app);
  const allowedOrigins = new Set(config.ALLOWED_ORIGINS);
  if (config.PUBLIC_URL) allowedOrigins.add(new URL(config.PUBLIC_URL).origin);
  realtime = attachRealtime(httpServer, {
    service,
    logger,
    clock,
    // Browsers always send Origin on a WebSocket; non-browser clients (load tools) send none.
    originAllowed: (origin, host) => {
      if (!origin) return true;
      if (allowedOrigins.has(origin)) return true;
      try {
        return new URL(origin).host === host;
      } catch {
        return false;
      }
    },
    trustProxy: config.TRUST_PROXY,
    eventLimit: opts.eventLimit ?? { capacity: config.LIMIT_EVENT_BURST, refillPerSec: config.LIMIT_EVENT_PER_SEC },
    joinLimit: { capacity: config.LIMIT_JOIN_BURST, refillPerSec: config.LIMIT_JOIN_PER_SEC },
    badCodeLimit: { capacity: config.LIMIT_BAD_CODE_BURST, refillPerSec: config.LIMIT_BAD_CODE_PER_SEC },
  });
  if (adapter) realtime.io.adapter(adapter);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  service.startSweeper();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      service.stop();
      // Stop accepting (the listener closes; established sockets stay open for now) and give the reconnect hint.
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      // Local only: with the Redis adapter a plain emit would reach every process's clients.
      realtime!.io.local.emit('server:restarting', { retryAfterMs: 1000 });
      // Finish the requests being handled: their acks go out before the sockets close.
      if (!(await realtime!.drain(5000))) logger.warn('shutdown: requests still in flight after 5 s; closing anyway');
      realtime!.broadcaster.stop();
      // Close each connection after its last packets (acks, the hint, the disconnect) are written:
      // io.close() below would discard whatever is still buffered.
      const conns = [...realtime!.io.of('/').sockets.values()].map((s) => s.conn);
      realtime!.io.local.disconnectSockets(true);
      let flushTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(conns.map((c) => (c.readyState === 'closed' ? undefined : new Promise((resolve) => c.once('close', resolve))))),
        new Promise((resolve) => (flushTimer = setTimeout(resolve, 2000))),
      ]);
      clearTimeout(flushTimer);
      // Redis unreachable: drop its clients first. The adapter's unsubscribes (io.close) would
      // otherwise wait in the offline queue and reject unhandled when the client is destroyed.
      await Promise.all(redisClients.filter((c) => !c.isReady).map((c) => closeRedisClient(c)));
      await new Promise<void>((resolve) => realtime!.io.close(() => resolve()));
      httpServer.closeAllConnections?.();
      await httpClosed;
      await store!.close();
      await Promise.all(redisClients.map((c) => closeRedisClient(c)));
    })());

  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  return { url: `http://${host}:${port}`, port, password, passwordGenerated, storeKind: store.kind, httpServer, io: realtime.io, service, close };
}

type RedisConnection = { isOpen: boolean; isReady: boolean; close(): Promise<unknown>; destroy(): void };

/**
 * Polite while Redis answers, forceful when it does not: close()/quit() wait for the
 * client's queue to drain, which never happens while Redis is unreachable (the pub client
 * queues offline), so a shutdown during an outage would hang until the force-exit.
 */
async function closeRedisClient(c: RedisConnection, politeMs = 1000): Promise<void> {
  if (!c.isOpen) return;
  let closed = false;
  if (c.isReady) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      c.close().then(() => (closed = true), () => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, politeMs))),
    ]);
    clearTimeout(timer);
  }
  if (!closed) {
    try {
      c.destroy();
    } catch {
      // already closed
    }
  }
}
