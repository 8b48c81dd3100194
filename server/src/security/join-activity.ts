/**
 * Join attempts per session over the last minute, so the instructor sees a bot flood (and
 * can lock the room) instead of only its effects.
 */
export interface JoinActivity {
  /** Attempts in the last minute (admitted + refused + throttled). */
  attempts: number;
  refused: number;
  throttled: number;
}

const WINDOW_MS = 60_000;
const BUCKET_MS = 5_000;

export class JoinActivityTracker {
  private readonly sessions = new Map<string, { at: number; admitted: number; refused: number; throttled: number }[]>();
  constructor(private readonly clock: () => number) {}

  record(code: string, outcome: 'admitted' | 'refused' | 'throttled'): void {
    const now = this.clock();
    const start = now - (now % BUCKET_MS);
    let buckets = this.sessions.get(code);
    if (!buckets) this.sessions.set(code, (buckets = []));
    let last = buckets.at(-1);
    if (!last || last.at !== start) buckets.push((last = { at: start, admitted: 0, refused: 0, throttled: 0 }));
    last[outcome]++;
    while (buckets.length && buckets[0]!.at <= now - WINDOW_MS) buckets.shift();
  }

  get(code: string): JoinActivity {
    const now = this.clock();
    const recent = (this.sessions.get(code) ?? []).filter((b) => b.at > now - WINDOW_MS);
    const sum = (k: 'admitted' | 'refused' | 'throttled') => recent.reduce((n, b) => n + b[k], 0);
    return { attempts: sum('admitted') + sum('refused') + sum('throttled'), refused: sum('refused'), throttled: sum('throttled') };
  }
}
