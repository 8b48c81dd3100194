/**
 * The typed Socket.IO client and a promise wrapper around acknowledged emits. State classes
 * receive a `SocketFactory`, so tests can hand them an in-memory fake.
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, HandshakeAuth, ServerToClientEvents } from '@quizroom/shared';

export type QuizSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type SocketFactory = (auth: HandshakeAuth) => QuizSocket;

export type ClientEventName = keyof ClientToServerEvents;
export type PayloadOf<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
export type AckDataOf<E extends ClientEventName> =
  Parameters<ClientToServerEvents[E]>[1] extends (ack: Ack<infer T>) => void ? T : never;

/** Same origin, `/socket.io`; WebSocket first with a long-polling fallback for hostile networks. */
export const createSocket: SocketFactory = (auth) =>
  io({
    path: '/socket.io',
    auth,
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 10_000,
  });

export function errorAck(code: 'UNAVAILABLE' | 'INTERNAL', message: string): Ack<never> {
  return { ok: false, error: { code, message } };
}

/**
 * Emit `event` and resolve with the server's `Ack`. With `timeoutMs`, resolves with an
 * UNAVAILABLE error when no ack came in time (a late ack is then ignored).
 */
export function request<E extends ClientEventName>(
  socket: QuizSocket,
  event: E,
  payload: PayloadOf<E>,
  timeoutMs = 0,
): Promise<Ack<AckDataOf<E>>> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (ack: Ack<AckDataOf<E>>) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve(ack);
    };
    if (timeoutMs > 0)
      timer = setTimeout(
        () => finish(errorAck('UNAVAILABLE', 'The server did not answer in time. Check your connection and try again.')),
        timeoutMs,
      );
    const emit = socket.emit as unknown as (ev: string, data: unknown, cb: (ack: unknown) => void) => void;
    emit.call(socket, event, payload, (ack: unknown) => {
      if (ack && typeof ack === 'object' && 'ok' in ack) finish(ack as Ack<AckDataOf<E>>);
      else finish(errorAck('INTERNAL', 'The server sent an unexpected reply.'));
    });
  });
}
