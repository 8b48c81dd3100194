/**
 * Creates and connects the node-redis (v5) client the Redis store runs on.
 *
 * - Reconnects with exponential backoff (50 ms, 100 ms, … capped at 2 s) for as long as
 *   the process lives once it has been connected; commands issued meanwhile wait in the
 *   client's offline queue, unless `offlineQueue: false` (the store) makes them fail at once.
 * - The first connection gives up after `connectTimeoutMs` (a mistyped URL should fail the
 *   start, not hang it).
 * - node-redis emits 'error' on every failed (re)connection, and an EventEmitter without an
 *   'error' listener crashes the process: errors go to `onError` instead.
 * - `client.isReady` tells whether the client is connected right now (healthz).
 */
import { createClient, type RedisClientType } from 'redis';

export interface ConnectRedisOptions {
  /** Called with every connection error (default: ignored; the client keeps reconnecting). */
  onError?: (err: Error) => void;
  /** Give up the first connection after this long (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * Queue commands while disconnected (default true). The store's client turns it off so a
   * write during an outage fails at once with a retryable error instead of waiting: an answer
   * is acknowledged only once stored, never promised and parked.
   */
  offlineQueue?: boolean;
}

/** Backoff for reconnection attempt `retries` (0-based): 50 ms doubling, capped at 2 s. */
export function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 2000);
}

export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<RedisClientType> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const startedAt = Date.now();
  let connected = false;
  const client: RedisClientType = createClient({
    url,
    disableOfflineQueue: options.offlineQueue === false,
    socket: {
      connectTimeout: Math.min(connectTimeoutMs, 5000),
      reconnectStrategy: (retries: number, cause: Error) => {
        if (!connected && Date.now() - startedAt >= connectTimeoutMs) {
          return new Error(`could not connect to Redis at ${redactUrl(url)} within ${connectTimeoutMs} ms: ${cause.message}`);
        }
        return reconnectDelay(retries);
      },
    },
  });
  client.on('error', (err: Error) => options.onError?.(err));
  await client.connect();
  connected = true;
  return client;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
