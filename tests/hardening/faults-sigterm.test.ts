/**
 * Issue 7, part 4 — graceful shutdown (SIGTERM) of a real server process (`server/src/main.ts`
 * in a child process, Redis mode) while answers are in flight.
 *
 * Proves:
 * - the process stops accepting (a new connection after the reconnect hint is refused),
 *   finishes the answers it was handling (every ack that arrives is ok:true, and nothing is
 *   stored without its ack having arrived), tells every client `server:restarting` before
 *   closing its socket, and exits with code 0 within a bound;
 * - an HTTP request in flight when SIGTERM arrives (an upload whose body is still on its way,
 *   like a long export download) is not cut: it is answered in full before the process exits;
 * - a second process started afterwards on the same Redis (and port) holds every acked answer
 *   exactly once; the students whose ack never arrived reconnect as the same players (as the
 *   real client does after `io server disconnect`) and their retry is accepted, not
 *   ALREADY_ANSWERED (which would mean an answer was stored but its ack was dropped).
 */
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { io as ioClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAllClients, connected, type ClientSocket } from '../support/quizroom.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { killAllServerChildren, startServerChild } from '../support/server-child.ts';
import {
  choiceSummary,
  createSessionAt,
  expectExactlyTheAcked,
  faultBank,
  hostCommand,
  hostConnect,
  loginAt,
  recordAck,
  resultsAt,
  studentViewWhere,
  tracked,
  within,
  type AckedAnswers,
  joinStudents,
  startGame,
} from './fault-helpers.ts';

const STUDENTS = 20;
const EXIT_BOUND_MS = 5000;

/**
 * A raw HTTP/1.1 request whose headers are sent at once and whose body waits for `finish()`.
 * `Expect: 100-continue` makes the server say when it has parsed the headers (Node answers
 * `100 Continue` right before it hands the request to the app): from `started` on, the
 * request is in flight on the server — an event, not a guess. `response` is everything the
 * server sent after the `100 Continue`, once it closes the connection (cut or done).
 */
function slowRequest(url: string, method: string, path: string, headers: Record<string, string>, body: string) {
  const { hostname, port } = new URL(url);
  const socket: TcpSocket = tcpConnect(Number(port), hostname);
  let received = '';
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('utf8');
    if (received.includes('100 Continue\r\n\r\n')) started();
  });
  socket.on('error', () => undefined); // a cut shows as a short response
  const response = new Promise<string>((resolve) => socket.once('close', () => resolve(received.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''))));
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, `Content-Length: ${Buffer.byteLength(body)}`, 'Expect: 100-continue', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(head.join('\r\n') + '\r\n\r\n');
  return { started: startedP, response, finish: () => socket.write(body) };
}

