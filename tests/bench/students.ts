/**
 * Simulated students: `RawStudent` (bulk, over raw-client.ts) and `ProbeStudent` (a real
 * socket.io-client, to check the bulk figures). Both record, on the shared clock, when
 * they first received each question (`o:<step>`) and each student view (`v:<phase>:<step>`),
 * and what that view said about them.
 */
import { io as ioClient, type Socket } from 'socket.io-client';
import { now } from './clock.ts';
import { RawClient, socketUrl, type AckResult } from './raw-client.ts';

export interface StudentSpec {
  /** Global index (0 … N-1) across every worker. */
  idx: number;
  room: number;
  /** http://127.0.0.1:PORT of the server process this student uses. */
  url: string;
  code: string;
  nickname: string;
}

/** What a `student:view` said, extracted without a full parse for raw students. */
export interface ViewInfo {
  phase: string;
  step: number;
  /** me.playerId is this student's own id. */
  pidOk: boolean;
  rank: number | null;
  /** reveal.result.answered (null when the view has no reveal). */
  answered: boolean | null;
  /** The view carries this student's own answer to the current question. */
  hasMyAnswer: boolean;
}

interface StudentViewLike {
  phase: string;
  step: number;
  me: { playerId: string; rank: number | null };
  myAnswer: unknown;
  reveal: { result: { answered: boolean } } | null;
}

export function infoOfView(v: StudentViewLike, playerId: string | null): ViewInfo {
  return {
    phase: v.phase,
    step: v.step,
    pidOk: v.me.playerId === playerId,
    rank: v.me.rank,
    answered: v.reveal ? v.reveal.result.answered : null,
    hasMyAnswer: v.myAnswer !== null && v.myAnswer !== undefined,
  };
}

/** The same facts from the raw frame `42["student:view",{…}]` by string search. */
export function infoOfRawView(s: string, playerId: string | null): ViewInfo | null {
  const p = s.indexOf('"phase":"');
  if (p < 0) return null;
  const phase = s.slice(p + 9, s.indexOf('"', p + 9));
  const st = s.indexOf('"step":', p);
  const step = parseInt(s.slice(st + 7, st + 20), 10);
  const m = s.indexOf('"me":{"playerId":"');
  const pid = m < 0 ? null : s.slice(m + 18, s.indexOf('"', m + 18));
  const r = m < 0 ? -1 : s.indexOf('"rank":', m);
  const rank = r < 0 || s.startsWith('null', r + 7) ? null : parseInt(s.slice(r + 7, r + 20), 10);
  const res = s.indexOf('"result":{"questionId":');
  let answered: boolean | null = null;
  if (res >= 0) {
    const a = s.indexOf('"answered":', res);
    answered = a >= 0 && s.startsWith('true', a + 11);
  }
  return { phase, step, pidOk: pid !== null && pid === playerId, rank, answered, hasMyAnswer: !s.includes('"myAnswer":null') };
}

type Waiter = { after: number; resolve: (v: { t: number; info: ViewInfo } | null) => void; timer: NodeJS.Timeout };

export abstract class Student {
  playerId: string | null = null;
  token: string | null = null;
  joined = false;
  /** First receipt (shared clock) per key: `o:<step>` for question:opened, `v:<phase>:<step>` for student:view. */
  readonly marks = new Map<string, number>();
  readonly views = new Map<string, ViewInfo>();
  viewCount = 0;
  /** Raw students whose string extraction was checked against a full JSON.parse. */
  parseChecks = 0;
  parseMismatches = 0;
  reconnects = 0;
  lastDisconnectAt: number | null = null;
  private waiters: Waiter[] = [];

  constructor(readonly spec: StudentSpec) {}

  abstract get kind(): 'raw' | 'probe';
  abstract get connected(): boolean;
  abstract get disconnects(): number;
  abstract get lastError(): string | null;
  /** Connects with the current credentials (a token once joined). */
  abstract connect(timeoutMs: number): Promise<void>;
  abstract request(event: string, payload: unknown, timeoutMs: number): Promise<AckResult>;
  /** Drops the connection like a network failure. */
  abstract drop(): void;
  abstract close(): void;

  get auth(): Record<string, unknown> {
    return this.token ? { role: 'student', code: this.spec.code, token: this.token } : { role: 'student', code: this.spec.code };
  }

  /** The next student:view after `after` views were seen (null on timeout). */
  nextView(after: number, timeoutMs: number): Promise<{ t: number; info: ViewInfo } | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        resolve(null);
      }, timeoutMs);
      this.waiters.push({ after, resolve, timer });
    });
  }

  protected markOpened(step: number, t: number): void {
    const key = `o:${step}`;
    if (!this.marks.has(key)) this.marks.set(key, t);
  }

  protected markView(info: ViewInfo, t: number): void {
    this.viewCount++;
    const key = `v:${info.phase}:${info.step}`;
    if (!this.marks.has(key)) {
      this.marks.set(key, t);
      this.views.set(key, info);
    }
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => this.viewCount > w.after);
      this.waiters = this.waiters.filter((w) => this.viewCount <= w.after);
      for (const w of ready) {
        clearTimeout(w.timer);
        w.resolve({ t, info });
      }
    }
  }
}

