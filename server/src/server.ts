/**
 * Wires one Quizroom process: store, game service, HTTP app, Socket.IO (with the Redis
 * adapter when the store is Redis) and graceful shutdown. Tests start it on port 0.
 */
import type { Bank } from '@quizroom/shared';
import { loadBundledBanks } from '@quizroom/question-bank';
import { createAdapter } from '@socket.io/redis-adapter';
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config.ts';
import { GameService } from './game/service.ts';
import { createHttpApp } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';
import { attachRealtime, type QServer } from './realtime/socket.ts';
import type { WriteCounts } from './realtime/direct-write.ts';
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
  hostEventLimit?: { capacity: number; refillPerSec: number };
  loginLimit?: { capacity: number; refillPerSec: number };
  /** Engine.IO heartbeat (tests shorten it; each heartbeat also samples the round trip). */
  pingIntervalMs?: number;
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
  /** How personal views and question broadcasts left this process (docs/performance.md). */
  writes: WriteCounts;
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
    // The adapter fires these and forgets them: during an outage their rejections would be unhandled.
    catchRejections(pub, ['publish', 'sPublish'], logger);
    catchRejections(sub, ['subscribe', 'pSubscribe', 'unsubscribe', 'pUnsubscribe'], logger);
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
  const httpRequests = trackHttpRequests(httpServer);
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
    hostEventLimit: opts.hostEventLimit ?? { capacity: config.LIMIT_HOST_EVENT_BURST, refillPerSec: config.LIMIT_HOST_EVENT_PER_SEC },
    joinLimit: { capacity: config.LIMIT_JOIN_BURST, refillPerSec: config.LIMIT_JOIN_PER_SEC },
    badCodeLimit: { capacity: config.LIMIT_BAD_CODE_BURST, refillPerSec: config.LIMIT_BAD_CODE_PER_SEC },
    ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
  });
  if (adapter) {
    realtime.io.adapter(adapter);
    realtime.broadcaster.enableCrossProcess();
  }

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
      // HTTP responses from now on close their connection (no keep-alive into a closing process).
      httpRequests.beginClose();
      // Stop accepting (the listener closes; established sockets stay open for now), close the
      // keep-alive connections that carry no request (nothing to lose there; Node's close()
      // does that too), and give the reconnect hint.
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      // Local only: with the Redis adapter a plain emit would reach every process's clients.
      realtime!.io.local.emit('server:restarting', { retryAfterMs: 1000 });
      // Finish what is being handled, each within the drain window and side by side: the socket
      // requests (their acks go out before the sockets close; then the sockets go, so their
      // clients move on at once) and the HTTP requests (an export download, an upload).
      const socketsClosed = (async () => {
        if (!(await realtime!.drain(DRAIN_MS))) logger.warn('shutdown: socket requests still in flight after the drain window; closing anyway');
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
      })();
      const requestsDone = httpRequests.drain(DRAIN_MS).then((done) => {
        if (!done) logger.warn({ requests: httpRequests.size }, 'shutdown: HTTP requests still in flight after the drain window; closing anyway');
      });
      await Promise.all([socketsClosed, requestsDone]);
      // Redis unreachable: drop its clients first. The adapter's unsubscribes (io.close) would
      // otherwise wait in the offline queue and reject unhandled when the client is destroyed.
      await Promise.all(redisClients.filter((c) => !c.isReady).map((c) => closeRedisClient(c)));
      // What HTTP connections are left carry no request any more (their requests finished above),
      // or one that outlived the drain window. io.close() closes the HTTP server too and would
      // wait for them.
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => realtime!.io.close(() => resolve()));
      await httpClosed;
      await store!.close();
      await Promise.all(redisClients.map((c) => closeRedisClient(c)));
    })());

  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  return { url: `http://${host}:${port}`, port, password, passwordGenerated, storeKind: store.kind, httpServer, io: realtime.io, service, writes: realtime.broadcaster.writes, close };
}

/**
 * The Socket.IO Redis adapter calls its clients without awaiting or catching: a broadcast's
 * `publish` while Redis is down waits in the pub client's offline queue and is rejected when
 * the client is destroyed (a shutdown during the outage), or when the connection drops with
 * the command in flight; the subscriptions' (un)subscribe calls likewise. Each such rejection
 * would be an unhandled rejection (which ends a Node process by default). Wraps those methods
 * so every returned promise already has a handler: the failure is logged, and the broadcast is
 * lost — clients get their whole view again on reconnect or with the next update.
 */
export function catchRejections(client: object, methods: readonly string[], logger: Logger): void {
  const target = client as Record<string, unknown>;
  for (const name of methods) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const result: unknown = Reflect.apply(original, this ?? client, args);
      if (result instanceof Promise) {
        result.catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err), command: name }, 'redis adapter command failed'));
      }
      return result;
    };
  }
}

/** How long a graceful close waits for requests in flight (socket acks and HTTP requests alike). */
const DRAIN_MS = 5000;

/**
 * The HTTP requests being handled (Socket.IO's own transport requests excluded: the realtime
 * layer drains those). A graceful close waits for them instead of cutting them, and from
 * `beginClose()` on every response closes its connection once it is complete.
 */
function trackHttpRequests(server: HttpServer) {
  const open = new Set<ServerResponse>();
  let waiters: (() => void)[] = [];
  let closing = false;
  const lastOnItsConnection = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/socket.io/')) return;
    open.add(res);
    if (closing) lastOnItsConnection(res);
    res.once('close', () => {
      open.delete(res);
      // A response that had started before the close kept its connection alive: idle now.
      if (closing) server.closeIdleConnections();
      if (open.size === 0) for (const resolve of waiters.splice(0)) resolve();
    });
  });
  return {
    get size() {
      return open.size;
    },
    beginClose() {
      closing = true;
      for (const res of open) lastOnItsConnection(res);
    },
    /** True once no HTTP request is in flight; false if `timeoutMs` ran out first. */
    drain(timeoutMs: number): Promise<boolean> {
      if (open.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        waiters.push(done);
      });
    },
  };
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
