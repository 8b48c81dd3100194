/** The handshake's "does this session exist?" is asked of the store once per moment per code, and only "yes" is remembered. */
import { describe, expect, it } from 'vitest';
import { KnownSessions } from './known-sessions.ts';

function setup(existing: Set<string>) {
  let now = 0;
  const asked: string[] = [];
  const known = new KnownSessions(async (code) => (asked.push(code), existing.has(code)), () => now, { ttlMs: 1000, max: 3 });
  return { known, asked, advance: (ms: number) => (now += ms) };
}

describe('KnownSessions', () => {
  it('a storm of handshakes for one code asks the store once; again only after the moment has passed', async () => {
    const { known, asked, advance } = setup(new Set(['123456']));
    expect(await Promise.all(Array.from({ length: 50 }, () => known.exists('123456')))).toEqual(Array(50).fill(true));
    expect(asked).toEqual(['123456']);
    advance(999);
    expect(await known.exists('123456')).toBe(true);
    expect(asked).toHaveLength(1);
    advance(1);
    expect(await known.exists('123456')).toBe(true);
    expect(asked).toHaveLength(2);
  });

  it('"no" is never remembered: a session created a moment later is found', async () => {
    const existing = new Set<string>();
    const { known, asked } = setup(existing);
    expect(await known.exists('654321')).toBe(false);
    existing.add('654321');
    expect(await known.exists('654321')).toBe(true);
    expect(asked).toEqual(['654321', '654321']);
  });

  it('a session that ended is noticed once the moment has passed', async () => {
    const existing = new Set(['111111']);
    const { known, advance } = setup(existing);
    expect(await known.exists('111111')).toBe(true);
    existing.delete('111111');
    advance(1000);
    expect(await known.exists('111111')).toBe(false);
  });

  it('remembers at most `max` codes, forgetting the oldest first', async () => {
    const { known, asked } = setup(new Set(['1', '2', '3', '4']));
    for (const code of ['1', '2', '3', '4']) await known.exists(code);
    await known.exists('4');
    await known.exists('1');
    expect(asked).toEqual(['1', '2', '3', '4', '1']);
  });

  it('while the store is disconnected the remembered answer is not used: the store is asked (and its failure refuses the handshake)', async () => {
    let connected = true;
    const asked: string[] = [];
    const known = new KnownSessions(async (code) => (asked.push(code), true), () => 0, { storeConnected: () => connected });
    await known.exists('1');
    connected = false;
    await known.exists('1');
    expect(asked).toEqual(['1', '1']);
  });

  it('a failing store call is not remembered and is asked again', async () => {
    let fail = true;
    const known = new KnownSessions(async () => {
      if (fail) throw new Error('redis down');
      return true;
    }, () => 0);
    await expect(known.exists('1')).rejects.toThrow('redis down');
    fail = false;
    expect(await known.exists('1')).toBe(true);
  });
});