describe('faults: SIGTERM with answers in flight (real process, Redis)', () => {
  let redis: RunningRedis;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await killAllServerChildren();
    await redis?.stop();
  });

  it('stops accepting, finishes in-flight acks, closes sockets with a reconnect hint, exits 0; nothing acked is lost, nothing stored unacked', { timeout: 60_000 }, async () => {
    const first = await startServerChild({ redisUrl: redis.url });
    const cookie = await loginAt(first.url);
    // 60 s question: no deadline interferes with the shutdown.
    const { code, hostToken } = await createSessionAt(first.url, cookie, faultBank(60), { maxLatencyCompensationMs: 0 });
    const host = hostConnect(first.url, code, hostToken);
    await connected(host);
    const students = await joinStudents(STUDENTS, code, () => first.url);
    await startGame(host, students);

    const everyone: ClientSocket[] = [host, ...students.map((s) => s.socket)];
    // Per client: did the reconnect hint arrive, and before the socket closed?
    const goodbyes = everyone.map(
      (socket) =>
        new Promise<{ hint: number | null; reason: string }>((resolve) => {
          let hint: number | null = null;
          socket.once('server:restarting', ({ retryAfterMs }) => (hint = retryAfterMs));
          socket.once('disconnect', (reason) => resolve({ hint, reason }));
        }),
    );
    // Once a client has the hint, the process must refuse newcomers: a fresh connection attempt.
    const newcomer = new Promise<{ refused: boolean }>((resolve) => {
      host.once('server:restarting', () => {
        const probe = ioClient(first.url, { auth: { role: 'display', code }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 3000 });
        probe.once('connect', () => {
          probe.disconnect();
          resolve({ refused: false });
        });
        probe.once('connect_error', () => {
          probe.disconnect();
          resolve({ refused: true });
        });
      });
    });

    // An HTTP request in flight across the shutdown: the instructor uploads a bank, and its body
    // is still on the way when SIGTERM arrives.
    const upload = JSON.stringify({ upload: { filename: 'late.json', content: JSON.stringify({ ...faultBank(30), id: 'late-bank' }) }, options: {} });
    const slow = slowRequest(first.url, 'POST', '/api/sessions', { cookie, 'content-type': 'application/json' }, upload);
    await within(slow.started, 5000, 'the server to take the upload request');

    // Every student submits, and SIGTERM goes out right behind the emits.
    const inFlight = students.map((s, i) => tracked<{ receivedAt: number }>(s.socket, 'answer:submit', { questionId: 'q1', answer: { type: 'single', choice: i % 3 } }));
    const sentSigtermAt = Date.now();
    const exitCode = first.sigterm();

    const byes = await within(Promise.all(goodbyes), EXIT_BOUND_MS, 'every client to be disconnected');
    // The sockets are closed, the process is shutting down: only now does the upload's body go out.
    slow.finish();
    const uploaded = await within(slow.response, EXIT_BOUND_MS, 'the in-flight upload to be answered (then its connection closed)');
    expect(uploaded).toMatch(/^HTTP\/1\.1 201 /);
    expect(uploaded).toMatch(/"code":"[A-Z0-9]{6}"/);
    expect(uploaded).toMatch(/\r\nConnection: close\r\n/i); // no keep-alive into a closing process
    expect(await within(exitCode, EXIT_BOUND_MS + 1000, 'the process to exit after SIGTERM')).toBe(0);
    expect(Date.now() - sentSigtermAt).toBeLessThan(EXIT_BOUND_MS);
    for (const bye of byes) {
      expect(bye.hint).toBeGreaterThan(0); // server:restarting arrived before the close
      expect(bye.reason).toBe('io server disconnect'); // a deliberate close, not a crash
    }
    expect((await within(newcomer, 5000, 'the newcomer probe')).refused).toBe(true);

    // Every ack that arrived says ok (the answer was stored before the process went away).
    const acked: AckedAnswers = new Map();
    const unacked: number[] = [];
    inFlight.forEach((t, i) => {
      if (t.arrived === undefined) return unacked.push(i);
      expect(t.arrived, `ack of student ${i + 1}`).toMatchObject({ ok: true });
      recordAck(acked, 'q1', students[i]!.playerId, choiceSummary(i % 3));
    });

    // A second process on the same Redis and port. The students reconnect the way the real
    // client does after "io server disconnect" + server:restarting (it calls connect() itself).
    const second = await startServerChild({ redisUrl: redis.url, port: first.port });
    const views = students.map((s) => studentViewWhere(s.socket, () => true));
    for (const s of everyone) s.connect();
    const back = await within(Promise.all(views), 10_000, 'every student to reconnect to the second process');
    back.forEach((v, i) => {
      expect(v.me.playerId).toBe(students[i]!.playerId);
      // What the student sees as theirs is exactly what was acked.
      expect(v.myAnswer !== null, `student ${i + 1}: stored answer vs ack`).toBe(inFlight[i]!.arrived !== undefined);
    });

    // Those without an ack retry: accepted, never ALREADY_ANSWERED (that would be a stored answer whose ack was dropped).
    for (const i of unacked) {
      const ack = await tracked(students[i]!.socket, 'answer:submit', { questionId: 'q1', answer: { type: 'single', choice: i % 3 } }).promise;
      expect(ack, `retry of student ${i + 1}`).toMatchObject({ ok: true });
      recordAck(acked, 'q1', students[i]!.playerId, choiceSummary(i % 3));
    }

    await within(connected(host), 5000, 'the host to reconnect');
    await hostCommand(host, 'question:close');
    const finished = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'finished'));
    await hostCommand(host, 'game:end');
    const finalViews = await within(Promise.all(finished), 5000, 'the end on every student');
    expectExactlyTheAcked(await resultsAt(second.url, code, cookie), students, acked, new Map(finalViews.map((v) => [v.me.playerId, v.final!.score])));
    expect(await second.sigterm()).toBe(0);
  });

  it('a SIGTERM the instant the banner appears is already a graceful close (exit 0)', { timeout: 60_000 }, async () => {
    // Whoever waits for "Quizroom is running" (a supervisor, these tests) may signal at once.
    const children = await Promise.all([0, 1, 2].map(() => startServerChild({ redisUrl: redis.url })));
    const exits = await within(Promise.all(children.map((c) => c.sigterm())), EXIT_BOUND_MS, 'the three processes to exit');
    expect(exits).toEqual([0, 0, 0]);
  });
});
