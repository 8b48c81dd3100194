/** Secrets: tokens, join codes and the signed instructor cookie. All randomness from node:crypto. */
import { createHash, createHmac, randomBytes, randomFillSync, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Bytes from the operating system's CSPRNG, drawn 4 KB at a time: a join storm makes two
 * secrets per student, and one getrandom() per secret cost ~40 µs each on the reference VM
 * (docs/performance.md). Every byte is handed out once and copied out of the pool.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
export function secureRandomBytes(n: number): Buffer {
  if (n > pool.length) return randomBytes(n);
  if (poolOffset + n > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  poolOffset += n;
  return out;
}

/** 256-bit bearer token, URL-safe. */
export function newToken(): string {
  return secureRandomBytes(32).toString('base64url');
}

/** Opaque player id (not a secret: it appears in host views and leaderboards). */
export function newPlayerId(): string {
  return secureRandomBytes(9).toString('base64url');
}

/** A 6-digit join code (uniqueness among live sessions is checked by the store). */
export function newJoinCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export function newSeed(): number {
  return randomBytes(4).readUInt32BE(0);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The instructor cookie: "<expiresAt>.<hmac>", signed with a key derived from the password. */
export class InstructorCookie {
  readonly name = 'qr_instructor';
  private readonly key: Buffer;
  constructor(password: string, private readonly ttlMs = 12 * 3600 * 1000) {
    this.key = createHash('sha256').update(`quizroom-instructor-cookie:${password}`).digest();
  }
  issue(now: number): { value: string; maxAgeMs: number } {
    const expires = String(now + this.ttlMs);
    return { value: `${expires}.${this.sign(expires)}`, maxAgeMs: this.ttlMs };
  }
  verify(value: string | undefined, now: number): boolean {
    if (!value) return false;
    const [expires, mac] = value.split('.');
    if (!expires || !mac || !/^\d+$/.test(expires)) return false;
    return safeEqual(mac, this.sign(expires)) && Number(expires) > now;
  }
  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeCookieValue(part.slice(i + 1).trim());
  }
  return out;
}

/** A malformed escape ("%E0%A4%A") is the client's problem: keep the raw text instead of throwing (a 500). */
function decodeCookieValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
