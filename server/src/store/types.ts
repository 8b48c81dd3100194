/**
 * The store behind every session. Two implementations (Redis and in-memory) pass one
 * contract suite (store.contract.ts). Every method is atomic on its own: the hot paths
 * (join, answer, grade) are single atomic operations, and everything else runs under a
 * per-session lease so several server processes never interleave host commands.
 *
 * The key schema of the Redis implementation is documented in docs/storage.md.
 */
import type { Phase } from '@quizroom/shared';
import type { AnswerRecord, GameState, Grade, Player } from '../engine/state.ts';

/**
 * The small, hot part of a session that atomic operations check: mirrors the session core.
 * `seal` blocks answers for a step while a transition out of an open question is being
 * computed, so an answer is either stored before the question is scored or refused.
 */
export interface Gate {
  step: number;
  phase: Phase;
  questionId: string | null;
  /** Server time after which answers are refused (before per-student latency grace). */
  deadline: number | null;
  paused: boolean;
  locked: boolean;
  allowLateJoin: boolean;
  maxPlayers: number;
  seal: number | null;
}

export type AddPlayerResult = 'ok' | 'nickname-taken' | 'full' | 'locked' | 'started' | 'finished' | 'no-session';

export type RecordAnswerResult = 'ok' | 'duplicate' | 'closed' | 'too-late' | 'conflict' | 'no-session';

export interface RecordAnswerArgs {
  record: AnswerRecord;
  /** The step of the open question the engine accepted the answer for. */
  step: number;
  /** Latest server time at which this student's answer is accepted (deadline + their grace). */
  acceptUntil: number;
  now: number;
  /**
   * new: stored only if the player has no answer yet (at most once).
   * replace: an edit of an open answer or justification; stored only if the stored
   * record still has `expectedTextVersion` (no lost edit).
   */
  mode: { kind: 'new' } | { kind: 'replace'; expectedTextVersion: number };
}

export interface SessionSecrets {
  /** SHA-256 (hex) of the host token; the token itself is never stored. */
  hostTokenHash: string;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Reachable and able to write? (healthz) */
  ping(): Promise<boolean>;
  /** Connected right now, as far as the client knows (no round trip): false means every call would fail or wait. */
  isConnected(): boolean;
  close(): Promise<void>;

  /** Stores a new session; refuses a code that is already live. */
  createSession(state: GameState, secrets: SessionSecrets): Promise<'ok' | 'code-taken'>;
  hostTokenHash(code: string): Promise<string | null>;
  gate(code: string): Promise<Gate | null>;
  /** Codes of every session the store holds (for restarting deadline timers). */
  liveCodes(): Promise<string[]>;

  /** The whole state: O(players + answers). Used by host commands, exports and resyncs. */
  loadState(code: string): Promise<GameState | null>;
  /**
   * The session with only one player and that player's answer to `questionId`: O(1).
   * Student commands run the engine on this slice.
   */
  loadSlice(code: string, playerId: string, questionId: string | null): Promise<GameState | null>;
  loadPlayer(code: string, playerId: string): Promise<Player | null>;

  /**
   * Takes the session's lease for `ttlMs` (false if another owner holds it unexpired).
   * With `sealStep`, answers for that step are refused from now on (a close is coming).
   * The seal belongs to the lease: it is set to `sealStep` (null clears it), so a seal that an
   * expired owner left behind (it died between acquire and commit) never outlives a take-over.
   */
  acquireLease(code: string, owner: string, now: number, ttlMs: number, sealStep: number | null): Promise<boolean>;
  /**
   * The sweeper's repair for an owner that died while holding a seal: when the lease expired
   * (`leaseUntil <= now`) and a seal is set, clears lease and seal atomically, so answers flow
   * again and the old owner's commit is refused (`lost-lease`). An unexpired lease, or an
   * expired one without a seal (still its owner's to commit), is left alone. True if it cleared.
   */
  clearExpiredSeal(code: string, now: number): Promise<boolean>;
  /** Releases the lease; clears a seal the commit did not make permanent. */
  releaseLease(code: string, owner: string): Promise<void>;
  /**
   * Persists what a host or system command changed: the session core (and the gate derived
   * from it), and the players and answer records that are not the same objects in `prev`.
   * Refused ('lost-lease') unless `owner` holds the lease.
   */
  commit(code: string, owner: string, prev: GameState, next: GameState): Promise<'ok' | 'lost-lease'>;

  /**
   * Atomic join: nickname unique per room (by key), cap, lock and phase checked in the store.
   * With `tokenHash`, the player's first token is stored with them (as `putPlayerToken` would,
   * without another round trip); a refused join stores no token.
   */
  addPlayer(code: string, player: Player, nicknameKey: string, tokenHash?: string): Promise<AddPlayerResult>;
  /** Atomic answer write: only while the gate is open for `step`, unsealed, before `acceptUntil`. */
  recordAnswer(code: string, args: RecordAnswerArgs): Promise<RecordAnswerResult>;
  /**
   * Atomic grade write (last write wins): stores the grade on the answer record and moves the
   * player's graded points by the difference from the grade it replaces. Returns the stored
   * grade version, or null when the response does not exist.
   */
  saveGrade(code: string, questionId: string, playerId: string, grade: Omit<Grade, 'version'>): Promise<Grade | null>;

  /** Player tokens (stored as SHA-256 hashes) → player. */
  putPlayerToken(code: string, tokenHash: string, playerId: string): Promise<void>;
  playerByToken(tokenHash: string): Promise<{ code: string; playerId: string } | null>;
  /** Kicked players lose their token. */
  revokePlayerTokens(code: string, playerId: string): Promise<void>;

  /** Keeps a finished session's results for `seconds` from now (default 30 days). */
  setRetention(code: string, seconds: number): Promise<void>;
}
