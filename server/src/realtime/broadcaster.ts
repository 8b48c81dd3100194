/**
 * Turns engine events into emits. One room broadcast where everyone gets the same bytes
 * (a question opening), personal views only where each student's content differs (results
 * at close and reveal), and coalesced refreshes for the host and display while answers pour
 * in, so an answer costs O(1) and never O(room).
 *
 * What keeps a room of thousands cheap (docs/performance.md, "What was fixed"):
 * - the ranking is computed once per state version (`ranking()`), never once per view;
 * - a student's view is built from that player's own records (O(questions)), never by
 *   copying the room;
 * - personal views go straight to the sockets of this process (`local`), and host and display
 *   views to the host and display sockets of this process, not through the adapter (with
 *   Redis that would be one PUBLISH of the whole view per recipient, msgpack-encoded and then
 *   decoded by every process); other processes get one small message (`ANNOUNCE`) and send
 *   their own sockets' views from their own load of the state;
 * - a question is framed once and a personal view's shared parts encoded once, and both are
 *   written straight to each student's TCP socket where nothing is queued ahead
 *   (`direct-write.ts`, `student-packet.ts`);
 * - the host/display refresh runs at most every REFRESH_MS…MAX_REFRESH_MS (longer for larger
 *   rooms), and students hear the player count only when it changed, at most once a second.
 */
import { randomUUID } from 'node:crypto';
import type { HostView, ServerToClientEvents, StudentView } from '@quizroom/shared';
import type { Server } from 'socket.io';
import {
  computeRanking,
  displayView,
  hostView,
  publicQuestion,
  studentView,
  StudentViews,
  studentViewShared,
  type AnswerRecord,
  type GameState,
  type Ranking,
  type SessionCore,
} from '../engine/index.ts';
import { gradingItem, type Change } from '../game/service.ts';
import { SharedPacket, type Writable, type WriteCounts } from './direct-write.ts';
import { StudentPacketEncoder } from './student-packet.ts';
import type { Logger } from '../logger.ts';
import type { SessionStore } from '../store/types.ts';

export const rooms = {
  students: (code: string) => `s:${code}:students`,
  host: (code: string) => `s:${code}:host`,
  display: (code: string) => `s:${code}:display`,
  player: (code: string, playerId: string) => `p:${code}:${playerId}`,
};

type IO = Server<Record<string, never>, ServerToClientEvents>;

/** What the broadcaster needs of a student's socket: somewhere to send their view. */
export interface ViewSink {
  emit(event: 'student:view', view: StudentView): unknown;
  /** The Engine.IO connection under a Socket.IO socket (absent in tests). */
  conn?: Writable;
}

/**
 * A personal view, encoded once for the student's sockets as the Socket.IO packet that
 * `socket.emit('student:view', view)` would produce (`2["student:view",{…}]`: EVENT on "/",
 * no ack, no binary; the parts every student shares are encoded once per broadcast by
 * `encoder`) and written straight to each socket's TCP socket where nothing is queued ahead
 * (`direct-write.ts`), else to its Engine.IO connection. Sockets without one (tests) get a
 * plain emit.
 */
function sendView(sockets: Set<ViewSink>, view: StudentView, encoder: StudentPacketEncoder, counts: WriteCounts): void {
  let packet: SharedPacket | null = null;
  for (const socket of sockets) {
    if (!socket.conn) {
      socket.emit('student:view', view);
      continue;
    }
    packet ??= new SharedPacket(encoder.packet(view), counts);
    packet.send(socket.conn);
  }
}

/** Shortest and longest pause between two host/display refreshes of one session. */
const REFRESH_MS = 150;
const MAX_REFRESH_MS = 1000;
/**
 * The refresh pause grows by this many ms per student in the room (2,000 → 800 ms): each
 * refresh reloads the room and sends the host every student, O(N), so the rate falls as N
 * grows and their product (the CPU the refresh takes) stays bounded.
 */
const REFRESH_MS_PER_PLAYER = 0.4;
/** Students hear the player count at most once per COUNT_EVERY_MS, or once per COUNT_MS_PER_PLAYER × N in larger rooms (2,000 → 2 s). */
const COUNT_EVERY_MS = 1000;
const MAX_COUNT_EVERY_MS = 5000;
const COUNT_MS_PER_PLAYER = 1;
/**
 * Students a count is written to per turn of the event loop. A count to 2,000 students is
 * ~25 ms of writes; in slices, a host command that arrives meanwhile (Start, right after the
 * last joins) waits for one slice (~3 ms), not the whole room (docs/performance.md, round 7).
 */
