/**
 * An in-memory stand-in for a Socket.IO client socket: enough of `on/off/emit/connect/
 * disconnect/auth/connected/active` for the state classes, plus helpers for the test to play
 * the server (deliver events, answer acks, drop the connection).
 */
import type { HandshakeAuth } from '@quizroom/shared';
import type { QuizSocket, SocketFactory } from '../socket.ts';

type Listener = (...args: any[]) => void;

export interface SentEmit {
  event: string;
  payload: unknown;
  ack: ((response: unknown) => void) | undefined;
  answered: boolean;
}

export class FakeSocket {
  auth: HandshakeAuth;
  connected = false;
  active = true;
  connectCalls = 0;
  disconnectCalls = 0;
  readonly sent: SentEmit[] = [];
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(auth: HandshakeAuth) {
    this.auth = auth;
  }

  on(event: string, fn: Listener): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return this;
  }

  off(event?: string, fn?: Listener): this {
    if (event === undefined) this.#listeners.clear();
    else if (fn === undefined) this.#listeners.delete(event);
    else this.#listeners.get(event)?.delete(fn);
    return this;
  }

  emit(event: string, payload?: unknown, ack?: (response: unknown) => void): this {
    this.sent.push({ event, payload, ack, answered: false });
    return this;
  }

  connect(): this {
    this.connectCalls++;
    this.active = true;
    return this;
  }

  disconnect(): this {
    this.disconnectCalls++;
    const was = this.connected;
    this.connected = false;
    this.active = false;
    if (was) this.fire('disconnect', 'io client disconnect');
    return this;
  }

  // ——— test side ———

  listenerCount(event: string): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  fire(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) fn(...args);
  }

  /** The server accepted the handshake (with whatever `auth` holds now). */
  serverConnect(): void {
    this.connected = true;
    this.active = true;
    this.fire('connect');
  }

  /** The network dropped: Socket.IO will retry by itself. */
  drop(reason = 'transport close'): void {
    this.connected = false;
    this.fire('disconnect', reason);
  }

  /** The handshake failed. `active: false` = refused by the server's middleware. */
  connectError(message: string, opts: { active?: boolean; code?: string } = {}): void {
    this.active = opts.active ?? false;
    const err = Object.assign(new Error(message), opts.code ? { data: { code: opts.code, message } } : {});
    this.fire('connect_error', err);
  }

  emitsOf(event: string): SentEmit[] {
    return this.sent.filter((s) => s.event === event);
  }

  lastEmit(event: string): SentEmit | undefined {
    return this.emitsOf(event).at(-1);
  }

  /** Answer the oldest unanswered emit of `event` with `{ ok: true, data }`. */
  ackOk(event: string, data: unknown): SentEmit {
    return this.#answer(event, { ok: true, data });
  }

  ackError(event: string, code: string, message = `${code} happened`): SentEmit {
    return this.#answer(event, { ok: false, error: { code, message } });
  }

  #answer(event: string, response: unknown): SentEmit {
    const s = this.sent.find((x) => x.event === event && !x.answered);
    if (!s) throw new Error(`no unanswered "${event}" emit (sent: ${this.sent.map((x) => x.event).join(', ')})`);
    s.answered = true;
    s.ack?.(response);
    return s;
  }
}

/** A factory that records every socket it creates. */
export function fakeFactory(): { factory: SocketFactory; sockets: FakeSocket[]; last: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  const factory: SocketFactory = (auth) => {
    const s = new FakeSocket(auth);
    sockets.push(s);
    return s as unknown as QuizSocket;
  };
  return {
    factory,
    sockets,
    last: () => {
      const s = sockets.at(-1);
      if (!s) throw new Error('no socket was created');
      return s;
    },
  };
}

/** Let pending promise continuations run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
