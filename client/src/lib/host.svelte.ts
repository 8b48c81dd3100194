/**
 * The instructor's session console (`/host/:code`). Owns the host socket, authenticated with
 * the host token that creating the session stored under `quizroom:host:<code>`.
 *
 * Every run command carries the step of the view the button was shown for, so a double click
 * or a second tab cannot skip a question (the server answers STALE).
 */
import type { GradingItem, HostQuestionSummary, HostView, RubricCriterion } from '@quizroom/shared';
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { commonMarks, groupResponses, itemKey, matchesFilter, type GradingFilter, type GradingGroup } from './grading.ts';
import { LiveConnection, type LiveOptions } from './live.svelte.ts';
import { request, type QuizSocket } from './socket.ts';
import { browserStorage, keys, readJson, type KeyValueStore } from './storage.ts';

const rubricKey = (code: string) => `quizroom:rubrics:${code}`;

export type RunCommand =
  | 'game:start'
  | 'question:next'
  | 'question:close'
  | 'question:skip'
  | 'question:reveal'
  | 'game:leaderboard'
  | 'question:pause'
  | 'question:resume'
  | 'game:end';

export interface StoredHost {
  hostToken: string;
  joinUrl?: string;
  displayUrl?: string;
  createdAt?: number;
  bankTitle?: string;
}

export interface HostOptions extends LiveOptions {
  storage?: KeyValueStore;
  /** Also checked for the host token (a console may keep it per tab). */
  sessionStorage?: KeyValueStore;
  /** Public origin for join links when the session record has none. */
  origin?: string;
}

const COMMAND_TIMEOUT_MS = 10_000;

/** Read a stored host record; accepts a bare token string too. */
export function readHostRecord(store: KeyValueStore, code: string): StoredHost | null {
  const raw = store.getItem(keys.host(code));
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as StoredHost).hostToken === 'string') return parsed as StoredHost;
    if (typeof parsed === 'string') return { hostToken: parsed };
  } catch {
    /* a bare token */
  }
  return { hostToken: raw };
}

export class HostState extends LiveConnection {
  readonly code: string;
  view = $state.raw<HostView | null>(null);
  /** False when this browser has no host token for the session. */
  hasToken = $state(false);
  joinUrl = $state('');
  displayUrl = $state('');
  /** The run command waiting for its ack. */
  busy = $state<string | null>(null);
  error = $state<string | null>(null);

  // grading
  readonly gradingItems = new SvelteMap<string, GradingItem>();
  readonly flagged = new SvelteSet<string>();
  gradingQuestionId = $state<string | null>(null);
  gradingFilter = $state<GradingFilter>('ungraded');
  anonymised = $state(true);
  groupSimilar = $state(true);
  gradingLoading = $state(false);
  gradingError = $state<string | null>(null);
  savingGrade = $state(false);

  /**
   * Rubrics by question id, remembered (and kept in storage) from the question summaries and
   * the current question, so a console reconnecting to an older server can still grade.
   */
  readonly rubrics = new SvelteMap<string, RubricCriterion[]>();

  readonly #storage: KeyValueStore;
  readonly #session: KeyValueStore | null;
  #gradingLoadedOnce = false;

  constructor(code: string, opts: HostOptions = {}) {
    super(opts);
    this.code = code;
    this.#storage = opts.storage ?? browserStorage('local');
    this.#session = opts.sessionStorage ?? (opts.storage ? null : browserStorage('session'));
    const origin = opts.origin ?? (typeof location !== 'undefined' ? location.origin : '');
    this.joinUrl = `${origin}/join/${code}`;
    this.displayUrl = `${origin}/display/${code}`;
    const saved = readJson<Record<string, RubricCriterion[]>>(this.#storage, rubricKey(code));
    if (saved) for (const [id, r] of Object.entries(saved)) if (Array.isArray(r)) this.rubrics.set(id, r);
  }

  #applyView(v: HostView): void {
    this.syncClock(v.serverNow);
    this.view = v;
    const q = v.question;
    if (q?.rubric && JSON.stringify(this.rubrics.get(q.id)) !== JSON.stringify(q.rubric)) {
      this.rubrics.set(q.id, q.rubric);
      this.#storage.setItem(rubricKey(this.code), JSON.stringify(Object.fromEntries(this.rubrics)));
    }
  }

