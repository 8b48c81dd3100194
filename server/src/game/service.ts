/**
 * The command pipeline between the transport and the store: authorised commands go
 * engine → store → listeners. Host and system commands run under the session's lease
 * (one at a time across every process); joins, answers and grades are single atomic store
 * operations, so they scale with the room instead of queueing behind each other.
 */
import { nicknameKey, type AppError, type Bank, type ErrorCode, type GradingItem, type Question, type SessionOptions } from '@quizroom/shared';
import { randomUUID } from 'node:crypto';
import {
  latencyGrace,
  newGame,
  reduce,
  responseText,
  type AnswerRecord,
  type Command,
  type GameEvent,
  type GameState,
  type HostCommand,
  type SessionCore,
} from '../engine/index.ts';
import type { Logger } from '../logger.ts';
import { newJoinCode, newPlayerId, newSeed, newToken, sha256 } from '../security/tokens.ts';
import type { RecordAnswerResult, SessionStore } from '../store/types.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { answerSummary } from './results.ts';

export type Result<T> = { ok: true; data: T } | { ok: false; error: AppError };
const fail = <T>(code: ErrorCode, message: string): Result<T> => ({ ok: false, error: { code, message } });

/** What happened, for the realtime layer to broadcast. `state` is the whole game unless `partial`. */
export interface Change {
  code: string;
  state: GameState;
  events: GameEvent[];
  /**
   * The state holds only the acting player (student commands): enough for that player's view;
   * or, with `coreOnly`, no player at all.
   */
  partial: boolean;
  /**
   * The state holds only the session core and the questions (and at most one player): host
   * commands that change only the core, run without loading the room.
   */
  coreOnly?: boolean;
}

export interface GameServiceOptions {
  store: SessionStore;
  logger: Logger;
  clock?: () => number;
  retentionSeconds: number;
  onChange: (change: Change) => void;
}

/** Transitions out of an open question seal it first, so no answer slips in while it is scored. */
const SEALING = new Set<Command['type']>(['close', 'skip', 'end', 'deadline', 'pause']);
/**
 * Commands that read and change only the session core: they run on a slice without players
 * or answers and commit only the core, so their cost does not grow with the room (a "next"
 * at 2,000 students would otherwise load and diff every player and answer first).
 */
const CORE_ONLY = new Set<Command['type']>(['next', 'reveal', 'leaderboard', 'pause', 'resume', 'lock', 'unlock']);
/** No player has this id (ids are random tokens): the slice of it is the session core alone. */
const NO_PLAYER = '';
const LEASE_MS = 5000;
/** How long a join load serves the joins after it (see `joinBasis`). */
const JOIN_BASIS_MS = 1000;
const LEASE_ATTEMPTS = 40;

