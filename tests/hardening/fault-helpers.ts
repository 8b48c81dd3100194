/**
 * Shared helpers of the fault-injection tests (tests/hardening/faults-*.test.ts): URL-based
 * HTTP calls (the server may be a child process), a cuttable TCP proxy, waits that resolve
 * on events, bounded polls, and the "every acknowledged answer counted exactly once" check
 * against the results export.
 */
import { Bank, type Ack, type HostView, type StudentView } from '@quizroom/shared';
import { createConnection, createServer, type Server, type Socket as NetSocket } from 'node:net';
import { createClient } from 'redis';
import { expect } from 'vitest';
import type { Results } from '../../server/src/game/results.ts';
import { connect, joinStudent, next, ok, PASSWORD, request, type ClientSocket } from '../support/quizroom.ts';

// ------------------------------------------------------------------ banks

export const CHOICES = ['VM', 'Container', 'Emulator'] as const;
export const CORRECT_CHOICE = 1;

/**
 * Two questions: a single choice (its time limit is the parameter) and a true/false.
 * Uploaded over HTTP, so a child process (bundled banks only) can run it too.
 */
export function faultBank(timeLimitSec: number): Bank {
  const source = { file: 'faults', section: 'faults' };
  return Bank.parse({
    id: 'fault-bank',
    title: 'Fault bank',
    description: 'For fault-injection tests',
    language: 'en',
    questions: [
      {
        id: 'q1',
        type: 'single',
        prompt: 'Which shares the host kernel?',
        timeLimit: timeLimitSec,
        explanation: 'Containers share the host kernel.',
        source,
        choices: CHOICES.map((text, i) => ({ text, ...(i === CORRECT_CHOICE ? { correct: true } : {}) })),
      },
      { id: 'q2', type: 'truefalse', prompt: 'A hypervisor runs virtual machines.', timeLimit: 20, explanation: 'It does.', source, answer: true },
    ],
  });
}

/** What the results export shows for a single-choice answer (`answerSummary`). */
export const choiceSummary = (choice: number) => `${String.fromCharCode(65 + choice)}: ${CHOICES[choice]}`;
export const tfSummary = (value: boolean) => (value ? 'True' : 'False');

// ------------------------------------------------------------------ HTTP by URL

