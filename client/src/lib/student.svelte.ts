/**
 * The student's phone: join, answer, see results. Owns the student socket.
 *
 * Identity is the server-issued player token, kept in storage under `quizroom:player:<code>`;
 * every (re)connection carries it, so a reload, a sleeping phone or a dropped network brings
 * the same player back. An answer counts as received only when the server acknowledged it
 * (or a resync shows it stored). Justification and open-answer drafts are kept in storage per
 * question until the server has them.
 */
import type { AnswerInput, JoinResult, QuestionOpened, StudentView, SubmitResult } from '@quizroom/shared';
import { countdownAnnouncement } from './clock.ts';
import { CODE_PATTERN, NICKNAME_MAX } from './format.ts';
import { LiveConnection, type LiveOptions } from './live.svelte.ts';
import { request, type QuizSocket } from './socket.ts';
import { browserStorage, keys, readJson, type KeyValueStore } from './storage.ts';

export interface StudentOptions extends LiveOptions {
  storage?: KeyValueStore;
}

interface StoredPlayer {
  code: string;
  token: string;
  playerId?: string;
  nickname?: string;
}

interface PendingAnswer {
  questionId: string;
  answer: AnswerInput;
  justification: string | undefined;
  resent: boolean;
}

/** Reconnect when an answer has had no ack for this long on a connection that looks alive. */
export const ANSWER_WATCHDOG_MS = 5000;

