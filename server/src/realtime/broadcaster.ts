/**
 * Turns engine events into emits. One room broadcast where everyone gets the same bytes
 * (a question opening), per-student emits only where each student's content differs
 * (results at close and reveal), and coalesced refreshes for the host and display while
 * answers pour in, so an answer costs O(1) and never O(room).
 */
import type { HostView, ServerToClientEvents } from '@quizroom/shared';
import type { Server } from 'socket.io';
import { computeRanking, displayView, hostView, publicQuestion, studentView, type GameState } from '../engine/index.ts';
import { gradingItems, type Change } from '../game/service.ts';
import type { Logger } from '../logger.ts';
import type { SessionStore } from '../store/types.ts';

export const rooms = {
  students: (code: string) => `s:${code}:students`,
  host: (code: string) => `s:${code}:host`,
  display: (code: string) => `s:${code}:display`,
  player: (code: string, playerId: string) => `p:${code}:${playerId}`,
};

type IO = Server<Record<string, never>, ServerToClientEvents>;

const REFRESH_MS = 150;
const STATE_CACHE_MS = 250;

export class Broadcaster {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly cache = new Map<string, { state: GameState; at: number; loading?: Promise<GameState | null> }>();
  /** When this process broadcast the open question: the start of each student's response time. */
  readonly questionSentAt = new Map<string, { questionId: string; at: number }>();
  /** Players with a socket on this process (for the host's "connected" dots). */
  readonly connected = new Map<string, Map<string, number>>();

  constructor(
    private readonly io: IO,
    private readonly store: SessionStore,
    private readonly clock: () => number,
    private readonly logger: Logger,
    /** Server-side additions to the host view (join activity). */
    private readonly hostExtras: (code: string) => Pick<HostView, 'joinActivity'> = () => ({}),
  ) {}

  hostViewOf(state: GameState, ranking = computeRanking(state, 'live')): HostView {
    const code = state.session.code;
    return { ...hostView(state, this.clock(), (id) => this.isConnected(code, id), ranking), ...this.hostExtras(code) };
  }

  /** The latest full state, shared by concurrent readers for a few hundred ms (resync storms). */
  async state(code: string): Promise<GameState | null> {
    const hit = this.cache.get(code);
    if (hit && this.clock() - hit.at < STATE_CACHE_MS) return hit.state;
    if (hit?.loading) return hit.loading;
    const loading = this.store.loadState(code).then((s) => {
      if (s) this.cache.set(code, { state: s, at: this.clock() });
      else this.cache.delete(code);
      return s;
    });
    this.cache.set(code, { ...(hit ?? { state: null as unknown as GameState, at: 0 }), loading });
    try {
      return await loading;
    } finally {
      const entry = this.cache.get(code);
      if (entry?.loading === loading) delete entry.loading;
    }
  }

  onChange(change: Change): void {
    const { code, state, events, partial } = change;
    if (!partial) this.cache.set(code, { state, at: this.clock() });
    let refresh = false;
    let fullSync = false;
    for (const e of events) {
      switch (e.type) {
        case 'question-opened':
        case 'question-paused':
        case 'question-resumed':
          this.broadcastQuestion(state);
          this.emitHostAndDisplay(state);
          break;
        case 'question-closed':
        case 'question-revealed':
        case 'leaderboard-shown':
        case 'session-finished':
          fullSync = true;
          break;
        case 'player-kicked':
          this.io.to(rooms.player(code, e.playerId)).emit('session:kicked', { message: 'The instructor removed you from this session.' });
          this.io.in(rooms.player(code, e.playerId)).disconnectSockets(true);
          refresh = true;
          break;
        case 'answer-recorded':
        case 'justification-recorded': {
          refresh = true;
          const q = state.questions.find((x) => x.id === e.questionId);
          if (q && (q.type === 'open' || q.justify)) {
            const item = gradingItems(state, e.questionId).find((i) => i.playerId === e.playerId);
            if (item) this.io.to(rooms.host(code)).emit('grade:updated', item);
          }
          break;
        }
        case 'graded': {
          const item = gradingItems(state, e.questionId).find((i) => i.playerId === e.playerId);
          if (item) this.io.to(rooms.host(code)).emit('grade:updated', item);
          this.emitStudent(state, e.playerId);
          refresh = true;
          break;
        }
        case 'spotlight-changed':
        case 'room-locked':
          this.emitHostAndDisplay(state);
          break;
        default:
          refresh = true;
      }
    }
    if (fullSync) this.syncEveryone(state);
    else if (refresh) this.scheduleRefresh(code);
  }

  /** Same bytes for every student: one room broadcast (encoded once per process). */
  private broadcastQuestion(state: GameState): void {
    const question = publicQuestion(state);
    const cur = state.session.current;
    if (!question || !cur) return;
    const now = this.clock();
    // The first delivery starts the response time; a pause/resume re-send does not restart it.
    if (this.questionSentAt.get(state.session.code)?.questionId !== question.id) this.questionSentAt.set(state.session.code, { questionId: question.id, at: now });
    this.io.to(rooms.students(state.session.code)).emit('question:opened', {
      step: state.session.step,
      question,
      deadline: cur.pausedRemainingMs === null ? cur.deadline : null,
      pausedRemainingMs: cur.pausedRemainingMs,
      serverNow: now,
    });
  }

  /** Close, reveal, leaderboard, end: each student's own result, with one shared ranking. */
  private syncEveryone(state: GameState): void {
    const now = this.clock();
    const ranking = computeRanking(state, 'live');
    for (const playerId of Object.keys(state.players)) {
      if (state.players[playerId]!.kicked) continue;
      const view = studentView(state, playerId, now, ranking);
      if (view) this.io.to(rooms.player(state.session.code, playerId)).emit('student:view', view);
    }
    this.emitHostAndDisplay(state, ranking);
  }

  emitStudent(state: GameState, playerId: string): void {
    const view = studentView(state, playerId, this.clock());
    if (view) this.io.to(rooms.player(state.session.code, playerId)).emit('student:view', view);
  }

  private emitHostAndDisplay(state: GameState, ranking = computeRanking(state, 'live')): void {
    const code = state.session.code;
    const now = this.clock();
    this.io.to(rooms.host(code)).emit('host:view', this.hostViewOf(state, ranking));
    this.io.to(rooms.display(code)).emit('display:view', displayView(state, now, ranking));
  }

  /** Coalesces host/display/player-count updates to one every REFRESH_MS per session. */
  scheduleRefresh(code: string): void {
    if (this.pending.has(code)) return;
    const timer = setTimeout(() => {
      this.pending.delete(code);
      this.cache.delete(code);
      this.state(code)
        .then((state) => {
          if (!state) return;
          const ranking = computeRanking(state, 'live');
          this.emitHostAndDisplay(state, ranking);
          this.io.to(rooms.students(code)).emit('room:count', { playerCount: ranking.entries.length });
        })
        .catch((err) => this.logger.warn({ err, code }, 'refresh failed'));
    }, REFRESH_MS);
    timer.unref();
    this.pending.set(code, timer);
  }

  isConnected(code: string, playerId: string): boolean {
    return (this.connected.get(code)?.get(playerId) ?? 0) > 0;
  }

  trackConnection(code: string, playerId: string, delta: 1 | -1): void {
    let players = this.connected.get(code);
    if (!players) this.connected.set(code, (players = new Map()));
    const n = (players.get(playerId) ?? 0) + delta;
    if (n > 0) players.set(playerId, n);
    else players.delete(playerId);
    this.scheduleRefresh(code);
  }

  stop(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
