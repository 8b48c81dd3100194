/**
 * In-memory SessionStore: for development, tests and single-process deployments.
 *
 * Every method does its checks and writes synchronously (no await between check and
 * write), so each one is atomic exactly like the Lua scripts of the Redis store. Data is
 * deep-copied on the way in and on the way out: a caller can never mutate stored data. The
 * questions, which never change, are copied once and frozen instead (ST25).
 *
 * Like the Redis store, graded points live apart from the player records (`graded`), so a
 * commit carrying a stale player never undoes a concurrent saveGrade.
 */
import type { Question } from '@quizroom/shared';
import { nicknameKey } from '@quizroom/shared';
import type { AnswerRecord, GameState, Grade, Player, SessionCore } from '../engine/state.ts';
import { gateAccepts, gateOf } from './gate.ts';
import { deepFreeze } from './session-questions.ts';
import type { AddPlayerResult, Gate, RecordAnswerArgs, RecordAnswerResult, SessionSecrets, SessionStore } from './types.ts';

export interface MemoryStoreOptions {
  /** Lifetime of a live session, refreshed by every commit (default 24 h). */
  liveTtlSeconds?: number;
  /** The store's clock for expiry (default Date.now); tests pass a controllable one. */
  clock?: () => number;
}

interface MemSession {
  core: SessionCore;
  questions: Question[];
  gate: Gate;
  hostTokenHash: string;
  lease: { owner: string; until: number } | null;
  players: Map<string, Player>;
  /** nicknameKey → playerId (kicked players keep theirs). */
  nicks: Map<string, string>;
  /** playerId → graded points: the source of truth for Player.gradedPoints. */
  graded: Map<string, number>;
  /** questionId → playerId → record */
  answers: Map<string, Map<string, AnswerRecord>>;
  /** playerId → token hashes */
  tokens: Map<string, Set<string>>;
  /** Clock time at which the session is gone. */
  expiresAt: number;
  /** setRetention was called: commits no longer move the expiry. */
  retained: boolean;
}

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #sessions = new Map<string, MemSession>();
  /** tokenHash → owner */
  readonly #tokens = new Map<string, { code: string; playerId: string }>();
  readonly #liveTtlMs: number;
  readonly #clock: () => number;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#liveTtlMs = (options.liveTtlSeconds ?? 24 * 3600) * 1000;
    this.#clock = options.clock ?? Date.now;
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  isConnected(): boolean {
    return !this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async createSession(state: GameState, secrets: SessionSecrets): Promise<'ok' | 'code-taken'> {
    const code = state.session.code;
    if (this.#live(code)) return 'code-taken';
    const session: MemSession = {
      core: clone(state.session),
      // Never change after this (ST25): one frozen copy serves every read.
      questions: deepFreeze(clone(state.questions)),
      gate: gateOf(state.session),
      hostTokenHash: secrets.hostTokenHash,
      lease: null,
      players: new Map(),
      nicks: new Map(),
      graded: new Map(),
      answers: new Map(),
      tokens: new Map(),
      expiresAt: this.#clock() + this.#liveTtlMs,
      retained: false,
    };
    // A new session normally has no players or answers; store any it has all the same.
    for (const player of Object.values(state.players)) {
      this.#writePlayer(session, player, 'set');
      session.nicks.set(nicknameKey(player.nickname), player.id);
    }
    for (const byPlayer of Object.values(state.answers)) {
      for (const record of Object.values(byPlayer)) this.#writeAnswer(session, record);
    }
    this.#sessions.set(code, session);
    return 'ok';
  }

  async hostTokenHash(code: string): Promise<string | null> {
    return this.#live(code)?.hostTokenHash ?? null;
  }

  async gate(code: string): Promise<Gate | null> {
    const s = this.#live(code);
    return s ? { ...s.gate } : null;
  }

  async liveCodes(): Promise<string[]> {
    return [...this.#sessions.keys()].filter((code) => this.#live(code) !== null);
  }

  async loadState(code: string): Promise<GameState | null> {
    const s = this.#live(code);
    if (!s) return null;
    const players: Record<string, Player> = {};
    for (const id of s.players.keys()) players[id] = this.#readPlayer(s, id)!;
    const answers: Record<string, Record<string, AnswerRecord>> = {};
    for (const [qid, byPlayer] of s.answers) {
      const out: Record<string, AnswerRecord> = {};
      for (const [pid, record] of byPlayer) out[pid] = clone(record);
      answers[qid] = out;
    }
    return { session: clone(s.core), questions: s.questions, players, answers };
  }

  async loadSlice(code: string, playerId: string, questionId: string | null): Promise<GameState | null> {
    const s = this.#live(code);
    if (!s) return null;
    const player = this.#readPlayer(s, playerId);
    const record = questionId === null ? undefined : s.answers.get(questionId)?.get(playerId);
    return {
      session: clone(s.core),
      questions: s.questions,
      players: player ? { [playerId]: player } : {},
      answers: questionId !== null && record ? { [questionId]: { [playerId]: clone(record) } } : {},
    };
  }

  async loadPlayer(code: string, playerId: string): Promise<Player | null> {
    const s = this.#live(code);
    return s ? this.#readPlayer(s, playerId) : null;
  }

  async acquireLease(code: string, owner: string, now: number, ttlMs: number, sealStep: number | null): Promise<boolean> {
    const s = this.#live(code);
    if (!s) return false;
    if (s.lease && s.lease.owner !== owner && s.lease.until > now) return false;
    s.lease = { owner, until: now + ttlMs };
    // The seal is the lease holder's: a take-over replaces whatever an expired owner left.
    s.gate.seal = sealStep;
    return true;
  }

  async clearExpiredSeal(code: string, now: number): Promise<boolean> {
    const s = this.#live(code);
    if (!s || s.gate.seal === null || !s.lease || s.lease.until > now) return false;
    s.lease = null;
    s.gate.seal = null;
    return true;
  }

  async releaseLease(code: string, owner: string): Promise<void> {
    const s = this.#live(code);
    if (!s || s.lease?.owner !== owner) return;
    s.lease = null;
    s.gate.seal = null;
  }

  async commit(code: string, owner: string, prev: GameState, next: GameState): Promise<'ok' | 'lost-lease'> {
    const s = this.#live(code);
    // Held = still the recorded owner. An expired lease nobody took over is still ours:
    // nothing can have interleaved.
    if (!s || s.lease?.owner !== owner) return 'lost-lease';
    s.core = clone(next.session);
    s.gate = gateOf(next.session);
    for (const [id, player] of Object.entries(next.players)) {
      const before = prev.players[id];
      if (player === before) continue;
      if (before) this.#writePlayer(s, player, 'delta', player.gradedPoints - before.gradedPoints);
      else {
        this.#writePlayer(s, player, 'if-missing');
        // a player new to the caller keeps its nickname reserved
        const key = nicknameKey(player.nickname);
        if (!s.nicks.has(key)) s.nicks.set(key, id);
      }
    }
    for (const [qid, byPlayer] of Object.entries(next.answers)) {
      const before = prev.answers[qid];
      if (byPlayer === before) continue;
      for (const [pid, record] of Object.entries(byPlayer)) {
        if (record !== before?.[pid]) this.#writeAnswer(s, record);
      }
    }
    if (!s.retained) s.expiresAt = this.#clock() + this.#liveTtlMs;
    return 'ok';
  }

  async addPlayer(code: string, player: Player, nicknameKey: string, tokenHash?: string): Promise<AddPlayerResult> {
    const s = this.#live(code);
    if (!s) return 'no-session';
    const { gate } = s;
    if (gate.phase === 'finished') return 'finished';
    if (gate.phase !== 'lobby' && !gate.allowLateJoin) return 'started';
    if (gate.locked) return 'locked';
    // A player id already in use is refused too (J6); ids are random, so that is only a retry.
    if (s.nicks.has(nicknameKey) || s.players.has(player.id)) return 'nickname-taken';
    if (s.players.size >= gate.maxPlayers) return 'full';
    s.nicks.set(nicknameKey, player.id);
    this.#writePlayer(s, player, 'set');
    if (tokenHash !== undefined) await this.putPlayerToken(code, tokenHash, player.id);
    return 'ok';
  }

  async recordAnswer(code: string, args: RecordAnswerArgs): Promise<RecordAnswerResult> {
    const s = this.#live(code);
    if (!s) return 'no-session';
    const { record } = args;
    if (!gateAccepts(s.gate, args.step, record.questionId)) return 'closed';
    if (args.now > args.acceptUntil) return 'too-late';
    const stored = s.answers.get(record.questionId)?.get(record.playerId);
    if (args.mode.kind === 'new') {
      if (stored) return 'duplicate';
    } else if (!stored || stored.textVersion !== args.mode.expectedTextVersion) {
      return 'conflict';
    }
    this.#writeAnswer(s, record);
    return 'ok';
  }

  async saveGrade(code: string, questionId: string, playerId: string, grade: Omit<Grade, 'version'>): Promise<Grade | null> {
    const s = this.#live(code);
    const stored = s?.answers.get(questionId)?.get(playerId);
    if (!s || !stored) return null;
    const newGrade: Grade = { ...clone(grade), version: (stored.grade?.version ?? 0) + 1 };
    const delta = newGrade.points - (stored.grade?.points ?? 0);
    this.#writeAnswer(s, { ...stored, grade: newGrade });
    s.graded.set(playerId, (s.graded.get(playerId) ?? 0) + delta);
    return clone(newGrade);
  }

  async putPlayerToken(code: string, tokenHash: string, playerId: string): Promise<void> {
    const s = this.#live(code);
    if (!s) return;
    let set = s.tokens.get(playerId);
    if (!set) s.tokens.set(playerId, (set = new Set()));
    set.add(tokenHash);
    this.#tokens.set(tokenHash, { code, playerId });
  }

  async playerByToken(tokenHash: string): Promise<{ code: string; playerId: string } | null> {
    const owner = this.#tokens.get(tokenHash);
    if (!owner) return null;
    const s = this.#live(owner.code);
    if (!s || !s.tokens.get(owner.playerId)?.has(tokenHash)) {
      this.#tokens.delete(tokenHash);
      return null;
    }
    return { ...owner };
  }

  async revokePlayerTokens(code: string, playerId: string): Promise<void> {
    const s = this.#live(code);
    if (!s) return;
    for (const hash of s.tokens.get(playerId) ?? []) this.#tokens.delete(hash);
    s.tokens.delete(playerId);
  }

  async setRetention(code: string, seconds: number): Promise<void> {
    const s = this.#live(code);
    if (!s) return;
    s.expiresAt = this.#clock() + seconds * 1000;
    s.retained = true;
  }

  // ------------------------------------------------------------------ internals

  /** The session, or null when missing or expired (expired sessions are dropped here). */
  #live(code: string): MemSession | null {
    const s = this.#sessions.get(code);
    if (!s) return null;
    if (this.#clock() >= s.expiresAt) {
      this.#sessions.delete(code);
      for (const hashes of s.tokens.values()) for (const hash of hashes) this.#tokens.delete(hash);
      return null;
    }
    return s;
  }

  #readPlayer(s: MemSession, playerId: string): Player | null {
    const player = s.players.get(playerId);
    if (!player) return null;
    return { ...clone(player), gradedPoints: s.graded.get(playerId) ?? 0 };
  }

  /**
   * Stores a player record. Graded points: 'set' takes the record's value, 'if-missing'
   * only when the store has none yet, 'delta' moves the stored value by `delta`.
   */
  #writePlayer(s: MemSession, player: Player, graded: 'set' | 'if-missing' | 'delta', delta = 0): void {
    s.players.set(player.id, clone(player));
    if (graded === 'set' || (graded === 'if-missing' && !s.graded.has(player.id))) s.graded.set(player.id, player.gradedPoints);
    else if (graded === 'delta') s.graded.set(player.id, (s.graded.get(player.id) ?? 0) + delta);
  }

  #writeAnswer(s: MemSession, record: AnswerRecord): void {
    let byPlayer = s.answers.get(record.questionId);
    if (!byPlayer) s.answers.set(record.questionId, (byPlayer = new Map()));
    byPlayer.set(record.playerId, clone(record));
  }
}
