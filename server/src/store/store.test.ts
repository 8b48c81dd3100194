/**
 * Runs the SessionStore contract (store.contract.ts) against both stores: the in-memory one
 * with a controllable clock, and the Redis one on a real, throwaway redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { freePort, startRedisServer, type RunningRedis } from '../../../tests/support/redis-server.ts';
import { MemoryStore } from './memory-store.ts';
import { connectRedis, reconnectDelay } from './redis-client.ts';
import { RedisStore } from './redis-store.ts';
import { runStoreContract, T0 } from './store.contract.ts';
import { newGame, newPlayer } from '../engine/state.ts';
import { Question, SessionOptions } from '@quizroom/shared';

runStoreContract(
  'memory',
  async () => {
    let now = T0;
    const store = new MemoryStore({ clock: () => now });
    return {
      store,
      cleanup: () => store.close(),
      advanceClock: (ms: number) => {
        now += ms;
      },
      async expireSession() {
        now += 31 * 24 * 3600_000; // past any TTL: live, or the default retention
      },
    };
  },
  { clock: true },
);

let redis: RunningRedis;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

runStoreContract(
  'redis',
  async () => {
    const client = await connectRedis(redis.url, { onError: () => undefined });
    // A fresh namespace per test: tests never see each other's keys.
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const store = new RedisStore(client, { prefix });
    return {
      store,
      cleanup: () => store.close(),
      async sessionTtlsMs(code: string) {
        const keys: string[] = [];
        for (const match of [`${prefix}:s:{${code}}:*`, `${prefix}:ptoken:*`]) {
          for await (const batch of client.scanIterator({ MATCH: match, COUNT: 1000 })) keys.push(...batch);
        }
        const ttls: Record<string, number> = {};
        for (const key of keys) ttls[key] = await client.pTTL(key);
        return ttls;
      },
      restart: () => redis.restart(),
      async expireSession(code: string) {
        // What its TTL running out does: every key of the session is gone.
        for await (const batch of client.scanIterator({ MATCH: `${prefix}:s:{${code}}:*`, COUNT: 1000 })) if (batch.length) await client.del(batch);
      },
      peer: () => new RedisStore(client, { prefix, ownsClient: false }),
    };
  },
  { ttl: true, restart: true },
);

describe('Redis store specifics', () => {
  it('SR1 connectRedis gives up the first connection after connectTimeoutMs with a clear error', async () => {
    const port = await freePort();
    const errors: Error[] = [];
    await expect(connectRedis(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300, onError: (e) => errors.push(e) })).rejects.toThrow(
      /could not connect to Redis at redis:\/\/127\.0\.0\.1:\d+\/? within 300 ms/,
    );
    expect(errors.length).toBeGreaterThan(0); // reported, not thrown at the process
  });

  it('SR2 reconnects with capped exponential backoff; ping is false while Redis is down and true once it is back', async () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map(reconnectDelay)).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
    const own = await startRedisServer();
    const client = await connectRedis(own.url, { onError: () => undefined });
    const store = new RedisStore(client, { prefix: 'sr2' });
    try {
      expect(await store.ping()).toBe(true);
      // (events.once would reject on the 'error' event the client emits first)
      const event = (name: string) => new Promise<void>((resolve) => client.once(name, () => resolve()));
      const down = event('reconnecting');
      own.kill9();
      await down;
      expect(await store.ping()).toBe(false);
      const ready = event('ready');
      await own.restart();
      await ready;
      expect(await store.ping()).toBe(true);
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('SR3 key schema: every key is namespaced; every key of a session carries the {code} hash tag', async () => {
    const client = await connectRedis(redis.url);
    const prefix = `sr3-${randomUUID().slice(0, 8)}`;
    const store = new RedisStore(client, { prefix, ownsClient: false });
    try {
      const source = { file: 'f.txt', section: 's' };
      const questions = [Question.parse({ id: 'q1', type: 'open', prompt: 'P', explanation: 'E', source, rubric: [{ id: 'c', label: 'L', points: 1, description: 'D' }] })];
      const state = newGame({ code: 'KEYS01', bankId: 'b', bankTitle: 'B', questions, options: SessionOptions.parse({}), seed: 1, now: T0 });
      await store.createSession(state, { hostTokenHash: 'h'.repeat(64) });
      await store.addPlayer('KEYS01', newPlayer('p1', 'Ada', T0), 'ada');
      await store.acquireLease('KEYS01', 'o', T0, 1000, null);
      const open = { ...state, session: { ...state.session, phase: 'open' as const, step: 1, questionIndex: 0, current: { index: 0, questionId: 'q1', openedAt: T0, durationMs: 1000, deadline: T0 + 1000, pausedRemainingMs: null, presented: [], skipped: false } } };
      await store.commit('KEYS01', 'o', state, open);
      const record = { playerId: 'p1', questionId: 'q1', answer: { type: 'open' as const, text: 't' }, receivedAt: T0, elapsedMs: 0, correct: null, fraction: null, points: 0, streakBonus: 0, justification: null, textVersion: 1, grade: null };
      expect(await store.recordAnswer('KEYS01', { record, step: 1, acceptUntil: T0 + 1000, now: T0, mode: { kind: 'new' } })).toBe('ok');
      await store.putPlayerToken('KEYS01', 'ab'.repeat(32), 'p1');
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) keys.push(...batch);
      const s = `${prefix}:s:{KEYS01}`;
      expect(keys.sort()).toEqual(
        [`${s}:core`, `${s}:questions`, `${s}:gate`, `${s}:players`, `${s}:nicks`, `${s}:graded`, `${s}:scores`, `${s}:host`, `${s}:ptok`, `${s}:a:q1`, `${prefix}:ptoken:${'ab'.repeat(32)}`, `${prefix}:live`].sort(),
      );
      expect(await client.type(`${s}:gate`)).toBe('hash');
      expect(await client.type(`${s}:scores`)).toBe('zset');
      expect(await client.hGetAll(`${s}:gate`)).toMatchObject({ step: '1', phase: 'open', qid: 'q1', deadline: String(T0 + 1000), paused: '0', seal: '', lease: 'o' });
    } finally {
      await client.close();
    }
  });
});
