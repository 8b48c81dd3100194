/**
 * A reactive wall clock: reading `now` inside a template or `$derived` subscribes to a ticker
 * that runs only while something is listening. Outside a reactive context (tests) it simply
 * returns the injected time source.
 */
import { createSubscriber } from 'svelte/reactivity';

export type Now = () => number;

export class Clock {
  readonly #source: Now;
  readonly #subscribe: () => void;

  constructor(source: Now = () => Date.now(), intervalMs = 200) {
    this.#source = source;
    this.#subscribe = createSubscriber((update) => {
      const id = setInterval(update, intervalMs);
      return () => clearInterval(id);
    });
  }

  get now(): number {
    this.#subscribe();
    return this.#source();
  }

  /** Untracked read. */
  peek(): number {
    return this.#source();
  }
}

/** Remaining time of an open question, in server time; null when nothing is counting. */
export function remainingMs(
  t: { phase: string; deadline: number | null; pausedRemainingMs: number | null },
  serverNow: number,
): number | null {
  if (t.phase !== 'open') return null;
  if (t.pausedRemainingMs !== null) return Math.max(0, t.pausedRemainingMs);
  if (t.deadline === null) return null;
  return Math.max(0, t.deadline - serverNow);
}

/** "0:07", "1:30", "12:00". Rounds up, so 0:00 appears only when time is really up. */
export function formatClock(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

/**
 * What a screen reader hears about the countdown: it changes only at minute marks and at
 * 30 and 10 seconds, so a polite live region is not flooded every second.
 */
export function countdownAnnouncement(ms: number | null, paused: boolean): string {
  if (ms === null) return '';
  if (paused) return 'Paused';
  const s = Math.ceil(ms / 1000);
  if (s <= 0) return "Time's up";
  if (s <= 10) return '10 seconds left';
  if (s <= 30) return '30 seconds left';
  const minutes = Math.ceil(s / 60);
  return minutes === 1 ? '1 minute left' : `${minutes} minutes left`;
}
