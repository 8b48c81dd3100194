/**
 * The session store: Redis when a URL is configured (several processes, survives restarts),
 * otherwise the embedded in-memory store (one process). See docs/storage.md.
 */
import { MemoryStore } from './memory-store.ts';
import { connectRedis } from './redis-client.ts';
import { RedisStore } from './redis-store.ts';
import type { SessionStore } from './types.ts';

export type * from './types.ts';
export { gateOf, gateAccepts } from './gate.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
export { RedisStore, SessionKeys, type RedisStoreOptions } from './redis-store.ts';
export { connectRedis, reconnectDelay, redactUrl, type ConnectRedisOptions } from './redis-client.ts';

export interface StoreConfig {
  /** redis:// or rediss:// URL; without it the in-memory store is used. */
  redisUrl?: string;
  /** Redis connection problems (the client keeps reconnecting meanwhile). */
  onError?: (err: Error) => void;
  /** The store's clock (expiry bookkeeping); default Date.now. */
  clock?: () => number;
  /** Key namespace of the Redis store (default 'qr'). */
  prefix?: string;
  /** TTL of a live session (default 24 h). */
  liveTtlSeconds?: number;
}

/** Creates the configured store; with Redis, connects first (fails if unreachable for 10 s). */
export async function createStore(config: StoreConfig): Promise<SessionStore> {
  const common = {
    ...(config.clock ? { clock: config.clock } : {}),
    ...(config.liveTtlSeconds !== undefined ? { liveTtlSeconds: config.liveTtlSeconds } : {}),
  };
  if (!config.redisUrl) return new MemoryStore(common);
  const client = await connectRedis(config.redisUrl, config.onError ? { onError: config.onError } : {});
  return new RedisStore(client, { ...common, ...(config.prefix ? { prefix: config.prefix } : {}) });
}