  /**
   * The rubric to grade `questionId` against: from the question summary (P3), else remembered
   * from when the question was current, else reconstructed from the criterion ids of an
   * existing grade (labels and maxima unknown: 9).
   */
  rubricFor(questionId: string): RubricCriterion[] | null {
    const summary = this.view?.questions.find((q) => q.id === questionId);
    if (summary?.rubric) return summary.rubric;
    const known = this.rubrics.get(questionId);
    if (known) return known;
    for (const item of this.gradingItems.values())
      if (item.questionId === questionId && item.grade)
        return Object.keys(item.grade.marks).map((id) => ({ id, label: id, points: 9, description: 'Criterion details are not available in this browser.' }));
    return null;
  }

  // ——— derived ———

  get phase() {
    return this.view?.phase ?? null;
  }
  get step(): number {
    return this.view?.step ?? 0;
  }
  get question() {
    return this.view?.question ?? null;
  }
  get paused(): boolean {
    return this.view?.phase === 'open' && this.view.pausedRemainingMs !== null;
  }
  get remainingMs(): number | null {
    return this.countdown(this.view);
  }
  get isLastQuestion(): boolean {
    const v = this.view;
    return !!v && v.questionIndex >= v.questions.length - 1;
  }
  get answeredCount(): number {
    return this.view?.distribution?.answered ?? this.view?.players.filter((p) => p.answeredCurrent).length ?? 0;
  }
  get connectedCount(): number {
    return this.view?.players.filter((p) => p.connected).length ?? 0;
  }

  /** Which run commands apply in the current phase (SPEC G1–G7). */
  get available(): Record<RunCommand, boolean> {
    const v = this.view;
    const phase = v?.phase;
    const live = !!v && this.connection === 'online' && this.busy === null;
    return {
      'game:start': live && phase === 'lobby' && v.players.length > 0,
      'question:next': live && (phase === 'closed' || phase === 'reveal' || phase === 'leaderboard'),
      'question:close': live && phase === 'open',
      'question:skip': live && phase === 'open',
      'question:pause': live && phase === 'open' && !this.paused,
      'question:resume': live && phase === 'open' && this.paused,
      'question:reveal': live && phase === 'closed',
      'game:leaderboard': live && (phase === 'closed' || phase === 'reveal'),
      'game:end': live && phase !== 'finished',
    };
  }

  // ——— lifecycle ———

  /** Connect with the stored host token. Returns false when this browser has none. */
  connect(): boolean {
    const record = readHostRecord(this.#storage, this.code) ?? (this.#session ? readHostRecord(this.#session, this.code) : null);
    this.hasToken = record !== null;
    if (!record) {
      this.refused = 'This browser does not hold the host key for this session. Open it from the browser that created it, or create a new session.';
      return false;
    }
    if (record.joinUrl) this.joinUrl = record.joinUrl;
    if (record.displayUrl) this.displayUrl = record.displayUrl;
    this.openSocket({ role: 'host', code: this.code, hostToken: record.hostToken });
    return true;
  }

  protected bind(socket: QuizSocket): void {
    socket.on('host:view', (v) => {
      if (this.socket === socket) this.#applyView(v);
    });
    socket.on('grade:updated', (item) => {
      if (this.socket === socket) this.gradingItems.set(itemKey(item), item);
    });
  }

  protected async heartbeat(socket: QuizSocket, timeoutMs: number): Promise<boolean> {
    const ack = await request(socket, 'host:sync', {}, timeoutMs);
    if (ack.ok && this.socket === socket) this.#applyView(ack.data);
    return ack.ok || ack.error.code !== 'UNAVAILABLE';
  }

  protected override onConnected(): void {
    this.error = null;
    void this.loadGrading();
  }

  protected override onRefused(_code: string | null, message: string): void {
    this.refused = message || 'The server refused the host connection.';
  }

  // ——— run commands ———

  /** Send a run command for the step currently shown. */
  async command(cmd: RunCommand): Promise<boolean> {
    const socket = this.socket;
    const v = this.view;
    if (!socket || !v) return false;
    if (!socket.connected) {
      this.error = 'Not connected to the server — wait for the connection to come back.';
      return false;
    }
    if (this.busy !== null) return false;
    this.busy = cmd;
    this.error = null;
    try {
      const ack = await request(socket, cmd, { step: v.step }, COMMAND_TIMEOUT_MS);
      if (this.socket !== socket) return false;
      if (!ack.ok) {
        this.error = ack.error.message;
        if (ack.error.code === 'STALE' || ack.error.code === 'BAD_PHASE') void this.sync();
        return false;
      }
      return true;
    } finally {
      this.busy = null;
    }
  }

  start() {
    return this.command('game:start');
  }
  next() {
    return this.command('question:next');
  }
  close() {
    return this.command('question:close');
  }
  skip() {
    return this.command('question:skip');
  }
  pause() {
    return this.command('question:pause');
  }
  resume() {
    return this.command('question:resume');
  }
  togglePause() {
    return this.paused ? this.resume() : this.pause();
  }
  reveal() {
    return this.command('question:reveal');
  }
  showLeaderboard() {
    return this.command('game:leaderboard');
  }
  end() {
    return this.command('game:end');
  }
  /** N: start in the lobby, next question afterwards. */
  advance() {
    return this.view?.phase === 'lobby' ? this.start() : this.next();
  }

  async #simple(run: (socket: QuizSocket) => Promise<{ ok: boolean; error?: { message: string } }>): Promise<boolean> {
    const socket = this.socket;
    if (!socket) return false;
    this.error = null;
    const ack = await run(socket);
    if (!ack.ok) this.error = ack.error?.message ?? 'The server refused that.';
    return ack.ok;
  }