export async function loginAt(url: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

export async function createSessionAt(url: string, cookie: string, bank: Bank, options: Record<string, unknown> = {}) {
  const payload = { upload: { filename: `${bank.id}.json`, content: JSON.stringify(bank) }, options };
  const res = await fetch(`${url}/api/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(payload) });
  const body = (await res.json()) as { code: string; hostToken: string };
  if (res.status !== 201) throw new Error(`create session failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function resultsAt(url: string, code: string, cookie: string): Promise<Results> {
  const res = await fetch(`${url}/api/sessions/${code}/results.json`, { headers: { cookie } });
  if (!res.ok) throw new Error(`results export failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Results;
}

/** /healthz status, or 0 when nothing answers (connection refused). */
export async function healthStatus(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Bounded poll of /healthz until it answers `status` (every 50 ms, at most `timeoutMs`). */
export async function waitHealth(url: string, status: 200 | 503, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < until) {
    last = await healthStatus(url);
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url}/healthz did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

// ------------------------------------------------------------------ Redis

/**
 * A graceful Redis restart's first half: SHUTDOWN (Redis fsyncs its append-only file and
 * exits). Unlike `RunningRedis.stop()` it keeps the data dir, so `restart()` brings the data
 * back; unlike `kill9()` no acknowledged write can be lost by Redis itself (appendfsync
 * everysec), so a lost answer would be the server's fault.
 */
export async function shutdownRedis(url: string): Promise<void> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  await client.sendCommand(['SHUTDOWN']).catch(() => undefined); // the connection closes instead of a reply
  if (client.isOpen) client.destroy();
}

// ------------------------------------------------------------------ events

/** Rejects with a clear message when `p` does not settle in `ms` (tighter than the test timeout). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function once(socket: ClientSocket, event: 'connect' | 'disconnect'): Promise<string | undefined> {
  return new Promise((resolve) => socket.once(event as 'connect', ((reason?: string) => resolve(reason)) as () => void));
}

type ViewEvent = 'student:view' | 'host:view' | 'display:view';

/**
 * Resolves once the socket has dropped, connected again *by itself* and received the full
 * view the server sends every (re)connecting client: { reason, view }. Register it before the fault.
 */
export function reconnection<E extends ViewEvent>(socket: ClientSocket, viewEvent: E) {
  return new Promise<{ reason: string; view: Parameters<import('@quizroom/shared').ServerToClientEvents[E]>[0] }>((resolve) => {
    socket.once('disconnect', (reason) => {
      socket.once('connect', () => {
        socket.once(viewEvent as 'student:view', ((view: never) => resolve({ reason, view })) as never);
      });
    });
  });
}

/** Emits with an ack; `arrived` stays undefined until (if ever) the ack comes back. */
export function tracked<T>(socket: ClientSocket, event: string, payload: unknown) {
  const entry: { sentAt: number; arrived?: Ack<T>; arrivedAt?: number; promise: Promise<Ack<T>> } = { sentAt: Date.now(), promise: undefined as never };
  entry.promise = new Promise((resolve) => {
    (socket.emit as (e: string, p: unknown, ack: (a: Ack<T>) => void) => void)(event, payload, (ack) => {
      entry.arrived = ack;
      entry.arrivedAt = Date.now();
      resolve(ack);
    });
  });
  return entry;
}

/** Retries while the answer is UNAVAILABLE (a bounded retry loop on a retryable error). */
export async function retryWhileUnavailable<T>(attempt: () => Promise<Ack<T>>, attempts = 100): Promise<{ ack: Ack<T>; tries: number }> {
  let ack = await attempt();
  let tries = 1;
  while (!ack.ok && ack.error.code === 'UNAVAILABLE' && tries < attempts) {
    await new Promise((r) => setTimeout(r, 50));
    ack = await attempt();
    tries++;
  }
  return { ack, tries };
}

export const hostConnect = (url: string, code: string, hostToken: string) => connect(url, { role: 'host', code, hostToken });
export const displayConnect = (url: string, code: string) => connect(url, { role: 'display', code });

/** A host command, retried while the store is unavailable. */
export async function hostCommand(host: ClientSocket, event: string, payload: unknown = {}) {
  const { ack } = await retryWhileUnavailable(() => request(host, event as never, payload));
  return ok(Promise.resolve(ack));
}

/** `count` students named "Student 1", "Student 2"…; student i joins at `urlOf(i)`. */
export function joinStudents(count: number, code: string, urlOf: (i: number) => string) {
  return Promise.all(Array.from({ length: count }, (_, i) => joinStudent(urlOf(i), code, `Student ${i + 1}`)));
}

/** The host starts the game; resolves with every student's `question:opened` (within 5 s). */
export async function startGame(host: ClientSocket, students: { socket: ClientSocket }[], what = 'question:opened on every student') {
  const opened = students.map((s) => next(s.socket, 'question:opened'));
  await hostCommand(host, 'game:start');
  return within(Promise.all(opened), 5000, what);
}


// ------------------------------------------------------------------ results

/** questionId → playerId → the export's `answer` text the acknowledged answer must show. */
export type AckedAnswers = Map<string, Map<string, string>>;

export function recordAck(acked: AckedAnswers, questionId: string, playerId: string, summary: string): void {
  let byPlayer = acked.get(questionId);
  if (!byPlayer) acked.set(questionId, (byPlayer = new Map()));
  expect(byPlayer.has(playerId), `${playerId} was acknowledged twice for ${questionId}`).toBe(false);
  byPlayer.set(playerId, summary);
}

/**
 * The export holds exactly the joined players (nobody duplicated by a reconnect), every
 * acknowledged answer exactly once with the acknowledged content, nothing that was not
 * acknowledged, and each player's total is the sum of their rows.
 */
export function expectExactlyTheAcked(results: Results, players: { playerId: string; nickname: string }[], acked: AckedAnswers, finalScores?: Map<string, number>): void {
  expect(results.players.map((p) => p.playerId).sort()).toEqual(players.map((p) => p.playerId).sort());
  const rowsByKey = new Map<string, Results['rows'][number]>();
  for (const row of results.rows) {
    const key = `${row.playerId}/${row.questionId}`;
    expect(rowsByKey.has(key), `two rows for ${key}`).toBe(false);
    rowsByKey.set(key, row);
  }
  for (const { playerId, nickname } of players) {
    for (const questionId of new Set(results.rows.map((r) => r.questionId))) {
      const row = rowsByKey.get(`${playerId}/${questionId}`)!;
      const expected = acked.get(questionId)?.get(playerId);
      expect({ nickname, questionId, answered: row.answered, answer: row.answer }).toEqual({ nickname, questionId, answered: expected !== undefined, answer: expected ?? '' });
    }
  }
  for (const p of results.players) {
    const rows = results.rows.filter((r) => r.playerId === p.playerId);
    const sum = rows.reduce((s, r) => s + r.points + r.streakBonus, 0);
    expect({ nickname: p.nickname, autoPoints: p.autoPoints, total: p.total }).toEqual({ nickname: p.nickname, autoPoints: sum, total: sum + p.gradedPoints });
    if (finalScores) expect({ nickname: p.nickname, final: finalScores.get(p.playerId) }).toEqual({ nickname: p.nickname, final: p.total });
  }
}

/** The next host view matching `predicate` (register before the event that causes it). */
export function hostViewWhere(host: ClientSocket, predicate: (v: HostView) => boolean): Promise<HostView> {
  return new Promise((resolve) => {
    const listener = (v: HostView) => {
      if (!predicate(v)) return;
      host.off('host:view', listener);
      resolve(v);
    };
    host.on('host:view', listener);
  });
}

export function studentViewWhere(socket: ClientSocket, predicate: (v: StudentView) => boolean): Promise<StudentView> {
  return new Promise((resolve) => {
    const listener = (v: StudentView) => {
      if (!predicate(v)) return;
      socket.off('student:view', listener);
      resolve(v);
    };
    socket.on('student:view', listener);
  });
}

// ------------------------------------------------------------------ a cuttable network

/**
 * A TCP proxy in front of the server for the students whose network fails. `drop()` cuts
 * every connection through it (RST, so both ends notice at once instead of after Socket.IO's
 * ping timeout) and refuses new ones until `restore()`: the clients' own reconnection loop
 * keeps failing meanwhile, exactly like a student whose Wi-Fi is gone.
 */
export class TcpProxy {
  private readonly pairs = new Set<NetSocket>();
  private refusing = false;

  private constructor(private readonly server: Server, readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((downstream) => proxy!.accept(downstream, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return proxy;
  }

  private accept(downstream: NetSocket, targetPort: number): void {
    if (this.refusing) {
      downstream.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const [a, b] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      this.pairs.add(a);
      a.on('error', () => undefined);
      a.on('close', () => {
        this.pairs.delete(a);
        if (!b.destroyed) b.destroy();
      });
      a.pipe(b);
    }
  }

  /** Cut every connection and refuse new ones. */
  drop(): void {
    this.refusing = true;
    for (const s of this.pairs) s.resetAndDestroy();
  }

  restore(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
