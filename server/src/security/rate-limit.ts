/**
 * Token buckets keyed by a string (an IP, a socket, a session). Bounded: the least recently
 * used keys are dropped past `maxKeys`, so a flood of distinct keys cannot exhaust memory.
 */
export interface BucketSpec {
  /** Burst size. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSec: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly spec: BucketSpec, private readonly clock: () => number = Date.now, private readonly maxKeys = 50_000) {}

  /** Would `take` succeed? (Consumes nothing: for limits that only count failures.) */
  allows(key: string, cost = 1): boolean {
    const b = this.buckets.get(key);
    if (!b) return true;
    return Math.min(this.spec.capacity, b.tokens + ((this.clock() - b.at) / 1000) * this.spec.refillPerSec) >= cost;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string, cost = 1): boolean {
    const now = this.clock();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-insert: keeps Map order = recency
      b.tokens = Math.min(this.spec.capacity, b.tokens + ((now - b.at) / 1000) * this.spec.refillPerSec);
      b.at = now;
    } else {
      b = { tokens: this.spec.capacity, at: now };
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }
}