export class GameService {
  readonly store: SessionStore;
  private readonly clock: () => number;
  private readonly queue = new KeyedQueue();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly processId = randomUUID();
  /** Per session, a player this process admitted: `start` runs on that player's slice (G1 asks for one). */
  private readonly admitted = new Map<string, string>();
  /**
   * Per session, the core and questions of this process's last join load, for JOIN_BASIS_MS:
   * the engine's pre-check of the joins of a storm runs on it instead of a store load per
   * student. The store's addPlayer script re-checks phase, lock, cap and nickname atomically;
   * a join the basis refuses is checked again on a fresh load; the joining student's first view
   * comes from the broadcaster, which reloads when the basis was a step behind.
   */
  private readonly joinBasis = new Map<string, { session: SessionCore; questions: Question[]; at: number }>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly opts: GameServiceOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? Date.now;
  }

  // ------------------------------------------------------------ sessions

  async createSession(bank: Bank, options: SessionOptions): Promise<{ code: string; hostToken: string }> {
    const hostToken = newToken();
    for (let attempt = 0; attempt < 50; attempt++) {
      const code = newJoinCode();
      const state = newGame({ code, bankId: bank.id, bankTitle: bank.title, questions: bank.questions, options, seed: newSeed(), now: this.clock() });
      if ((await this.store.createSession(state, { hostTokenHash: sha256(hostToken) })) === 'ok') {
        this.opts.logger.info({ code, bank: bank.id, questions: bank.questions.length }, 'session created');
        return { code, hostToken };
      }
    }
    throw new Error('could not find a free join code');
  }

  // ------------------------------------------------------------ host and system commands

  /** Host commands and the deadline: lease → load → engine → commit → broadcast. */
  async command(code: string, cmd: HostCommand | { type: 'deadline'; step: number }): Promise<Result<{ step: number; state: GameState }>> {
    if (cmd.type === 'grade') return fail('BAD_REQUEST', 'use grade()');
    // This process changes the session: its joins load it afresh.
    this.joinBasis.delete(code);
    return this.queue.run(code, () => this.underLease(code, cmd));
  }

  private async underLease(code: string, cmd: Command): Promise<Result<{ step: number; state: GameState }>> {
    const gate = await this.store.gate(code);
    if (!gate) return fail('NOT_FOUND', 'no such session');
    const seal = gate.phase === 'open' && SEALING.has(cmd.type) ? gate.step : null;
    const owner = `${this.processId}:${randomUUID()}`;
    if (!(await this.acquire(code, owner, seal))) return fail('UNAVAILABLE', 'the session is busy: try again');
    try {
      const slice = CORE_ONLY.has(cmd.type) ? await this.store.loadSlice(code, NO_PLAYER, null) : cmd.type === 'start' ? await this.startSlice(code) : null;
      const coreOnly = slice !== null;
      const state = slice ?? (await this.store.loadState(code));
      if (!state) return fail('NOT_FOUND', 'no such session');
      const now = this.clock();
      const result = reduce(state, cmd, now);
      if (!result.ok) return result;
      if ((await this.store.commit(code, owner, state, result.state)) !== 'ok') return fail('UNAVAILABLE', 'the session is busy: try again');
      await this.afterCommit(code, result.state, result.events, coreOnly);
      return { ok: true, data: { step: result.state.session.step, state: result.state } };
    } finally {
      await this.store.releaseLease(code, owner).catch(() => undefined);
    }
  }

  /**
   * `start` changes only the core, but the engine starts a session only if someone joined
   * (G1): the slice of one player this process admitted, if still in the game, shows that
   * without loading the room. Null when there is none (then the whole state is loaded).
   */
  private async startSlice(code: string): Promise<GameState | null> {
    const playerId = this.admitted.get(code);
    if (playerId === undefined) return null;
    const slice = await this.store.loadSlice(code, playerId, null);
    const player = slice?.players[playerId];
    return slice && player && !player.kicked ? slice : null;
  }

  /** Another process may hold the lease for a few milliseconds: wait for it, boundedly. */
  private async acquire(code: string, owner: string, seal: number | null): Promise<boolean> {
    for (let attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
      if (await this.store.acquireLease(code, owner, this.clock(), LEASE_MS, seal)) return true;
      await new Promise((resolve) => setTimeout(resolve, 25 + attempt * 5));
    }
    return false;
  }

  private async afterCommit(code: string, state: GameState, events: GameEvent[], coreOnly = false): Promise<void> {
    for (const e of events) {
      if (e.type === 'question-opened' || e.type === 'question-resumed') this.scheduleDeadline(state);
      if (e.type === 'question-closed' || e.type === 'question-paused' || e.type === 'session-finished') this.clearDeadline(code);
      if (e.type === 'player-kicked') await this.store.revokePlayerTokens(code, e.playerId);
      if (e.type === 'session-finished') await this.store.setRetention(code, this.opts.retentionSeconds);
      if (e.type === 'question-opened' || e.type === 'session-finished') this.admitted.delete(code);
    }
    this.opts.onChange(coreOnly ? { code, state, events, partial: true, coreOnly: true } : { code, state, events, partial: false });
  }

  // ------------------------------------------------------------ deadlines

  /**
   * Each process closes questions whose deadline passed: a precise timer for questions it
   * opened, and a sweep over every live session for questions opened by a process that went
   * away. The lease makes sure only one of them closes a question; the others get STALE.
   */
  private scheduleDeadline(state: GameState): void {
    const { code, current, step, options } = state.session;
    if (!current || current.pausedRemainingMs !== null) return;
    this.clearDeadline(code);
    // Answers are accepted up to the deadline plus each student's latency grace: close after the largest grace.
    const delay = Math.max(0, current.deadline + options.maxLatencyCompensationMs - this.clock());
    const timer = setTimeout(() => {
      this.timers.delete(code);
      void this.command(code, { type: 'deadline', step }).catch((err) => this.opts.logger.error({ err, code }, 'deadline failed'));
    }, delay);
    timer.unref();
    this.timers.set(code, timer);
  }

  private clearDeadline(code: string): void {
    const t = this.timers.get(code);
    if (t) clearTimeout(t);
    this.timers.delete(code);
  }

  /** Starts the sweep (every `intervalMs`) that closes overdue questions of any process. */
  startSweeper(intervalMs = 1000): void {
    const sweep = async () => {
      try {
        const now = this.clock();
        for (const code of await this.store.liveCodes()) {
          const gate = await this.store.gate(code);
          // A process that died between sealing and committing left a seal that would refuse every answer.
          if (gate && gate.seal !== null && (await this.store.clearExpiredSeal(code, now))) this.opts.logger.warn({ code, step: gate.seal }, 'cleared a seal whose lease expired');
          if (!gate || gate.phase !== 'open' || gate.paused || gate.deadline === null || this.timers.has(code)) continue;
          const state = await this.store.loadState(code);
          const grace = state?.session.options.maxLatencyCompensationMs ?? 0;
          if (now >= gate.deadline + grace) await this.command(code, { type: 'deadline', step: gate.step });
          else if (state) this.scheduleDeadline(state);
        }
      } catch (err) {
        this.opts.logger.warn({ err }, 'deadline sweep failed');
      }
    };
    this.sweeper = setInterval(() => void sweep(), intervalMs);
    this.sweeper.unref();
    void sweep();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  // ------------------------------------------------------------ students

  /** `slice`: the session with only the new player (for their first view, without another load). */
  async join(code: string, nickname: string, offered: string[] = []): Promise<Result<{ playerId: string; token: string; nickname: string; slice: GameState }>> {
    const playerId = newPlayerId();
    const now = this.clock();
    const cmd = { type: 'join' as const, playerId, nickname, offered };
    const basis = this.joinBasis.get(code);
    let slice: GameState | null = basis && now - basis.at < JOIN_BASIS_MS ? { session: basis.session, questions: basis.questions, players: {}, answers: {} } : null;
    let result = slice ? reduce(slice, cmd, now) : null;
    if (!result?.ok) {
      // No recent basis, or it refuses (it may be older than an unlock): the store's current state decides.
      slice = await this.store.loadSlice(code, playerId, null);
      if (!slice) return fail('NOT_FOUND', 'no session with that code');
      this.joinBasis.set(code, { session: slice.session, questions: slice.questions, at: now });
      result = reduce(slice, cmd, now);
    }
    if (!result.ok) return result;
    const player = result.state.players[playerId]!;
    // The token is stored with the player (one atomic write): the ack's token always works.
    const token = newToken();
    const stored = await this.store.addPlayer(code, player, nicknameKey(player.nickname), sha256(token));
    switch (stored) {
      case 'ok':
        break;
      case 'nickname-taken':
        return fail('NICKNAME_TAKEN', `"${player.nickname}" is taken: choose another nickname`);
      case 'full':
        return fail('ROOM_FULL', 'the room is full');
      case 'locked':
        return fail('LOCKED', 'the room is locked');
      case 'started':
        return fail('BAD_PHASE', 'this session has already started');
      case 'finished':
        return fail('BAD_PHASE', 'the session has ended');
      case 'no-session':
        return fail('NOT_FOUND', 'no session with that code');
    }
    this.admitted.set(code, playerId);
    this.opts.onChange({ code, state: result.state, events: result.events, partial: true });
    return { ok: true, data: { playerId, token, nickname: player.nickname, slice: result.state } };
  }

  /** Answers and justifications: engine on the player's slice, then one atomic store write. Acked only after it. */
  async studentCommand(
    code: string,
    cmd: Extract<Command, { type: 'answer' } | { type: 'justify' } | { type: 'spotlight-consent' }>,
  ): Promise<Result<{ state: GameState; record: AnswerRecord | null }>> {
    const questionId = cmd.type === 'spotlight-consent' ? null : cmd.questionId;
    if (cmd.type === 'spotlight-consent') {
      // Rare and not on the hot path: goes through the lease like host commands.
      const r = await this.queue.run(code, () => this.underLease(code, cmd));
      return r.ok ? { ok: true, data: { state: r.data.state, record: null } } : r;
    }
    const slice = await this.store.loadSlice(code, cmd.playerId, questionId);
    if (!slice) return fail('NOT_FOUND', 'no such session');
    const now = this.clock();
    const result = reduce(slice, cmd, now);
    if (!result.ok) return result;
    const record = result.state.answers[cmd.questionId]![cmd.playerId]!;
    const existing = slice.answers[cmd.questionId]?.[cmd.playerId];
    const cur = slice.session.current!;
    const rtt = cmd.type === 'answer' ? cmd.timing.rttMs : (cmd.rttMs ?? 0);
    const stored = await this.store.recordAnswer(code, {
      record,
      step: slice.session.step,
      acceptUntil: cur.deadline + latencyGrace(rtt, slice.session.options.maxLatencyCompensationMs),
      now,
      mode: existing ? { kind: 'replace', expectedTextVersion: existing.textVersion } : { kind: 'new' },
    });
    const refused = answerRefusal(stored);
    if (refused) return { ok: false, error: refused };
    this.opts.onChange({ code, state: result.state, events: result.events, partial: true });
    return { ok: true, data: { state: result.state, record } };
  }

  // ------------------------------------------------------------ grading

  /** R1, R2: validated by the engine on the response's slice, stored by one atomic write (last write wins). */
  async grade(code: string, cmd: Extract<HostCommand, { type: 'grade' }>): Promise<Result<GradingItem>> {
    const slice = await this.store.loadSlice(code, cmd.playerId, cmd.questionId);
    if (!slice) return fail('NOT_FOUND', 'no such session');
    const now = this.clock();
    const result = reduce(slice, cmd, now);
    if (!result.ok) return result;
    const graded = result.state.answers[cmd.questionId]![cmd.playerId]!.grade!;
    const stored = await this.store.saveGrade(code, cmd.questionId, cmd.playerId, {
      marks: graded.marks,
      comment: graded.comment,
      points: graded.points,
      gradedAt: graded.gradedAt,
      grader: graded.grader,
    });
    if (!stored) return fail('NOT_GRADABLE', 'this student wrote nothing to grade');
    const state = await this.store.loadState(code);
    if (!state) return fail('NOT_FOUND', 'no such session');
    this.opts.onChange({ code, state, events: [{ type: 'graded', playerId: cmd.playerId, questionId: cmd.questionId, version: stored.version }], partial: false });
    const item = gradingItem(state, cmd.questionId, cmd.playerId);
    return item ? { ok: true, data: item } : fail('NOT_FOUND', 'response not found');
  }
}

