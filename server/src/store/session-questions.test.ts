/**
 * SessionQuestionsCache on its own: the store contract (ST25) covers what the stores hand out;
 * this checks the cache's own rules — versions, no versions, and the least recently used
 * session going first.
 */
import { describe, expect, it } from 'vitest';
import { deepFreeze, SessionQuestionsCache } from './session-questions.ts';

const json = (id: string) => JSON.stringify([{ id, type: 'open', prompt: 'P', choices: [{ text: 'A' }] }]);

describe('SessionQuestionsCache', () => {
  it('serves a copy only for the version it was parsed with; a session without a version is never kept', () => {
    const cache = new SessionQuestionsCache();
    const parsed = cache.parse('ROOM1', 'v1', json('q1'));
    expect(cache.get('ROOM1', 'v1')).toBe(parsed);
    expect(cache.get('ROOM1', 'v2')).toBeNull();
    expect(cache.get('ROOM1', null)).toBeNull();
    cache.parse('ROOM2', null, json('q2'));
    expect(cache.latest('ROOM2')).toBeNull();
  });

  it('keeps at most `capacity` sessions, the least recently used going first', () => {
    const cache = new SessionQuestionsCache(2);
    cache.parse('A', 'a', json('qa'));
    cache.parse('B', 'b', json('qb'));
    expect(cache.get('A', 'a')).not.toBeNull(); // A is now the most recently used
    cache.parse('C', 'c', json('qc'));
    expect([cache.latest('A') !== null, cache.latest('B') !== null, cache.latest('C') !== null]).toEqual([true, false, true]);
  });

  it('deepFreeze freezes every level', () => {
    const value = deepFreeze({ list: [{ choices: [{ text: 'A' }] }] });
    expect([Object.isFrozen(value), Object.isFrozen(value.list), Object.isFrozen(value.list[0]), Object.isFrozen(value.list[0]!.choices[0])]).toEqual([true, true, true, true]);
  });
});
