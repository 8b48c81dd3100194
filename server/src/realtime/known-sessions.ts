/**
 * "Does a session with this code exist?" for the Socket.IO handshake, answered from memory
 * for a moment after the store said yes.
 *
 * A lecture hall joins within a few seconds: without this, every one of 2,000 handshakes
 * asks the store the same question (one Redis round trip each, ~5% of a join's server CPU,
 * docs/performance.md). Only "yes" is remembered, for `ttlMs`: a code that does not exist is
 * asked again every time (and rate-limited per IP), and a session that ends within the moment
 * still refuses the join itself, in the store's own atomic check. Concurrent questions about
 * one code share one store call.
 */
export class KnownSessions {
  private readonly seen = new Map<string, number>();
  private readonly asking = new Map<string, Promise<boolean>>();

  private readonly ttlMs: number;
  private readonly max: number;
  private readonly storeConnected: () => boolean;

  constructor(
    private readonly lookup: (code: string) => Promise<boolean>,
    private readonly clock: () => number,
    opts: {
      /** How long a "yes" is remembered. */
      ttlMs?: number;
      /** Codes remembered at most (the oldest are forgotten first). */
      max?: number;
      /** While the store is unreachable every question goes to it (and fails: the handshake is refused as UNAVAILABLE). */
      storeConnected?: () => boolean;
    } = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 1000;
    this.max = opts.max ?? 10_000;
    this.storeConnected = opts.storeConnected ?? (() => true);
  }

  exists(code: string): Promise<boolean> {
    const at = this.seen.get(code);
    if (at !== undefined && this.clock() - at < this.ttlMs && this.storeConnected()) return Promise.resolve(true);
    let pending = this.asking.get(code);
    if (!pending) {
      pending = this.lookup(code)
        .then((found) => {
          this.seen.delete(code);
          if (found) {
            this.seen.set(code, this.clock());
            if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
          }
          return found;
        })
        .finally(() => this.asking.delete(code));
      this.asking.set(code, pending);
    }
    return pending;
  }
}