function answerRefusal(result: RecordAnswerResult): AppError | null {
  switch (result) {
    case 'ok':
      return null;
    case 'duplicate':
      return { code: 'ALREADY_ANSWERED', message: 'you have already answered this question' };
    case 'closed':
    case 'too-late':
      return { code: 'TOO_LATE', message: 'time is up for this question' };
    case 'conflict':
      return { code: 'STALE', message: 'your answer was changed from another device: reload and try again' };
    case 'no-session':
      return { code: 'NOT_FOUND', message: 'no such session' };
  }
}

/** Every written response (open answers and justifications), for the grading queue. */
export function gradingItems(state: GameState, questionId?: string): GradingItem[] {
  const items: GradingItem[] = [];
  for (const q of state.questions) {
    if (questionId && q.id !== questionId) continue;
    for (const playerId of Object.keys(state.answers[q.id] ?? {})) {
      const item = gradingItemOf(state, q, playerId);
      if (item) items.push(item);
    }
  }
  return items;
}

/** One player's response to one question as the grading queue shows it (O(1): the per-answer path). */
export function gradingItem(state: GameState, questionId: string, playerId: string): GradingItem | null {
  const q = state.questions.find((x) => x.id === questionId);
  return q ? gradingItemOf(state, q, playerId) : null;
}

/** Null when the question is not graded by hand, the player gave no text or was kicked. */
function gradingItemOf(state: GameState, q: Question, playerId: string): GradingItem | null {
  if (q.type !== 'open' && q.justify === undefined) return null;
  const answers = state.answers[q.id];
  const record = answers && Object.hasOwn(answers, playerId) ? answers[playerId] : undefined;
  const player = Object.hasOwn(state.players, playerId) ? state.players[playerId] : undefined;
  const text = record ? responseText(record) : null;
  if (!record || text === null || !player || player.kicked) return null;
  return {
    questionId: q.id,
    playerId,
    nickname: player.nickname,
    kind: q.type === 'open' ? 'open' : 'justify',
    text,
    answerSummary: q.type === 'open' ? null : answerSummary(q, record),
    textVersion: record.textVersion,
    grade: record.grade,
  };
}