  kick(playerId: string) {
    return this.#simple((s) => request(s, 'player:kick', { playerId }, COMMAND_TIMEOUT_MS));
  }
  lock() {
    return this.#simple((s) => request(s, 'room:lock', {}, COMMAND_TIMEOUT_MS));
  }
  unlock() {
    return this.#simple((s) => request(s, 'room:unlock', {}, COMMAND_TIMEOUT_MS));
  }
  toggleLock() {
    return this.view?.locked ? this.unlock() : this.lock();
  }
  spotlight(item: Pick<GradingItem, 'questionId' | 'playerId'>) {
    return this.#simple((s) => request(s, 'spotlight:set', { questionId: item.questionId, playerId: item.playerId }, COMMAND_TIMEOUT_MS));
  }
  clearSpotlight() {
    return this.#simple((s) => request(s, 'spotlight:clear', {}, COMMAND_TIMEOUT_MS));
  }

  async sync(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    const ack = await request(socket, 'host:sync', {}, COMMAND_TIMEOUT_MS);
    if (ack.ok && this.socket === socket) this.#applyView(ack.data);
  }

  // ——— grading ———

  /** Questions that have (or will have) rubric-graded responses. */
  get gradableQuestions(): HostQuestionSummary[] {
    return this.view?.questions.filter((q) => q.hasRubric) ?? [];
  }

  /** The question the grading panel shows: the chosen one, or the latest gradable one reached. */
  get gradingQuestion(): HostQuestionSummary | null {
    const qs = this.gradableQuestions;
    if (this.gradingQuestionId) return qs.find((q) => q.id === this.gradingQuestionId) ?? null;
    const reached = this.view ? qs.filter((q) => q.index <= this.view!.questionIndex) : [];
    return reached.at(-1) ?? qs[0] ?? null;
  }

  /** Is the grading question still open (responses arrive, grading waits for the close)? */
  get gradingQuestionOpen(): boolean {
    const q = this.gradingQuestion;
    return !!q && this.view?.phase === 'open' && this.view.question?.id === q.id;
  }

  get gradingQuestionItems(): GradingItem[] {
    const q = this.gradingQuestion;
    if (!q) return [];
    return [...this.gradingItems.values()].filter((i) => i.questionId === q.id);
  }

  /** Is this response the one on the classroom display? */
  isSpotlit(item: Pick<GradingItem, 'questionId' | 'playerId'>): boolean {
    const s = this.view?.spotlight;
    return !!s && s.questionId === item.questionId && s.playerId === item.playerId;
  }

  /** Items of the grading question that pass the filter. */
  get queue(): GradingItem[] {
    return this.gradingQuestionItems.filter((i) => matchesFilter(i, this.gradingFilter, this.flagged));
  }

