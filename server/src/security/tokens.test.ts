/** Secrets come from the pooled CSPRNG without ever repeating a byte range. */
import { describe, expect, it } from 'vitest';
import { newPlayerId, newToken, secureRandomBytes } from './tokens.ts';

describe('secure random pool', () => {
  it('hands out fresh bytes across pool refills: 5,000 tokens and ids, all distinct and of full length', () => {
    const tokens = new Set(Array.from({ length: 5000 }, () => newToken()));
    const ids = new Set(Array.from({ length: 5000 }, () => newPlayerId()));
    expect(tokens.size).toBe(5000);
    expect(ids.size).toBe(5000);
    for (const t of tokens) expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(9);
  });

  it('returns copies: bytes handed out do not change when the pool is refilled', () => {
    const drawn = Array.from({ length: 200 }, () => secureRandomBytes(16));
    const snapshot = drawn.map((b) => Buffer.from(b));
    for (let i = 0; i < 600; i++) secureRandomBytes(16); // at least two refills of the 4 KB pool
    drawn.forEach((b, i) => expect(b.equals(snapshot[i]!)).toBe(true));
    expect(secureRandomBytes(8192)).toHaveLength(8192); // larger than the pool: straight from the OS
  });
});
