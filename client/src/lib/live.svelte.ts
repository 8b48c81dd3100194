/**
 * What the three socket-owning state classes share: the connection lifecycle (connecting →
 * online → reconnecting → online …, or offline when the server refuses us), the server clock
 * offset, the latency probe and the "server restarting" notice.
 */
import type { HandshakeAuth } from '@quizroom/shared';
import { Clock, remainingMs, type Now } from './clock.ts';
import { createSocket, type QuizSocket, type SocketFactory } from './socket.ts';

export type Connection = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface LiveOptions {
  socketFactory?: SocketFactory;
  now?: Now;
  /** Timer hooks, replaceable in tests. */
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
  /** Where to listen for `online` / `visibilitychange` (default: the browser's window). */
  events?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null;
}

/** How long a liveness probe may take before the connection is considered dead. */
export const PROBE_TIMEOUT_MS = 4000;

/** Error codes a refused handshake may carry that are worth retrying rather than giving up. */
const RETRYABLE = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);

interface ConnectErrorLike extends Error {
  data?: { code?: string; message?: string };
}

export abstract class LiveConnection {
  connection = $state<Connection>('offline');
  /** The server refused this connection for good (bad code, invalid token…): a human message. */
  refused = $state<string | null>(null);
  /** Transient information, e.g. "The server is restarting". */
  notice = $state<string | null>(null);
  /** serverNow − Date.now() at the last view received. */
  offset = $state(0);