  get groups(): GradingGroup[] {
    return groupResponses(this.queue, this.groupSimilar);
  }

  ungradedCount(questionId?: string): number {
    let n = 0;
    for (const i of this.gradingItems.values()) if (i.grade === null && (questionId === undefined || i.questionId === questionId)) n++;
    return n;
  }

  countByFilter(filter: GradingFilter): number {
    return this.gradingQuestionItems.filter((i) => matchesFilter(i, filter, this.flagged)).length;
  }

  /** "Student 7" (anonymised, stable within the session) or the nickname. */
  displayName(item: Pick<GradingItem, 'playerId' | 'nickname'>): string {
    if (!this.anonymised) return item.nickname;
    const idx = this.view?.players.findIndex((p) => p.playerId === item.playerId) ?? -1;
    return idx >= 0 ? `Student ${idx + 1}` : `Student ${shortHash(item.playerId)}`;
  }

  selectGradingQuestion(questionId: string): void {
    this.gradingQuestionId = questionId;
  }

  isFlagged(item: Pick<GradingItem, 'questionId' | 'playerId'>): boolean {
    return this.flagged.has(itemKey(item));
  }

  toggleFlag(item: Pick<GradingItem, 'questionId' | 'playerId'>): void {
    const k = itemKey(item);
    if (this.flagged.has(k)) this.flagged.delete(k);
    else this.flagged.add(k);
  }

  /** (Re)load the grading queue, for one question or all. */
  async loadGrading(questionId?: string): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.gradingLoading = true;
    this.gradingError = null;
    try {
      const ack = await request(socket, 'grade:list', questionId ? { questionId } : {}, COMMAND_TIMEOUT_MS);
      if (this.socket !== socket) return;
      if (!ack.ok) {
        this.gradingError = ack.error.message;
        return;
      }
      for (const item of ack.data) this.gradingItems.set(itemKey(item), item);
      this.#gradingLoadedOnce = true;
    } finally {
      this.gradingLoading = false;
    }
  }

  get gradingLoaded(): boolean {
    return this.#gradingLoadedOnce || this.gradingItems.size > 0;
  }

  /** Grade one response (or regrade it: last write wins). */
  async saveGrade(item: Pick<GradingItem, 'questionId' | 'playerId'>, marks: Record<string, number>, comment: string): Promise<boolean> {
    const socket = this.socket;
    if (!socket) return false;
    this.savingGrade = true;
    this.gradingError = null;
    try {
      const ack = await request(socket, 'grade:save', { questionId: item.questionId, playerId: item.playerId, marks, comment }, COMMAND_TIMEOUT_MS);
      if (!ack.ok) {
        this.gradingError = ack.error.message;
        return false;
      }
      this.gradingItems.set(itemKey(ack.data), ack.data);
      return true;
    } finally {
      this.savingGrade = false;
    }
  }

  /** Apply the same marks and comment to every response of a group. */
  async saveGroup(group: Pick<GradingGroup, 'items'>, marks: Record<string, number>, comment: string): Promise<{ saved: number; failed: number }> {
    const socket = this.socket;
    if (!socket) return { saved: 0, failed: group.items.length };
    this.savingGrade = true;
    this.gradingError = null;
    let saved = 0;
    let failed = 0;
    let lastError: string | null = null;
    try {
      for (const item of group.items) {
        const ack = await request(socket, 'grade:save', { questionId: item.questionId, playerId: item.playerId, marks: { ...marks }, comment }, COMMAND_TIMEOUT_MS);
        if (ack.ok) {
          saved++;
          this.gradingItems.set(itemKey(ack.data), ack.data);
        } else {
          failed++;
          lastError = ack.error.message;
        }
      }
    } finally {
      this.savingGrade = false;
    }
    if (failed > 0) this.gradingError = `${failed} of ${group.items.length} could not be saved: ${lastError}`;
    return { saved, failed };
  }

  /** Marks to prefill for a group (its existing common grade), or null. */
  prefill(group: GradingGroup): Record<string, number> | null {
    return commonMarks(group);
  }
}

function shortHash(s: string): string {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return String(h % 1000).padStart(3, '0');
}
