/**
 * A session's questions are written once, by `createSession`, and never change (ST25 in
 * docs/storage.md). Stores hand out one frozen copy instead of a fresh one per read: a session
 * made from the bundled review bank carries 77 questions, ~90 KB of JSON, and reading them for
 * every answer cost 0.27 ms of JSON.parse (a structured clone in the memory store) and 90 KB of
 * Redis traffic per answer — with 2,000 students answering at once, an answer-ack p99 of 3.5 s
 * (docs/performance.md, round 7).
 */
import type { Question } from '@quizroom/shared';

/** Freezes a JSON-like value and everything in it, so that states can share it read-only. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

interface Entry {
  version: string;
  questions: Question[];
}

/**
 * Parsed, frozen questions of recently read sessions, by code and the version `createSession`
 * drew for that session (a random id stored with it): a code reused by a later session (after
 * the first expired) has another version, so it never gets the earlier session's questions.
 * Least recently used entries go first once `capacity` sessions are held.
 */
export class SessionQuestionsCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly capacity = 64) {}

  /** The questions of `code` at `version`, or null (not held, another version, or no version: a session stored before versions). */
  get(code: string, version: string | null): Question[] | null {
    if (version === null) return null;
    const entry = this.#entries.get(code);
    if (!entry || entry.version !== version) return null;
    this.#touch(code, entry);
    return entry.questions;
  }

  /** Whatever is held for `code`, to read a session without fetching its questions (the caller checks the version it reads). */
  latest(code: string): Entry | null {
    return this.#entries.get(code) ?? null;
  }

  /** Parses and freezes the stored JSON; keeps it when the session has a version. */
  parse(code: string, version: string | null, json: string): Question[] {
    const questions = deepFreeze(JSON.parse(json) as Question[]);
    if (version !== null) this.#touch(code, { version, questions });
    return questions;
  }

  #touch(code: string, entry: Entry): void {
    // A Map iterates in insertion order: re-inserting keeps the most recently used last.
    this.#entries.delete(code);
    this.#entries.set(code, entry);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