  readonly clock: Clock;
  protected socket: QuizSocket | null = null;
  protected readonly socketFactory: SocketFactory;
  readonly #now: Now;
  readonly #setTimeout: (fn: () => void, ms: number) => unknown;
  readonly #clearTimeout: (id: unknown) => void;
  #retryTimer: unknown = null;
  #retryAfterMs: number | null = null;
  #attempts = 0;
  readonly #events: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null;
  readonly #wake = () => {
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    void this.probe();
  };

  constructor(opts: LiveOptions = {}) {
    this.socketFactory = opts.socketFactory ?? createSocket;
    this.#now = opts.now ?? (() => Date.now());
    this.clock = new Clock(this.#now);
    this.#setTimeout = opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.#clearTimeout = opts.clearTimeout ?? ((id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>));
    // A phone that wakes up or gets its network back often holds a dead WebSocket that
    // Socket.IO would only notice after its ping timeout: check at once instead.
    this.#events = opts.events !== undefined ? opts.events : typeof window !== 'undefined' ? window : null;
    this.#events?.addEventListener('online', this.#wake);
    this.#events?.addEventListener('visibilitychange', this.#wake);
    this.#events?.addEventListener('pageshow', this.#wake);
  }

  protected later(fn: () => void, ms: number): unknown {
    return this.#setTimeout(fn, ms);
  }
  protected cancel(id: unknown): void {
    if (id !== null && id !== undefined) this.#clearTimeout(id);
  }

  /** A cheap acknowledged request (the role's `…:sync`); resolves false when it failed or timed out. */
  protected abstract heartbeat(socket: QuizSocket, timeoutMs: number): Promise<boolean>;

  /**
   * Is the connection really alive? Reconnects at once when it is down, and forces a fresh
   * connection when an acknowledged request gets no answer in time.
   */
  async probe(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.isTerminated()) return;
    if (!socket.connected) {
      // Skip the remaining reconnection back-off: the network is (probably) back now.
      if (this.connection !== 'offline' || !this.refused) this.reconnectNow();
      return;
    }
    const alive = await this.heartbeat(socket, PROBE_TIMEOUT_MS);
    if (!alive && this.socket === socket && socket.connected) this.reconnectNow();
  }

  /** Drop the current transport and connect again (same socket, same auth). */
  protected reconnectNow(): void {
    const socket = this.socket;
    if (!socket) return;
    socket.disconnect();
    this.connection = 'reconnecting';
    socket.connect();
  }

  /** Server time now, reactive (ticks while a template reads it). */
  get serverNow(): number {
    return this.clock.now + this.offset;
  }

  protected syncClock(serverNow: number): void {
    this.offset = serverNow - this.#now();
  }

  protected countdown(t: { phase: string; deadline: number | null; pausedRemainingMs: number | null } | null): number | null {
    return t ? remainingMs(t, this.serverNow) : null;
  }

  /** Create the socket and wire the lifecycle; subclasses add their own events in `bind`. */
  protected openSocket(auth: HandshakeAuth): QuizSocket {
    this.closeSocket();
    this.refused = null;
    this.connection = 'connecting';
    const socket = this.socketFactory(auth);
    this.socket = socket;
    socket.on('connect', () => {
      this.#attempts = 0;
      this.#retryAfterMs = null;
      this.notice = null;
      this.connection = 'online';
      this.onConnected();
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect') {
        this.connection = 'offline';
        return;
      }
      this.connection = 'reconnecting';
      if (reason === 'io server disconnect') {
        // The server closed us on purpose (restart, or we were removed). Socket.IO does not
        // retry by itself in that case; a kicked client has already been closed by now.
        if (this.socket === socket && !this.isTerminated()) this.#scheduleReconnect(this.#retryAfterMs ?? 1000);
        else this.connection = 'offline';
      }
    });
    socket.on('connect_error', (err: ConnectErrorLike) => {
      if (socket.active) {
        this.connection = 'reconnecting';
        return;
      }
      // A refused handshake (middleware error): retry only if the server says it is transient.
      const code = err.data?.code;
      if (code && RETRYABLE.has(code) && this.retryRefusal(code)) {
        this.connection = 'reconnecting';
        this.#scheduleReconnect(Math.min(1000 * 2 ** this.#attempts++, 15_000));
        return;
      }
      this.connection = 'offline';
      const message = err.data?.message ?? err.message ?? 'The server refused the connection.';
      this.onRefused(code ?? null, message);
    });
    socket.on('server:restarting', ({ retryAfterMs }) => {
      this.#retryAfterMs = Math.max(250, Math.min(retryAfterMs, 30_000)) + Math.floor(Math.random() * 500);
      this.notice = 'The server is restarting — you will be reconnected automatically.';
    });
    socket.on('latency:ping', (sentAt, ack) => {
      if (typeof ack === 'function') ack(sentAt);
    });
    this.bind(socket);
    return socket;
  }

  #scheduleReconnect(ms: number): void {
    if (this.#retryTimer !== null) this.#clearTimeout(this.#retryTimer);
    this.#retryTimer = this.#setTimeout(() => {
      this.#retryTimer = null;
      if (this.socket && !this.socket.connected) {
        this.connection = 'reconnecting';
        this.socket.connect();
      }
    }, ms);
  }

  protected closeSocket(): void {
    if (this.#retryTimer !== null) this.#clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.off();
      s.disconnect();
    }
    this.connection = 'offline';
  }

  /** Retry now (the "Try again" button of an offline banner). */
  retry(): void {
    if (this.socket && !this.socket.connected && !this.isTerminated()) {
      this.connection = 'reconnecting';
      this.socket.connect();
    }
  }

  /** Stop everything (component teardown). */
  destroy(): void {
    this.#events?.removeEventListener('online', this.#wake);
    this.#events?.removeEventListener('visibilitychange', this.#wake);
    this.#events?.removeEventListener('pageshow', this.#wake);
    this.closeSocket();
  }

  protected abstract bind(socket: QuizSocket): void;
  protected onConnected(): void {}
  protected onRefused(_code: string | null, message: string): void {
    this.refused = message;
  }
  /** May a refused handshake with this (transient) error code be retried automatically? */
  protected retryRefusal(_code: string): boolean {
    return true;
  }
  /** True when the session is over for this client (kicked…): do not reconnect. */
  protected isTerminated(): boolean {
    return false;
  }
}