const COUNT_SLICE = 250;
/**
 * A host command that changes the phase (Start, Next, Close…) is on its way through the store
 * (a few Redis round trips): counts and refreshes wait this long for it, so the question or
 * the results it broadcasts next do not queue behind them.
 */
const PHASE_COMMAND_MS = 100;
/** After a broadcast to the students, host and display views wait this long per student here (at most MAX_HOST_DELAY_MS). */
const HOST_DELAY_MS_PER_PLAYER = 0.05;
const MAX_HOST_DELAY_MS = 200;
const STATE_CACHE_MS = 250;
/** A session nobody on this process follows is forgotten after this long without a change. */
const FORGET_AFTER_MS = 60_000;
/** How often a process counts the others on the adapter. */
const PEER_POLL_MS = 5000;
/**
 * Server-to-server message (Redis adapter) `{ code, step, kind }`:
 * - 'sync': a phase changed: send your students their own views, and your host and display theirs;
 * - 'views': the question or the room changed: send your host and display their views;
 * - 'refresh': students joined, answered or (dis)connected: refresh your host and display soon.
 */
const ANNOUNCE = 'quizroom:announce';
type AnnounceKind = 'sync' | 'views' | 'refresh';

interface CacheEntry {
  state: GameState | null;
  /** The state reflects every change made before this time (a load's start, a commit's end). */
  at: number;
  loading: Promise<GameState | null> | null;
  loadStartedAt: number;
}

