/**
 * Test harness: a real Quizroom server on port 0 (memory or a real redis-server), real
 * socket.io-clients, and waits that resolve on events (never on sleeps).
 */
import { Bank, SessionOptions, type Ack, type ClientToServerEvents, type ServerToClientEvents, type SessionOptionsInput } from '@quizroom/shared';
import { io as ioClient, type Socket } from 'socket.io-client';
import { ConfigSchema } from '../../server/src/config.ts';
import { createLogger } from '../../server/src/logger.ts';
import { startQuizroom, type RunningServer, type StartOptions } from '../../server/src/server.ts';
import type { SessionStore } from '../../server/src/store/types.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export const PASSWORD = 'correct horse battery staple';

export async function startServer(
  opts: { redisUrl?: string; store?: SessionStore; banks?: Bank[]; env?: Record<string, string> } & Partial<StartOptions> = {},
): Promise<RunningServer> {
  const { env, redisUrl, ...rest } = opts;
  const config = ConfigSchema.parse({
    PORT: '0',
    HOST: '127.0.0.1',
    QUIZROOM_HOST_PASSWORD: PASSWORD,
    LOG_LEVEL: 'silent',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...env,
  });
  return startQuizroom({ clientDist: null, logger: createLogger('silent'), ...rest, config });
}

export async function login(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

export async function createSession(server: RunningServer, cookie: string, bank: string | Bank, options: SessionOptionsInput = {}) {
  const payload = typeof bank === 'string' ? { bankId: bank, options } : { upload: { filename: `${bank.id}.json`, content: JSON.stringify(bank) }, options };
  const res = await fetch(`${server.url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(payload) });
  const body = (await res.json()) as { code: string; hostToken: string; joinUrl: string; displayUrl: string };
  if (res.status !== 201) throw new Error(`create session failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const clients: ClientSocket[] = [];

export function connect(url: string, auth: Record<string, unknown>, headers?: Record<string, string>): ClientSocket {
  const socket: ClientSocket = ioClient(url, {
    auth,
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    forceNew: true,
    ...(headers ? { extraHeaders: headers } : {}),
  });
  clients.push(socket);
  return socket;
}

export function closeAllClients(): void {
  for (const s of clients.splice(0)) s.disconnect();
}

export function connected(socket: ClientSocket): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
}

/** Resolves with the first `event` payload matching `predicate` (bounded by the test timeout). */
export function next<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  predicate: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve) => {
    const listener = (payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!predicate(payload)) return;
      socket.off(event, listener as never);
      resolve(payload);
    };
    socket.on(event, listener as never);
  });
}

/** Emits with an ack and resolves with the ack. */
export function request<E extends keyof ClientToServerEvents>(socket: ClientSocket, event: E, payload: unknown): Promise<Ack<any>> {
  return new Promise((resolve) => {
    (socket.emit as (e: string, p: unknown, ack: (a: Ack<unknown>) => void) => void)(event, payload, resolve);
  });
}

export async function ok<T = any>(p: Promise<Ack<T>>): Promise<T> {
  const ack = await p;
  if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

export async function joinStudent(url: string, code: string, nickname: string, headers?: Record<string, string>) {
  const socket = connect(url, { role: 'student', code }, headers);
  await connected(socket);
  const joined = await ok<{ playerId: string; token: string; nickname: string }>(request(socket, 'player:join', { nickname }));
  socket.auth = { role: 'student', code, token: joined.token };
  return { socket, ...joined };
}

/** A small bank with one question of each auto-scored kind, a justify and an open question. */
export function testBank(): Bank {
  const source = { file: 'test', section: 'test' };
  return Bank.parse({
    id: 'test-bank',
    title: 'Test bank',
    description: 'For integration tests',
    language: 'en',
    questions: [
      { id: 'q-single', type: 'single', prompt: 'Which shares the host kernel?', timeLimit: 20, explanation: 'Containers share the host kernel.', source, choices: [{ text: 'VM' }, { text: 'Container', correct: true }, { text: 'Emulator' }] },
      { id: 'q-tf', type: 'truefalse', prompt: 'A hypervisor runs virtual machines.', timeLimit: 20, explanation: 'That is what a hypervisor does.', source, answer: true, justify: { prompt: 'Why?', rubric: [{ id: 'names', label: 'Names it', points: 2, description: 'Says what a hypervisor does' }] } },
      { id: 'q-short', type: 'short', prompt: 'Most popular container tool?', timeLimit: 20, explanation: 'Docker.', source, accept: ['Docker'] },
      { id: 'q-order', type: 'order', prompt: 'Order from hardware up.', timeLimit: 20, explanation: 'Hardware, hypervisor, guest OS, app.', source, items: ['Hardware', 'Hypervisor', 'Guest OS', 'App'] },
      { id: 'q-open', type: 'open', prompt: 'Fintech: VMs or containers?', timeLimit: 60, points: 1000, explanation: 'Both, each where it fits.', source, rubric: [{ id: 'iso', label: 'Isolation', points: 3, description: 'VMs for the data tier' }, { id: 'speed', label: 'Speed', points: 2, description: 'Containers for dev' }] },
    ],
  });
}

export const defaultOptions = SessionOptions.parse({});
