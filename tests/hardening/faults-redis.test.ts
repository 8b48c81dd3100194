/**
 * Issue 7, part 4 — Redis restarts during a game. Two servers on one real redis-server
 * (in-process, each with its own store, pub and sub clients, like two processes): the
 * students and the display on A, the host on B, so every host command reaches the students
 * only through the Socket.IO Redis adapter.
 *
 * Proves:
 * - while Redis is down: /healthz answers 503 (bounded poll), an answer is refused with the
 *   retryable `{ ok:false, error:{ code:'UNAVAILABLE' } }` — never acked — a host command is
 *   refused the same way, and a new connection is refused with UNAVAILABLE in its handshake;
 * - a graceful close of a third server during the outage finishes (it used to wait for Redis forever),
 *   and a broadcast it sent through the adapter while Redis was down (a publish waiting in the
 *   pub client's offline queue, rejected when the close destroys the client) is no unhandled
 *   rejection: nothing in the whole test is;
 * - when Redis is back: both servers report healthy, the refused answers succeed on retry
 *   (ALREADY_ANSWERED is counted as stored: it could only be an attempt whose reply was lost),
 *   host commands work, and B's broadcasts reach A's students again (A's adapter
 *   subscription came back), through to the end of the game;
 * - nothing acknowledged is lost: the export holds every acked answer exactly once.
 *
 * The outage is a graceful Redis restart (SHUTDOWN, which fsyncs the AOF, then the same data
 * dir again): Redis itself loses nothing, so anything missing would be the server's doing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient } from 'socket.io-client';
import { rooms } from '../../server/src/realtime/broadcaster.ts';
import type { RunningServer } from '../../server/src/server.ts';
import { closeAllClients, connected, next, request, startServer } from '../support/quizroom.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import {
  choiceSummary,
  createSessionAt,
  displayConnect,
  expectExactlyTheAcked,
  faultBank,
  hostCommand,
  hostConnect,
  loginAt,
  recordAck,
  resultsAt,
  retryWhileUnavailable,
  shutdownRedis,
  studentViewWhere,
  tfSummary,
  tracked,
  waitHealth,
  within,
  type AckedAnswers,
  joinStudents,
  startGame,
} from './fault-helpers.ts';

const STUDENTS = 10;
const BEFORE = 4; // students who answer before the outage

describe('faults: Redis restarts during a game', () => {
  let redis: RunningRedis;
  let a: RunningServer;
  let b: RunningServer;
  let c: RunningServer; // closed during the outage
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startRedisServer();
    a = await startServer({ redisUrl: redis.url });
    b = await startServer({ redisUrl: redis.url });
    c = await startServer({ redisUrl: redis.url });
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await c?.close();
    await redis?.stop();
    process.off('unhandledRejection', onUnhandled);
  });

  it('unhealthy and UNAVAILABLE while down (never a false ack), recovers with the adapter, the game completes, nothing acked is lost', async () => {
    const cookie = await loginAt(b.url);
    // 60 s: no deadline runs out during the outage.
    const { code, hostToken } = await createSessionAt(b.url, cookie, faultBank(60), { maxLatencyCompensationMs: 0 });
    const host = hostConnect(b.url, code, hostToken);
    const display = displayConnect(a.url, code);
    await Promise.all([connected(host), connected(display)]);
    const students = await joinStudents(STUDENTS, code, () => a.url);
    await startGame(host, students, 'question:opened (B → A through the adapter)');

    const acked: AckedAnswers = new Map();
    const answer = (i: number) => ({ questionId: 'q1', answer: { type: 'single', choice: i % 3 } });
    for (let i = 0; i < BEFORE; i++) {
      expect(await tracked(students[i]!.socket, 'answer:submit', answer(i)).promise).toMatchObject({ ok: true });
      recordAck(acked, 'q1', students[i]!.playerId, choiceSummary(i % 3));
    }

    // ---- Redis goes away
    await shutdownRedis(redis.url);
    await Promise.all([waitHealth(a.url, 503), waitHealth(b.url, 503)]);
    const health = (await (await fetch(`${a.url}/healthz`)).json()) as { ok: boolean; redis: string };
    expect(health).toMatchObject({ ok: false, redis: 'down' });

    // Answers: refused with the retryable error, not acked. The sockets stay connected.
    const during = await Promise.all(students.slice(BEFORE).map((s, j) => tracked(s.socket, 'answer:submit', answer(BEFORE + j)).promise));
    for (const ack of during) expect(ack).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    // Even a second answer of someone already stored cannot be judged now: UNAVAILABLE, not ALREADY_ANSWERED or ok.
    expect(await tracked(students[0]!.socket, 'answer:submit', answer(0)).promise).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    // Host commands too (no half-done close).
    expect(await request(host, 'question:close', {})).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    // A newcomer's handshake is refused as retryable.
    const handshake = await new Promise<{ code?: string }>((resolve) => {
      const probe = ioClient(a.url, { auth: { role: 'display', code }, transports: ['websocket'], reconnection: false, forceNew: true });
      probe.once('connect', () => {
        probe.disconnect();
        resolve({ code: 'CONNECTED' });
      });
      probe.once('connect_error', (err) => {
        probe.disconnect();
        resolve((err as Error & { data?: { code?: string } }).data ?? {});
      });
    });
    expect(handshake.code).toBe('UNAVAILABLE');
    expect(students.every((s) => s.socket.connected)).toBe(true);
    // A broadcast through C's adapter while Redis is down (what the broadcaster does for any
    // session update): its publish waits in the pub client's offline queue...
    c.io.to(rooms.display(code)).emit('server:restarting', { retryAfterMs: 1000 });
    // ...and a graceful close during the outage does not hang on the unreachable Redis; it
    // destroys the pub client, which rejects that publish: caught, not an unhandled rejection.
    await within(c.close(), 3000, 'a graceful close while Redis is down');
    await new Promise<void>((resolve) => setImmediate(resolve)); // let Node report any unhandled rejection
    expect(unhandled).toEqual([]);

    // ---- Redis comes back (same data dir)
    await redis.restart();
    await Promise.all([waitHealth(a.url, 200), waitHealth(b.url, 200)]);
    // At once: a broadcast from B (the host locks the room) reaches the display on A. Healthy
    // must mean the adapter is subscribed again too, or this broadcast would be lost.
    const lockedOnA = next(display, 'display:view', (v) => v.locked);
    await hostCommand(host, 'room:lock');
    await within(lockedOnA, 3000, 'the lock (B → A through the adapter) right after recovery');

    // The refused answers are retried and now stored (exactly once).
    let alreadyStored = 0;
    for (let j = 0; j < STUDENTS - BEFORE; j++) {
      const i = BEFORE + j;
      const { ack } = await retryWhileUnavailable(() => tracked(students[i]!.socket, 'answer:submit', answer(i)).promise);
      if (!ack.ok && ack.error.code === 'ALREADY_ANSWERED') alreadyStored++;
      else expect(ack, `retry of student ${i + 1}`).toMatchObject({ ok: true });
      recordAck(acked, 'q1', students[i]!.playerId, choiceSummary(i % 3));
    }
    // Sent while Redis was known to be down (healthz 503): none can have been stored.
    expect(alreadyStored).toBe(0);

    // Host commands on B reach the students on A: A's adapter subscription is back.
    const closed = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'closed'));
    const displayClosed = next(display, 'display:view', (v) => v.phase === 'closed');
    await hostCommand(host, 'question:close');
    const closedViews = await within(Promise.all(closed), 5000, 'the close (B → A) on every student');
    await within(displayClosed, 5000, 'the close on the display');
    expect(closedViews.every((v) => v.phase === 'closed')).toBe(true);

    // And the game goes on to the end: a second question, all answer, end.
    const opened2 = students.map((s) => next(s.socket, 'question:opened'));
    await hostCommand(host, 'question:next');
    await within(Promise.all(opened2), 5000, 'question 2 on every student');
    const acks2 = await Promise.all(students.map((s, i) => tracked(s.socket, 'answer:submit', { questionId: 'q2', answer: { type: 'truefalse', value: i % 2 === 0 } }).promise));
    acks2.forEach((ack, i) => {
      expect(ack).toMatchObject({ ok: true });
      recordAck(acked, 'q2', students[i]!.playerId, tfSummary(i % 2 === 0));
    });
    await hostCommand(host, 'question:close');
    const finished = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'finished'));
    await hostCommand(host, 'game:end');
    const finalViews = await within(Promise.all(finished), 5000, 'the end on every student');

    expectExactlyTheAcked(await resultsAt(a.url, code, cookie), students, acked, new Map(finalViews.map((v) => [v.me.playerId, v.final!.score])));
    expect(unhandled).toEqual([]);
  });
});