export class Broadcaster {
  /** Personal views and question broadcasts sent by this process, by path (see `direct-write.ts`). */
  readonly writes: WriteCounts = { direct: 0, viaEngine: 0 };
  /** A room every student socket of this process is in: what this process sends itself, the adapter must not send again. */
  readonly here = `here:${randomUUID()}`;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly cache = new Map<string, CacheEntry>();
  /** Rankings per state version: computed at most once per state object and mode. */
  private readonly rankings = new WeakMap<GameState, { live?: Ranking; final?: Ranking }>();
  /** When this process broadcast the open question: the start of each student's response time. */
  readonly questionSentAt = new Map<string, { questionId: string; at: number }>();
  /** Players with a socket on this process: code → playerId → their sockets (host's "connected" dots, personal views). */
  private readonly local = new Map<string, Map<string, Set<ViewSink>>>();
  /** Per session: the player count students were last told, and when. */
  private readonly counts = new Map<string, { count: number; at: number; timer: NodeJS.Timeout | null }>();
  /**
   * Per session: until when its students are being served a broadcast or their personal
   * views. Host and display views, refreshes and counts wait until then (students first).
   */
  private readonly busyUntil = new Map<string, number>();
  /** Per session: students in the room at the last refresh (sets the refresh pause). */
  private readonly roomSize = new Map<string, number>();
  /** The adapter spans processes (Redis): changes are announced to the others. */
  private crossProcess = false;
  /** Other processes on the adapter, as last counted (or seen: an announcement of theirs). */
  private peers = 0;
  private lastAnnouncementAt = 0;
  private peerPoll: NodeJS.Timeout | null = null;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly io: IO,
    private readonly store: SessionStore,
    private readonly clock: () => number,
    private readonly logger: Logger,
    /** Server-side additions to the host view (join activity). */
    private readonly hostExtras: (code: string) => Pick<HostView, 'joinActivity'> = () => ({}),
  ) {
    // Another process changed something: send the sockets of this process their views.
    (io as unknown as { on(ev: string, fn: (msg: unknown) => void): void }).on(ANNOUNCE, (msg) => this.onAnnounce(msg));
    this.sweeper = setInterval(() => this.forgetIdle(), FORGET_AFTER_MS);
    this.sweeper.unref();
  }

  /** Drops what is kept per session once nobody on this process follows it and it has been quiet for a while. */
  private forgetIdle(): void {
    const before = this.clock() - FORGET_AFTER_MS;
    for (const [code, entry] of this.cache) {
      if (entry.loading || entry.at > before || this.pending.has(code) || this.local.has(code) || this.hasHostOrDisplay(code)) continue;
      this.cache.delete(code);
      const count = this.counts.get(code);
      if (count?.timer) clearTimeout(count.timer);
      this.counts.delete(code);
      this.busyUntil.delete(code);
      this.roomSize.delete(code);
      this.questionSentAt.delete(code);
    }
  }

  /**
   * Called once the Socket.IO adapter spans processes (the Redis adapter). Changes are then
   * announced to the other processes; how many there are is counted every PEER_POLL_MS (a
   * cached state is trusted beyond STATE_CACHE_MS only while this process is alone).
   */
  enableCrossProcess(): void {
    this.crossProcess = true;
    this.peers = 1; // until counted
    const count = () => {
      const startedAt = this.clock();
      this.io
        .of('/')
        .adapter.serverCount()
        .then((n) => {
          // An announcement that arrived meanwhile proves a peer the count may have missed.
          this.peers = Math.max(0, n - 1, this.lastAnnouncementAt >= startedAt ? 1 : 0);
        })
        .catch(() => (this.peers = Math.max(this.peers, 1)));
    };
    count();
    this.peerPoll = setInterval(count, PEER_POLL_MS);
    this.peerPoll.unref();
  }

  /** The ranking of this state (computed once per state object). */
  ranking(state: GameState, mode: 'live' | 'final' = 'live'): Ranking {
    let r = this.rankings.get(state);
    if (!r) this.rankings.set(state, (r = {}));
    return (r[mode] ??= computeRanking(state, mode));
  }

  hostViewOf(state: GameState, ranking = this.ranking(state)): HostView {
    const code = state.session.code;
    return { ...hostView(state, this.clock(), (id) => this.isConnected(code, id), ranking), ...this.hostExtras(code) };
  }

  displayViewOf(state: GameState, now = this.clock()) {
    return displayView(state, now, this.ranking(state));
  }

  /**
   * A student's view from the shared (cached) state, with `fresh` — a slice of the store
   * holding this player's current record — taking precedence for this player. O(questions):
   * no copy of the room, no ranking of its own. Null if the player is unknown.
   */
  studentViewOf(state: GameState, playerId: string, now: number, fresh: GameState | null = null): StudentView | null {
    const player = (fresh && Object.hasOwn(fresh.players, playerId) ? fresh.players[playerId] : undefined) ?? (Object.hasOwn(state.players, playerId) ? state.players[playerId] : undefined);
    if (!player) return null;
    const answers: Record<string, Record<string, AnswerRecord>> = {};
    for (const q of state.questions) {
      const record = fresh?.answers[q.id]?.[playerId] ?? state.answers[q.id]?.[playerId];
      if (record) answers[q.id] = { [playerId]: record };
    }
    const own: GameState = { session: state.session, questions: state.questions, players: { [playerId]: player }, answers };
    const finished = state.session.phase === 'finished';
    return studentView(own, playerId, now, this.ranking(state), finished ? this.ranking(state, 'final') : undefined);
  }

  /**
   * A (re)connecting student's whole view: the shared state (cached for STATE_CACHE_MS: it
   * adds the ranking and the player count) with this player's fresh records from the store.
   * The cache is used only while it is at the store's step; a phase change it missed (made
   * on another process) reloads it.
   */
  async studentResync(code: string, playerId: string, known?: GameState): Promise<{ state: GameState; view: StudentView | null } | null> {
    // Just joined (`known`): the player has no records in the shared state, which adds only the
    // player count here; any cached state at the same step serves (no reload per join in a storm).
    const cached = known ? this.cache.get(code)?.state : undefined;
    let state = cached && cached.session.step === known!.session.step ? cached : await this.state(code);
    for (let attempt = 0; state; attempt++) {
      // `known` (the slice a join just loaded) serves if it is at the cached state's step.
      const fresh = attempt === 0 && known ? known : await this.store.loadSlice(code, playerId, state.session.current?.questionId ?? null);
      if (!fresh) return null;
      if (fresh.session.step === state.session.step || attempt === 1) return { state, view: this.studentViewOf(state, playerId, this.clock(), fresh) };
      state = await this.state(code, this.clock());
    }
    return null;
  }

  /**
   * The latest full state, shared by concurrent readers for a few hundred ms (resync storms).
   * `since`: the state must reflect every change made before that time (default: 250 ms ago).
   */
  async state(code: string, since = this.clock() - STATE_CACHE_MS): Promise<GameState | null> {
    const hit = this.cache.get(code);
    if (hit?.state && hit.at >= since) return hit.state;
    if (hit?.loading && hit.loadStartedAt >= since) return hit.loading;
    const startedAt = this.clock();
    const loading = this.store.loadState(code).then((s) => {
      const entry = this.cache.get(code);
      // A newer state (a commit of this process) may have arrived meanwhile: keep it.
      if (s && (!entry?.state || entry.at <= startedAt)) this.cache.set(code, { state: s, at: startedAt, loading: entry?.loading ?? null, loadStartedAt: entry?.loadStartedAt ?? 0 });
      else if (!s) this.cache.delete(code);
      return s;
    });
    this.cache.set(code, { state: hit?.state ?? null, at: hit?.at ?? 0, loading, loadStartedAt: startedAt });
    try {
      return await loading;
    } finally {
      const entry = this.cache.get(code);
      if (entry?.loading === loading) entry.loading = null;
    }
  }

  private remember(code: string, state: GameState, at = this.clock()): void {
    const entry = this.cache.get(code);
    this.cache.set(code, { state, at, loading: entry?.loading ?? null, loadStartedAt: entry?.loadStartedAt ?? 0 });
  }

  /**
   * A command changed only the core: the cached players and answers with the new core (no
   * reload of the room), or a fresh load when nothing usable is cached.
   *
   * A cached state older than STATE_CACHE_MS still serves when it is this process's state of
   * the phase the command just left and that phase took no answers (closed, reveal,
   * leaderboard): then scores and answers cannot have changed since, and grades, kicks and
   * consents made on this process update the cache as they commit. Students who joined
   * meanwhile are missing from it, and `syncLocalStudents` loads them. While other processes
   * are around (they may have graded or kicked) only a fresh state serves.
   */
  private async withCore(code: string, core: SessionCore, before: GameState | null): Promise<GameState | null> {
    const hit = this.cache.get(code);
    if (hit?.state && hit.state.session.step >= core.step) {
      if (this.clock() - hit.at < STATE_CACHE_MS) return hit.state;
      const trusted = this.peers === 0 && before !== null && before.session.step === core.step - 1 && before.session.phase !== 'open' && before.session.phase !== 'lobby';
      if (trusted && hit.state.session === core) return hit.state;
    }
    const base = await this.state(code, this.clock());
    if (!base) return null;
    return base.session.step < core.step ? this.mergeCore(code, core, base) : base;
  }

  /**
   * A command changed only the core: the cached state gets it at once (a sync right after
   * the command sees it), keeping its players, answers, age and rankings. Returns the merged
   * state (or `base` merged, when given), null when nothing is cached.
   */
  private mergeCore(code: string, core: SessionCore, base?: GameState): GameState | null {
    const entry = this.cache.get(code);
    const from = base ?? entry?.state;
    if (!from) return null;
    if (from.session.step > core.step) return from;
    const merged: GameState = { ...from, session: core };
    // Same players and options: same rankings.
    const rankings = this.rankings.get(from);
    if (rankings) this.rankings.set(merged, rankings);
    if (entry?.state === from) this.remember(code, merged, entry.at);
    return merged;
  }

  onChange(change: Change): void {
    const { code, state, events, partial, coreOnly } = change;
    // Core-only commands: the cached state as it was (what `withCore` may build on), then with the new core.
    const before = coreOnly ? (this.cache.get(code)?.state ?? null) : null;
    if (!partial) this.remember(code, state);
    else if (coreOnly) this.mergeCore(code, state.session);
    let refresh = false;
    let fullSync = false;
    let hostAndDisplay = false;
    for (const e of events) {
      switch (e.type) {
        case 'question-opened':
        case 'question-paused':
        case 'question-resumed':
          this.broadcastQuestion(state);
          hostAndDisplay = true;
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
          const item = gradingItem(state, e.questionId, e.playerId);
          if (item) this.io.to(rooms.host(code)).emit('grade:updated', item);
          break;
        }
        case 'graded': {
          const item = gradingItem(state, e.questionId, e.playerId);
          if (item) this.io.to(rooms.host(code)).emit('grade:updated', item);
          this.emitStudent(state, e.playerId);
          refresh = true;
          break;
        }
        case 'spotlight-changed':
        case 'room-locked':
          hostAndDisplay = true;
          break;
        default:
          refresh = true;
      }
    }
    if (fullSync || hostAndDisplay) this.announce(code, state.session.step, fullSync ? 'sync' : 'views');
    if (coreOnly) {
      // Students already have the question (above); the rest needs the players and answers.
      const rest = () =>
        this.withCore(code, state.session, before)
          .then((full) => {
            if (!full) return;
            if (fullSync) this.syncEveryone(full);
            else this.emitHostAndDisplay(full);
          })
          .catch((err) => this.logger.warn({ err, code }, 'broadcast after a command failed'));
      if (fullSync) void rest();
      else if (hostAndDisplay && this.hasHostOrDisplay(code)) this.afterStudents(code, () => void rest());
      else if (refresh) this.scheduleRefresh(code);
      return;
    }
    if (fullSync) this.syncEveryone(state);
    else if (hostAndDisplay) this.afterStudents(code, () => this.emitHostAndDisplay(state));
    else if (refresh) this.scheduleRefresh(code);
  }

  /**
   * Students first: after a broadcast to the room or its personal views, the work that
   * can wait (host and display views — they list every student, as much CPU as the
   * broadcast —, refreshes, counts) waits a moment per student, so the sockets take in
   * what was just written before the process (on a shared machine, the receivers) is busy
   * with anything else.
   */
  private servedStudents(code: string): void {
    const ms = Math.min(MAX_HOST_DELAY_MS, (this.local.get(code)?.size ?? 0) * HOST_DELAY_MS_PER_PLAYER);
    if (ms > 0) this.busyUntil.set(code, this.clock() + ms);
  }

  /** The host sent a command that changes the phase: what can wait, waits for its broadcast (PHASE_COMMAND_MS). */
  phaseCommandArrived(code: string): void {
    this.busyUntil.set(code, Math.max(this.busyUntil.get(code) ?? 0, this.clock() + PHASE_COMMAND_MS));
  }

  /** Milliseconds until the session's students have been served (0: now). */
  private busyFor(code: string): number {
    const until = this.busyUntil.get(code);
    if (until === undefined) return 0;
    const wait = until - this.clock();
    if (wait <= 0) this.busyUntil.delete(code);
    return Math.max(0, wait);
  }

  private afterStudents(code: string, fn: () => void): void {
    const wait = this.busyFor(code);
    if (wait === 0) return fn();
    setTimeout(fn, wait).unref();
  }

  /** Tells the other processes (if any) what changed; each sends its own sockets their views. */
  private announce(code: string, step: number, kind: AnnounceKind): void {
    if (!this.crossProcess) return;
    try {
      (this.io as unknown as { serverSideEmit(ev: string, msg: unknown): void }).serverSideEmit(ANNOUNCE, { code, step, kind });
    } catch (err) {
      this.logger.warn({ err, code }, 'could not tell the other processes about a change');
    }
  }

  private onAnnounce(msg: unknown): void {
    this.lastAnnouncementAt = this.clock();
    this.peers = Math.max(this.peers, 1);
    const { code, step, kind } = (msg ?? {}) as { code?: unknown; step?: unknown; kind?: unknown };
    if (typeof code !== 'string' || typeof step !== 'number') return;
    if (kind === 'refresh') return this.scheduleRefresh(code, false);
    const students = kind === 'sync' && (this.local.get(code)?.size ?? 0) > 0;
    if (!students && !this.hasHostOrDisplay(code)) return;
    this.state(code, this.clock())
      .then((state) => {
        if (!state || state.session.step < step) return;
        if (students) this.syncLocalStudents(state);
        this.afterStudents(code, () => this.emitHostAndDisplay(state));
      })
      .catch((err) => this.logger.warn({ err, code }, 'update after another process\'s change failed'));
  }

  /** Sockets of this process in that room (the adapter's rooms are this process's). */
  private hasLocal(room: string): boolean {
    return (this.io.of('/').adapter.rooms.get(room)?.size ?? 0) > 0;
  }

  private hasHostOrDisplay(code: string): boolean {
    return this.hasLocal(rooms.host(code)) || this.hasLocal(rooms.display(code));
  }

  /**
   * Same bytes for every student: encoded and framed once, written straight to this process's
   * student sockets (`direct-write.ts`); other processes get it through the adapter, which
   * skips this process's sockets (they are all in its `here` room).
   */
  private broadcastQuestion(state: GameState): void {
    const question = publicQuestion(state);
    const cur = state.session.current;
    if (!question || !cur) return;
    const code = state.session.code;
    const now = this.clock();
    // The first delivery starts the response time; a pause/resume re-send does not restart it.
    if (this.questionSentAt.get(code)?.questionId !== question.id) this.questionSentAt.set(code, { questionId: question.id, at: now });
    const opened = {
      step: state.session.step,
      question,
      deadline: cur.pausedRemainingMs === null ? cur.deadline : null,
      pausedRemainingMs: cur.pausedRemainingMs,
      serverNow: now,
    };
    const nsp = this.io.of('/');
    const ids = nsp.adapter.rooms.get(rooms.students(code));
    if (ids?.size) {
      const packet = new SharedPacket(`2${JSON.stringify(['question:opened', opened])}`, this.writes);
      for (const id of ids) {
        const socket = nsp.sockets.get(id);
        if (socket) packet.send(socket.conn);
      }
    }
    if (this.crossProcess) this.io.to(rooms.students(code)).except(this.here).emit('question:opened', opened);
    this.servedStudents(code);
  }

  /** Close, reveal, leaderboard, end: each student's own result, with one shared ranking; then host and display. */
  private syncEveryone(state: GameState): void {
    this.syncLocalStudents(state);
    this.afterStudents(state.session.code, () => this.emitHostAndDisplay(state));
  }

  /** Each student connected to this process gets their own view, straight to their sockets. */
  private syncLocalStudents(state: GameState, only?: string[]): void {
    const code = state.session.code;
    const players = this.local.get(code);
    if (!players || players.size === 0) return;
    const now = this.clock();
    const live = this.ranking(state);
    const final = state.session.phase === 'finished' ? this.ranking(state, 'final') : undefined;
    // Question, solution and top 10: built and encoded once for everyone.
    const shared = studentViewShared(state, live, final);
    const encoder = new StudentPacketEncoder(shared);
    // The per-state half of every view, worked out once (StudentViews says why it is a class).
    const views = new StudentViews(state, now, live, final, shared);
    const statePlayers = state.players;
    let missing: string[] | null = null;
    for (const playerId of only ?? players.keys()) {
      const sockets = players.get(playerId);
      if (!sockets) continue;
      const player = Object.hasOwn(statePlayers, playerId) ? statePlayers[playerId] : undefined;
      if (!player) {
        (missing ??= []).push(playerId);
        continue;
      }
      if (player.kicked) continue;
      // The view reads only this player's records (O(questions)).
      const view = views.viewOf(playerId);
      if (view) sendView(sockets, view, encoder, this.writes);
    }
    if (!only) this.servedStudents(code);
    // Joined after this state was loaded: from a fresh load (once).
    if (missing && !only) {
      const step = state.session.step;
      this.state(code, this.clock())
        .then((fresh) => {
          if (fresh && fresh.session.step === step) this.syncLocalStudents(fresh, missing);
        })
        .catch((err) => this.logger.warn({ err, code }, 'sync of new students failed'));
    }
  }

  /** One student's view (after grading): through their room, so it reaches them on any process. */
  emitStudent(state: GameState, playerId: string): void {
    const view = studentView(state, playerId, this.clock(), this.ranking(state), state.session.phase === 'finished' ? this.ranking(state, 'final') : undefined);
    if (view) this.io.to(rooms.player(state.session.code, playerId)).emit('student:view', view);
  }

  /** To the host and display sockets of this process (the others are told by `announce`). */
  private emitHostAndDisplay(state: GameState, ranking = this.ranking(state)): void {
    const code = state.session.code;
    const now = this.clock();
    if (this.hasLocal(rooms.host(code))) this.io.local.to(rooms.host(code)).emit('host:view', this.hostViewOf(state, ranking));
    if (this.hasLocal(rooms.display(code))) this.io.local.to(rooms.display(code)).emit('display:view', displayView(state, now, ranking));
  }

  /**
   * Coalesces host/display updates to one per pause (REFRESH_MS, longer in large rooms: the
   * host view lists every student) and sends students the player count when it changed.
   */
  scheduleRefresh(code: string, announce = true): void {
    if (this.pending.has(code)) return;
    // The other processes refresh their own host, display and students at about the same time.
    if (announce) this.announce(code, -1, 'refresh');
    const delay = Math.min(MAX_REFRESH_MS, Math.max(REFRESH_MS, (this.roomSize.get(code) ?? 0) * REFRESH_MS_PER_PLAYER));
    const run = () => {
      // Students are being served a broadcast: after them.
      const busy = this.busyFor(code);
      if (busy > 0) {
        const again = setTimeout(run, busy);
        again.unref();
        this.pending.set(code, again);
        return;
      }
      this.pending.delete(code);
      // Nobody here to tell: no load.
      if (!this.hasHostOrDisplay(code) && !this.hasLocal(rooms.students(code))) return;
      // Everything that happened until now, also on other processes: a fresh load (shared with concurrent readers).
      this.state(code, this.clock())
        .then((state) => {
          if (!state) return;
          const ranking = this.ranking(state);
          this.roomSize.set(code, ranking.entries.length);
          this.emitHostAndDisplay(state, ranking);
          this.sendCount(code);
        })
        .catch((err) => this.logger.warn({ err, code }, 'refresh failed'));
    };
    const timer = setTimeout(run, delay);
    timer.unref();
    this.pending.set(code, timer);
  }

  /**
   * Tells students in the lobby the player count of the latest state if it changed, at most
   * once per COUNT_EVERY_MS (longer in large rooms). Only in the lobby: from the first question
   * on, every view a student gets carries the count, and a count written to the whole room
   * would only delay the next question or result.
   */
  private sendCount(code: string): void {
    const state = this.cache.get(code)?.state;
    if (state?.session.phase !== 'lobby') return;
    const count = this.ranking(state).entries.length;
    const last = this.counts.get(code);
    if (last?.count === count || last?.timer) return;
    const every = Math.min(MAX_COUNT_EVERY_MS, Math.max(COUNT_EVERY_MS, count * COUNT_MS_PER_PLAYER));
    const wait = Math.max(last ? last.at + every - this.clock() : 0, this.busyFor(code));
    if (wait > 0) {
      const timer = setTimeout(() => {
        const entry = this.counts.get(code);
        if (entry) entry.timer = null;
        this.sendCount(code);
      }, wait);
      timer.unref();
      this.counts.set(code, { count: last?.count ?? -1, at: last?.at ?? 0, timer });
      return;
    }
    this.counts.set(code, { count, at: this.clock(), timer: null });
    // Each process tells its own students (the others count on their own refresh).
    this.writeCount(code, count);
  }

  /**
   * The count to this process's students in the room: framed once, written straight to each
   * socket (`direct-write.ts`), COUNT_SLICE students per turn of the event loop, paused while a
   * host command is on its way and dropped as soon as the session leaves the lobby (then the
   * question goes out instead).
   */
  private writeCount(code: string, count: number): void {
    const nsp = this.io.of('/');
    const ids = nsp.adapter.rooms.get(rooms.students(code));
    if (!ids?.size) return;
    const queue = [...ids];
    const packet = new SharedPacket(`2${JSON.stringify(['room:count', { playerCount: count }])}`, this.writes);
    let next = 0;
    const slice = () => {
      if (this.cache.get(code)?.state?.session.phase !== 'lobby') return;
      // A host command is on its way (Start): the rest of the count after it, if still in the lobby.
      const busy = this.busyFor(code);
      if (busy > 0) return void setTimeout(slice, busy).unref();
      for (const end = Math.min(queue.length, next + COUNT_SLICE); next < end; next++) {
        const socket = nsp.sockets.get(queue[next]!);
        if (socket) packet.send(socket.conn);
      }
      if (next < queue.length) setImmediate(slice);
    };
    slice();
  }

  isConnected(code: string, playerId: string): boolean {
    return (this.local.get(code)?.get(playerId)?.size ?? 0) > 0;
  }

  /** A socket of this process now speaks for the player. */
  addPlayerSocket(code: string, playerId: string, socket: ViewSink): void {
    let players = this.local.get(code);
    if (!players) this.local.set(code, (players = new Map()));
    let sockets = players.get(playerId);
    if (!sockets) players.set(playerId, (sockets = new Set()));
    sockets.add(socket);
    this.scheduleRefresh(code);
  }

  removePlayerSocket(code: string, playerId: string, socket: ViewSink): void {
    const players = this.local.get(code);
    const sockets = players?.get(playerId);
    if (!players || !sockets?.delete(socket)) return;
    if (sockets.size === 0) players.delete(playerId);
    if (players.size === 0) this.local.delete(code);
    this.scheduleRefresh(code);
  }

  stop(): void {
    clearInterval(this.sweeper);
    if (this.peerPoll) clearInterval(this.peerPoll);
    this.peerPoll = null;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    for (const c of this.counts.values()) if (c.timer) clearTimeout(c.timer);
    this.counts.clear();
  }
}