/** Error codes after which a (re)submission cannot succeed: show the message, stop trying. */
const FINAL_ANSWER_ERRORS = new Set(['TOO_LATE', 'WRONG_QUESTION', 'BAD_PHASE', 'INVALID_ANSWER', 'KICKED', 'NOT_FOUND', 'BAD_REQUEST', 'FORBIDDEN', 'PAUSED', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL', 'UNAUTHORIZED']);

export class StudentState extends LiveConnection {
  /** The session code (typed, or prefilled from the URL). */
  code = $state('');
  view = $state.raw<StudentView | null>(null);
  token = $state<string | null>(null);
  nickname = $state<string | null>(null);

  joining = $state(false);
  joinError = $state<string | null>(null);
  /** Set when the host removed this player. */
  kicked = $state<string | null>(null);

  /** The last acknowledged submission (answer:submit or answer:justify). */
  receipt = $state.raw<SubmitResult | null>(null);
  submitting = $state(false);
  submitError = $state<string | null>(null);

  /** Justification (choice questions) or answer text (open questions) being written. */
  draft = $state('');
  /** The text the server has for the current question (last acknowledged), if any. */
  sentText = $state<string | null>(null);
  sendingText = $state(false);
  textError = $state<string | null>(null);

  /** Generated nicknames offered by the server (required when the session says so). */
  suggestions = $state<string[]>([]);
  loadingNames = $state(false);

  /** May the instructor show my name when spotlighting my answer? (The server's word wins.) */
  consent = $state(false);
  #consentInFlight = 0;

  readonly #storage: KeyValueStore;
  #pending = $state.raw<PendingAnswer | null>(null);
  #draftFor: string | null = null;
  #guestCode: string | null = null;
  #joinAttempt = 0;

  constructor(opts: StudentOptions = {}) {
    super(opts);
    this.#storage = opts.storage ?? browserStorage('local');
  }

  // ——— derived ———

  get joined(): boolean {
    return this.token !== null;
  }
  get phase() {
    return this.view?.phase ?? null;
  }
  get question() {
    return this.view?.phase === 'lobby' ? null : (this.view?.question ?? null);
  }
  get paused(): boolean {
    return this.view?.phase === 'open' && this.view.pausedRemainingMs !== null;
  }
  /** Time left on the open question, in ms of server time; null when nothing counts down. */
  get remainingMs(): number | null {
    return this.countdown(this.view);
  }
  get timeUp(): boolean {
    return this.remainingMs === 0 && !this.paused;
  }
  /** Did the server confirm an answer to the current question? */
  get answered(): boolean {
    const q = this.question;
    if (!q || !this.view) return false;
    return (this.view.myAnswer !== null && this.view.myAnswer.answer !== null) || this.receipt?.questionId === q.id;
  }
  /** The answer on its way to the server (not acknowledged yet). */
  get pendingAnswer(): AnswerInput | null {
    return this.#pending?.answer ?? null;
  }
  get canAnswer(): boolean {
    return this.view?.phase === 'open' && !this.paused && !this.timeUp && !this.answered && !this.submitting && this.connection !== 'offline';
  }
  /** The text field of the current question: an open answer or a justification. */
  get textKind(): 'open' | 'justify' | null {
    const q = this.question;
    if (!q) return null;
    if (q.type === 'open') return 'open';
    return q.justify ? 'justify' : null;
  }
  get textMaxLength(): number {
    const q = this.question;
    if (!q) return 0;
    return q.type === 'open' ? (q.maxLength ?? 800) : (q.justify?.maxLength ?? 400);
  }
  /** Unsent changes to the open answer / justification. */
  get draftDirty(): boolean {
    return this.draft.trim() !== (this.sentText ?? '').trim() && this.draft.trim().length > 0;
  }
  get canSendText(): boolean {
    return (
      this.view?.phase === 'open' &&
      !this.paused &&
      !this.timeUp &&
      !this.sendingText &&
      this.draftDirty &&
      this.draft.length <= this.textMaxLength &&
      (this.textKind === 'open' || this.answered)
    );
  }
  /** For the polite live region: minute marks, 30 s, 10 s, time's up. */
  get countdownStatus(): string {
    return countdownAnnouncement(this.remainingMs, this.paused);
  }
  get statusMessage(): string {
    if (this.kicked) return this.kicked;
    if (this.connection === 'reconnecting') return 'Connection lost. Reconnecting…';
    if (this.connection === 'offline' && this.joined) return 'You are offline.';
    if (this.submitError) return this.submitError;
    if (this.answered && this.view?.phase === 'open') return 'Answer received';
    return '';
  }

  // ——— lifecycle ———

  /** Page load: remember the code from the URL and resume a stored player, if any. */
  start(code: string | null): void {
    const stored = code ? this.#stored(code) : null;
    if (code) this.code = code;
    if (stored) {
      this.token = stored.token;
      this.nickname = stored.nickname ?? null;
      this.consent = this.#storage.getItem(keys.consent(stored.code)) === '1';
      this.openSocket({ role: 'student', code: stored.code, token: stored.token });
    }
  }

  /** Join as a new player: connect as a guest, `player:join`, then keep the token. */
  async join(code: string, nickname: string): Promise<boolean> {
    code = code.replace(/\D/g, '');
    nickname = nickname.replace(/\s+/g, ' ').trim();
    this.joinError = null;
    this.kicked = null;
    if (!CODE_PATTERN.test(code)) {
      this.joinError = 'The game code has 6 digits.';
      return false;
    }
    if (nickname.length === 0) {
      this.joinError = 'Choose a nickname.';
      return false;
    }
    if ([...nickname].length > NICKNAME_MAX) {
      this.joinError = `A nickname has at most ${NICKNAME_MAX} characters.`;
      return false;
    }
    this.code = code;
    const stored = this.#stored(code);
    if (stored) {
      // Already a player of this session in this browser: resume instead of joining twice.
      this.start(code);
      return true;
    }
    this.joining = true;
    const attempt = ++this.#joinAttempt;
    try {
      const socket = this.#guestSocket(code);
      const ack = await request(socket, 'player:join', { nickname }, 15_000);
      if (this.socket !== socket) return false;
      if (!ack.ok) {
        this.joinError = ack.error.message;
        // e.g. "pick one of the suggested names" (generated-names sessions) or a refused name.
        if (ack.error.code === 'NICKNAME_INVALID' && this.socket === socket) void this.requestNames(code);
        return false;
      }
      this.suggestions = [];
      this.#adopt(code, ack.data);
      // The server upgrades this socket to the player; future reconnects carry the token.
      socket.auth = { role: 'student', code, token: ack.data.token };
      const view = await request(socket, 'student:sync', {}, 10_000);
      if (this.socket !== socket) return true;
      if (view.ok) this.#applyView(view.data);
      else {
        // This server wants a fresh handshake with the token: reconnect.
        socket.disconnect();
        socket.connect();
      }
      return true;
    } finally {
      if (attempt === this.#joinAttempt) this.joining = false;
    }
  }

  /** The guest socket for `code` (reused, so names offered to it can be picked when joining). */
  #guestSocket(code: string): QuizSocket {
    if (this.socket && this.token === null && this.#guestCode === code && this.connection !== 'offline') return this.socket;
    this.#guestCode = code;
    this.suggestions = [];
    return this.openSocket({ role: 'student', code });
  }

  /** Ask the server for friendly nicknames to pick from (a new set on every call). */
  async requestNames(code: string = this.code): Promise<string[]> {
    code = code.replace(/\D/g, '');
    if (!CODE_PATTERN.test(code)) {
      this.joinError = 'Type the 6-digit game code first.';
      return [];
    }
    if (this.token !== null) return [];
    this.code = code;
    this.loadingNames = true;
    try {
      const socket = this.#guestSocket(code);
      const ack = await request(socket, 'player:names', {}, 10_000);
      if (this.socket !== socket) return [];
      if (!ack.ok) {
        this.joinError = ack.error.message;
        return [];
      }
      this.suggestions = ack.data.names;
      return ack.data.names;
    } finally {
      this.loadingNames = false;
    }
  }

  #adopt(code: string, r: JoinResult): void {
    this.token = r.token;
    this.nickname = r.nickname;
    const record: StoredPlayer = { code, token: r.token, playerId: r.playerId, nickname: r.nickname };
    this.#storage.setItem(keys.player(code), JSON.stringify(record));
    this.consent = this.#storage.getItem(keys.consent(code)) === '1';
  }

  #stored(code: string): StoredPlayer | null {
    const s = readJson<StoredPlayer>(this.#storage, keys.player(code));
    return s && typeof s.token === 'string' && s.code === code ? s : null;
  }

  #forget(): void {
    if (this.code) this.#storage.removeItem(keys.player(this.code));
    this.token = null;
    this.view = null;
    this.receipt = null;
    this.#pending = null;
  }

  /** Close the "you were removed" notice and show the join form again. */
  dismissKick(): void {
    this.kicked = null;
  }

  /** "Not you?": forget this player on this device and go back to the join form. */
  leave(): void {
    this.#forget();
    this.closeSocket();
  }

  /** A guest refused for a transient reason (e.g. too many wrong codes) sees the message. */
  protected override retryRefusal(_code: string): boolean {
    return this.token !== null;
  }

  protected override isTerminated(): boolean {
    return this.kicked !== null;
  }

  protected override onRefused(code: string | null, message: string): void {
    if (code === 'KICKED') this.kicked = message || 'The instructor removed you from this game.';
    else if (this.token !== null) this.joinError = message || 'Your previous game has ended. Join again with a new code.';
    else this.joinError = message || 'Could not join this game.';
    // The stored token no longer works (session over, player removed) or the code is wrong:
    // forget it and show the join form with the reason.
    if (this.token !== null) this.#forget();
    this.#joinAttempt++;
    this.joining = false;
    this.closeSocket();
  }

  protected bind(socket: QuizSocket): void {
    socket.on('student:view', (v) => {
      if (this.socket === socket) this.#applyView(v);
    });
    socket.on('question:opened', (q) => {
      if (this.socket === socket) this.#applyOpened(q);
    });
    socket.on('room:count', ({ playerCount }) => {
      if (this.view && this.socket === socket) this.view = { ...this.view, playerCount };
    });
    socket.on('session:kicked', ({ message }) => {
      this.kicked = message || 'The instructor removed you from this game.';
      this.#forget();
      this.closeSocket();
    });
  }

  protected override onConnected(): void {
    // The server sends `student:view` on connect; a pending answer is settled there.
  }

  protected async heartbeat(socket: QuizSocket, timeoutMs: number): Promise<boolean> {
    if (!this.joined) return true;
    const ack = await request(socket, 'student:sync', {}, timeoutMs);
    if (ack.ok && this.socket === socket) this.#applyView(ack.data);
    return ack.ok || ack.error.code !== 'UNAVAILABLE';
  }

  // ——— views ———

  #applyView(v: StudentView): void {
    this.syncClock(v.serverNow);
    const prevQuestion = this.view?.question?.id ?? null;
    this.view = v;
    if (v.me.nickname) this.nickname = v.me.nickname;
    // What the server holds (another device, cleared storage); not while a change is on its way.
    if (this.#consentInFlight === 0 && typeof v.me.consent === 'boolean' && v.me.consent !== this.consent) {
      this.consent = v.me.consent;
      this.#storage.setItem(keys.consent(v.code), v.me.consent ? '1' : '0');
    }
    const q = v.phase === 'lobby' ? null : v.question;
    if (q?.id !== prevQuestion) this.#resetQuestion();
    this.#loadDraft();
    // Settle an answer that was in flight when the connection dropped.
    const p = this.#pending;
    if (p && q && p.questionId === q.id) {
      if (v.myAnswer?.answer) {
        this.#pending = null;
        this.submitting = false;
      } else if (v.phase === 'open' && !p.resent && this.connection === 'online') {
        p.resent = true;
        void this.#send(p);
      } else if (v.phase !== 'open') {
        this.#pending = null;
        this.submitting = false;
        this.submitError = 'The question closed before your answer reached the server.';
      }
    }
  }

  #applyOpened(o: QuestionOpened): void {
    const v = this.view;
    this.syncClock(o.serverNow);
    if (!v) return;
    const same = v.question?.id === o.question.id;
    this.view = {
      ...v,
      phase: 'open',
      step: o.step,
      question: o.question,
      deadline: o.deadline,
      pausedRemainingMs: o.pausedRemainingMs,
      myAnswer: same ? v.myAnswer : null,
      reveal: same ? v.reveal : null,
      leaderboard: null,
      serverNow: o.serverNow,
    };
    if (!same) {
      this.#resetQuestion();
      this.#loadDraft();
    }
  }

  #resetQuestion(): void {
    this.receipt = null;
    this.submitError = null;
    this.textError = null;
    this.submitting = false;
    this.#pending = null;
    this.#draftFor = null;
  }

  /** Pick up the stored draft (or what the server has) for the current question. */
  #loadDraft(): void {
    const q = this.question;
    const v = this.view;
    if (!q || !v || this.#draftFor === q.id) {
      // Same question: only adopt the server's text if we had none.
      if (q && v && this.sentText === null) this.sentText = this.#serverText(v);
      return;
    }
    this.#draftFor = q.id;
    const server = this.#serverText(v);
    this.sentText = server;
    const stored = this.#storage.getItem(keys.draft(v.code, q.id));
    this.draft = stored ?? server ?? '';
  }

  #serverText(v: StudentView): string | null {
    const mine = v.myAnswer;
    if (!mine) return null;
    if (mine.answer?.type === 'open') return mine.answer.text;
    return mine.justification;
  }

  // ——— answering ———

  /** Update the draft (kept in storage until the server has it). */
  setDraft(text: string): void {
    this.draft = text;
    this.textError = null;
    const q = this.question;
    if (!q || !this.view) return;
    const key = keys.draft(this.view.code, q.id);
    if (text.trim().length === 0 || text === this.sentText) this.#storage.removeItem(key);
    else this.#storage.setItem(key, text);
  }

  submitSingle(choice: number) {
    return this.submit({ type: 'single', choice });
  }
  submitMulti(choices: number[]) {
    return this.submit({ type: 'multi', choices: [...choices].sort((a, b) => a - b) });
  }
  submitTrueFalse(value: boolean) {
    return this.submit({ type: 'truefalse', value });
  }
  submitShort(text: string) {
    return this.submit({ type: 'short', text: text.trim() });
  }
  submitNumeric(value: number) {
    return this.submit({ type: 'numeric', value });
  }
  submitOrder(order: number[]) {
    return this.submit({ type: 'order', order });
  }
  submitPoll(choices: number[]) {
    return this.submit({ type: 'poll', choices: [...choices].sort((a, b) => a - b) });
  }
  /** Open question: the first submission and every later edit before the deadline. */
  submitOpen() {
    return this.submit({ type: 'open', text: this.draft.trim() });
  }

  /** Send an answer to the open question. Resolves true once the server acknowledged it. */
  async submit(answer: AnswerInput): Promise<boolean> {
    const q = this.question;
    const v = this.view;
    if (!q || !v || !this.socket) return false;
    this.submitError = null;
    if (answer.type !== q.type) {
      this.submitError = 'That answer does not fit this question.';
      return false;
    }
    const isOpen = answer.type === 'open';
    if (v.phase !== 'open') {
      this.submitError = 'This question is closed.';
      return false;
    }
    if (this.paused) {
      this.submitError = 'The question is paused. Wait for the instructor to resume.';
      return false;
    }
    if (!isOpen && this.answered) return true;
    if (isOpen && answer.text.length === 0) {
      this.textError = 'Write your answer first.';
      return false;
    }
    if (this.submitting || (isOpen && this.sendingText)) return false;
    const justification = q.justify && !isOpen && this.draft.trim() ? this.draft.trim().slice(0, q.justify.maxLength) : undefined;
    const pending: PendingAnswer = { questionId: q.id, answer, justification, resent: false };
    this.#pending = pending;
    if (isOpen) this.sendingText = true;
    else this.submitting = true;
    return this.#send(pending);
  }

  async #send(p: PendingAnswer): Promise<boolean> {
    const socket = this.socket;
    if (!socket) return false;
    const payload = p.justification !== undefined ? { questionId: p.questionId, answer: p.answer, justification: p.justification } : { questionId: p.questionId, answer: p.answer };
    // No ack in time on a connection that looks fine: it is probably dead (a phone that slept,
    // a Wi-Fi hand-over). Reconnect; the resync then settles or re-sends this answer.
    const watchdog = this.later(() => {
      if (this.#pending !== p || this.socket !== socket) return;
      p.resent = false;
      if (socket.connected) this.reconnectNow();
    }, ANSWER_WATCHDOG_MS);
    const ack = await request(socket, 'answer:submit', payload);
    this.cancel(watchdog);
    if (this.socket !== socket || this.#pending !== p) return false;
    const isOpen = p.answer.type === 'open';
    this.#pending = null;
    this.submitting = false;
    if (isOpen) this.sendingText = false;
    if (ack.ok) {
      this.receipt = ack.data;
      const text = isOpen ? (p.answer as { text: string }).text : (p.justification ?? null);
      if (text !== null) this.#markSent(p.questionId, text);
      this.#recordMine(p);
      return true;
    }
    if (ack.error.code === 'ALREADY_ANSWERED') {
      // Stored earlier (our ack was lost on the way): that counts as received.
      this.receipt = { questionId: p.questionId, receivedAt: this.serverNow, textVersion: 0 };
      void this.sync();
      return true;
    }
    if (isOpen) this.textError = ack.error.message;
    else this.submitError = ack.error.message;
    if (!FINAL_ANSWER_ERRORS.has(ack.error.code)) void this.sync();
    return false;
  }

  #recordMine(p: PendingAnswer): void {
    const v = this.view;
    if (!v || v.question?.id !== p.questionId) return;
    const prev = v.myAnswer;
    this.view = {
      ...v,
      myAnswer: { answer: p.answer, justification: p.justification ?? prev?.justification ?? null },
    };
  }

  #markSent(questionId: string, text: string): void {
    if (this.question?.id !== questionId || !this.view) return;
    this.sentText = text;
    if (this.draft.trim() === text.trim()) this.#storage.removeItem(keys.draft(this.view.code, questionId));
  }

  /** Send (or replace) the justification of an answered choice question. */
  async sendJustification(): Promise<boolean> {
    const q = this.question;
    const socket = this.socket;
    if (!q || !socket || !this.view) return false;
    if (this.textKind === 'open') return this.submitOpen();
    const text = this.draft.trim();
    if (!text) {
      this.textError = 'Write your justification first.';
      return false;
    }
    if (!this.answered) {
      this.textError = 'Answer the question first, then send your justification.';
      return false;
    }
    this.sendingText = true;
    this.textError = null;
    try {
      const ack = await request(socket, 'answer:justify', { questionId: q.id, text });
      if (this.socket !== socket) return false;
      if (!ack.ok) {
        this.textError = ack.error.message;
        return false;
      }
      this.receipt = ack.data;
      this.#markSent(q.id, text);
      const v = this.view;
      if (v?.myAnswer && v.question?.id === q.id) this.view = { ...v, myAnswer: { ...v.myAnswer, justification: text } };
      return true;
    } finally {
      this.sendingText = false;
    }
  }

  async setConsent(allow: boolean): Promise<void> {
    const previous = this.consent;
    this.consent = allow;
    if (this.code) this.#storage.setItem(keys.consent(this.code), allow ? '1' : '0');
    if (!this.socket || !this.joined) return;
    this.#consentInFlight++;
    let ack;
    try {
      ack = await request(this.socket, 'player:consent', { allow }, 10_000);
    } finally {
      this.#consentInFlight--;
    }
    if (!ack.ok) {
      this.consent = previous;
      if (this.code) this.#storage.setItem(keys.consent(this.code), previous ? '1' : '0');
      this.submitError = ack.error.message;
    }
  }

  /** Ask for a full view (after an error that may mean we are out of date). */
  async sync(): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.joined) return;
    const ack = await request(socket, 'student:sync', {}, 10_000);
    if (ack.ok && this.socket === socket) this.#applyView(ack.data);
  }
}
