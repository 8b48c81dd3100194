/**
 * Joins in a storm run the engine's pre-check on the session as this process last loaded it
 * (for a second), and the store decides atomically. Two services on one store stand for two
 * server processes: one changes the session, the other's next joins must still see the truth.
 */
import { SessionOptions } from '@quizroom/shared';
import { describe, expect, it } from 'vitest';
import { testBank } from '../../../tests/support/quizroom.ts';
import type { Logger } from '../logger.ts';
import { sha256 } from '../security/tokens.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { GameService } from './service.ts';

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

function twoProcesses() {
  let now = 1_763_000_000_000;
  const clock = () => now;
  const store = new MemoryStore({ clock });
  const make = () => new GameService({ store, logger, clock, retentionSeconds: 60, onChange: () => undefined });
  return { a: make(), b: make(), store, advance: (ms: number) => (now += ms) };
}

describe('join on a recent basis', () => {
  it('a join the store refuses is refused even when this process last saw the room open (locked by another process)', async () => {
    const { a, b } = twoProcesses();
    const { code } = await a.createSession(testBank(), SessionOptions.parse({}));
    expect((await a.join(code, 'Ada')).ok).toBe(true); // a's basis: unlocked
    expect((await b.command(code, { type: 'lock' })).ok).toBe(true);
    const refused = await a.join(code, 'Bob');
    expect(refused).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
  });

  it('a join the basis refuses is checked again on a fresh load (unlocked by another process meanwhile)', async () => {
    const { a, b, store } = twoProcesses();
    const { code } = await a.createSession(testBank(), SessionOptions.parse({}));
    expect((await b.command(code, { type: 'lock' })).ok).toBe(true);
    expect(await a.join(code, 'Ada')).toMatchObject({ ok: false, error: { code: 'LOCKED' } }); // a's basis: locked
    expect((await b.command(code, { type: 'unlock' })).ok).toBe(true);
    const joined = await a.join(code, 'Ada');
    expect(joined.ok).toBe(true);
    expect(Object.keys((await store.loadState(code))!.players)).toHaveLength(1);
  });

  it('a storm loads the session once per second, not once per student; every student is stored with a working token', async () => {
    const { a, store, advance } = twoProcesses();
    const { code } = await a.createSession(testBank(), SessionOptions.parse({}));
    let loads = 0;
    const loadSlice = store.loadSlice.bind(store);
    store.loadSlice = (...args) => (loads++, loadSlice(...args));
    const joins = [await a.join(code, 'Ada'), ...(await Promise.all(['Bob', 'Cy'].map((n) => a.join(code, n))))];
    expect(loads).toBe(1);
    advance(1000); // the basis is a second old: the next join loads again
    joins.push(await a.join(code, 'Dee'), ...(await Promise.all(['Eve', 'Fay'].map((n) => a.join(code, n)))));
    expect(loads).toBe(2);
    for (const r of joins) {
      if (!r.ok) throw new Error(r.error.message);
      expect(await store.playerByToken(sha256(r.data.token))).toStrictEqual({ code, playerId: r.data.playerId });
    }
    expect(Object.keys((await store.loadState(code))!.players)).toHaveLength(6);
  });
});