/** Reconnects with backoff, like socket.io-client (bounded: 20 attempts). */
function retryConnect(connect: () => Promise<void>, attempt = 0): void {
  if (attempt >= 20) return;
  const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random());
  setTimeout(() => void connect().catch(() => retryConnect(connect, attempt + 1)), delay).unref();
}

/** Check one raw student in this many against a full JSON.parse of the same view. */
const PARSE_CHECK_EVERY = 25;

export class RawStudent extends Student {
  private readonly client: RawClient;

  constructor(spec: StudentSpec) {
    super(spec);
    this.client = new RawClient({
      url: socketUrl(spec.url),
      auth: this.auth,
      onEvent: (s, t) => this.onEvent(s, t),
      onUnexpectedClose: () => this.recover(),
    });
  }

  get kind() {
    return 'raw' as const;
  }
  get connected() {
    return this.client.connected;
  }
  get disconnects() {
    return this.client.disconnects;
  }
  get lastError() {
    return this.client.lastError;
  }

  connect(timeoutMs: number): Promise<void> {
    this.client.auth = this.auth;
    return this.client.connect(timeoutMs);
  }

  request(event: string, payload: unknown, timeoutMs: number): Promise<AckResult> {
    return this.client.request(event, payload, timeoutMs);
  }

  drop(): void {
    this.client.drop();
  }

  close(): void {
    this.client.close();
  }

  /** An unexpected disconnect (already counted): come back as the same player, like a browser. */
  private recover(): void {
    this.lastDisconnectAt = now();
    if (!this.token) return;
    this.reconnects++;
    retryConnect(() => this.connect(30_000));
  }

  private onEvent(s: string, t: number): void {
    if (s.startsWith('42["question:opened",{"step":')) {
      this.markOpened(parseInt(s.slice(29, 45), 10), t);
      return;
    }
    if (s.startsWith('42["student:view",')) {
      const info = infoOfRawView(s, this.playerId);
      if (!info) return;
      if (this.spec.idx % PARSE_CHECK_EVERY === 0) {
        this.parseChecks++;
        const full = infoOfView((JSON.parse(s.slice(2)) as [string, StudentViewLike])[1], this.playerId);
        if (JSON.stringify(full) !== JSON.stringify(info)) this.parseMismatches++;
      }
      this.markView(info, t);
    }
    // room:count and anything else: ignored.
  }
}

export class ProbeStudent extends Student {
  private socket: Socket | null = null;
  private disconnectCount = 0;
  private error: string | null = null;
  private intentional = false;

  get kind() {
    return 'probe' as const;
  }
  get connected() {
    return this.socket?.connected ?? false;
  }
  get disconnects() {
    return this.disconnectCount;
  }
  get lastError() {
    return this.error;
  }

  connect(timeoutMs: number): Promise<void> {
    this.intentional = false;
    if (!this.socket) {
      const socket = ioClient(this.spec.url, { auth: this.auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
      this.socket = socket;
      socket.on('question:opened', (q: { step: number }) => this.markOpened(q.step, now()));
      socket.on('student:view', (v: StudentViewLike) => this.markView(infoOfView(v, this.playerId), now()));
      socket.on('latency:ping', (ts: number, ack?: (echo: number) => void) => ack?.(ts));
      socket.on('disconnect', (reason) => {
        if (this.intentional) return;
        this.disconnectCount++;
        this.lastDisconnectAt = now();
        this.error = `disconnect: ${reason}`;
        if (this.token) {
          this.reconnects++;
          retryConnect(() => this.connect(30_000));
        }
      });
    } else {
      this.socket.auth = this.auth;
    }
    const socket = this.socket;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('connect timeout'));
      }, timeoutMs);
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        this.error = err.message;
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
      };
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
      socket.connect();
    });
  }

  request(event: string, payload: unknown, timeoutMs: number): Promise<AckResult> {
    const sentAt = now();
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve({ ok: false, code: 'CLOSED', raw: '', sentAt, ackAt: null });
    return new Promise<AckResult>((resolve) => {
      socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: { ok: boolean; error?: { code: string } }) => {
        const t = now();
        if (err) return resolve({ ok: false, code: 'TIMEOUT', raw: '', sentAt, ackAt: null });
        resolve({ ok: ack.ok, code: ack.ok ? null : (ack.error?.code ?? 'UNKNOWN'), raw: JSON.stringify([ack]), sentAt, ackAt: t });
      });
    });
  }

  drop(): void {
    this.intentional = true;
    // Closes the transport under the Socket.IO socket: the server sees "transport close".
    this.socket?.io.engine?.close();
  }

  close(): void {
    this.intentional = true;
    this.socket?.disconnect();
  }
}
