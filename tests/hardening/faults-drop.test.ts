/**
 * Issue 7, part 4 — 30% of the students lose their connection during an answer window.
 * 30 students on a server with the Redis store; 9 of them reach it through a TCP proxy whose
 * "network" we cut (every connection reset, new ones refused) and restore. Their
 * socket.io-clients notice, keep trying to reconnect on their own, and get back when the
 * network does.
 *
 * The requirement's "for 10 s" is not a sleep here: the drop lasts across a server-side event
 * instead — the host closes the question while they are offline — which is what makes a
 * drop interesting (an answer window ends while you are gone) and keeps the test fast.
 *
 * Proves:
 * - the server sees them go (host view: not connected) and come back (connected), and they
 *   come back as the same players (same playerId in their resync view, nobody new joined);
 * - answers they sent and had acked before the drop count exactly once; an answer in flight
 *   when the network went is either stored (and then shown to the student on return and
 *   counted once) or not at all — never acked ok yet missing;
 * - answers socket.io-client buffered while they were offline (a first answer, or a resend of
 *   an acked one) are delivered on reconnection into the closed question and refused with
 *   TOO_LATE, not stored: the export shows only what was acked.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { closeAllClients, connected, startServer } from '../support/quizroom.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import {
  choiceSummary,
  createSessionAt,
  expectExactlyTheAcked,
  faultBank,
  hostCommand,
  hostConnect,
  hostViewWhere,
  loginAt,
  once,
  reconnection,
  recordAck,
  resultsAt,
  studentViewWhere,
  TcpProxy,
  tracked,
  within,
  type AckedAnswers,
  joinStudents,
  startGame,
} from './fault-helpers.ts';

const STUDENTS = 30;
const DROPPED = 9; // 30%
const answer = (choice: number) => ({ questionId: 'q1', answer: { type: 'single', choice } });

describe('faults: 30% of the students drop during an answer window', () => {
  let redis: RunningRedis;
  let server: RunningServer;
  let proxy: TcpProxy;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServer({ redisUrl: redis.url });
    proxy = await TcpProxy.start(server.port);
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
    await redis?.stop();
  });

  it('they come back as the same players; acked answers count once; answers buffered offline are refused TOO_LATE, not replayed into the closed question', async () => {
    const cookie = await loginAt(server.url);
    const { code, hostToken } = await createSessionAt(server.url, cookie, faultBank(60), { maxLatencyCompensationMs: 0 }); // 60 s window
    const host = hostConnect(server.url, code, hostToken);
    await connected(host);
    const students = await joinStudents(STUDENTS, code, (i) => (i < DROPPED ? proxy.url : server.url));
    const dropped = students.slice(0, DROPPED);
    const steady = students.slice(DROPPED);
    await startGame(host, students);

    const acked: AckedAnswers = new Map();
    const submit = async (s: (typeof students)[number], choice: number) => {
      const ack = await tracked(s.socket, 'answer:submit', answer(choice)).promise;
      expect(ack, `${s.nickname}'s answer`).toMatchObject({ ok: true });
      recordAck(acked, 'q1', s.playerId, choiceSummary(choice));
    };
    // Before the drop: 6 of the 9 and half of the others answer, acked.
    await Promise.all(dropped.slice(0, 6).map((s, i) => submit(s, i % 3)));
    await Promise.all(steady.slice(0, 10).map((s, i) => submit(s, (i + 1) % 3)));

    // ---- the network of 9 students goes away
    const back = dropped.map((s) => reconnection(s.socket, 'student:view'));
    const gone = dropped.map((s) => once(s.socket, 'disconnect'));
    const hostSeesThemGone = hostViewWhere(host, (v) => dropped.every((d) => v.players.find((p) => p.playerId === d.playerId)?.connected === false));
    // The last 3 send an answer that is still in flight when the network goes: it may or may
    // not reach the server, and its ack may or may not come back.
    const inFlight = dropped.slice(6, 9).map((s) => tracked<unknown>(s.socket, 'answer:submit', answer(0)));
    proxy.drop();
    await within(Promise.all(gone), 5000, 'the dropped students to notice');
    await within(hostSeesThemGone, 5000, 'the host to see them disconnected');

    // Offline, their app still submits: 3 resend an answer that was already acked, the 3 whose
    // answer was in flight submit another. socket.io-client buffers these emits and sends them
    // when it reconnects.
    const buffered = [
      ...dropped.slice(0, 3).map((s) => ({ s, t: tracked(s.socket, 'answer:submit', answer(2)) })),
      ...dropped.slice(6, 9).map((s) => ({ s, t: tracked(s.socket, 'answer:submit', answer(1)) })),
    ];
    for (const { s } of buffered) expect(s.socket.sendBuffer.length, `${s.nickname}'s offline emit is buffered`).toBe(1);

    // Meanwhile the room goes on: the rest answer, the host closes the question.
    await Promise.all(steady.slice(10).map((s, i) => submit(s, i % 3)));
    const steadyClosed = steady.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'closed'));
    await hostCommand(host, 'question:close');
    await within(Promise.all(steadyClosed), 5000, 'the close on the connected students');
    expect(buffered.every(({ t }) => t.arrived === undefined)).toBe(true); // still offline: nothing was sent

    // ---- the network comes back: they reconnect by themselves
    const hostSeesAll = hostViewWhere(host, (v) => v.players.length === STUDENTS && v.players.every((p) => p.connected));
    proxy.restore();
    const returns = await within(Promise.all(back), 10_000, 'the dropped students to reconnect');
    returns.forEach(({ view }, i) => {
      expect(view.me.playerId).toBe(dropped[i]!.playerId); // the same player
      expect(view.phase).toBe('closed');
      // What they see as their answer is what was acked before the drop.
      if (i < 6) expect(view.myAnswer?.answer).toEqual({ type: 'single', choice: i % 3 });
      else {
        // The in-flight answer: shown to them exactly when it was stored; an ok ack means it was.
        const t = inFlight[i - 6]!;
        if (t.arrived?.ok) expect(view.myAnswer?.answer).toEqual({ type: 'single', choice: 0 });
        else if (t.arrived) expect(view.myAnswer).toBeNull();
        if (view.myAnswer) {
          expect(view.myAnswer.answer).toEqual({ type: 'single', choice: 0 });
          recordAck(acked, 'q1', dropped[i]!.playerId, choiceSummary(0)); // stored: the export must show it, once
        }
      }
    });
    await within(hostSeesAll, 5000, 'the host to see all 30 connected');

    // The buffered emits went out on reconnection and were refused: the question had closed.
    const replayed = await within(Promise.all(buffered.map(({ t }) => t.promise)), 5000, 'acks of the buffered answers');
    for (const ack of replayed) expect(ack).toMatchObject({ ok: false, error: { code: 'TOO_LATE' } });

    const revealed = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'reveal'));
    await hostCommand(host, 'question:reveal');
    await within(Promise.all(revealed), 5000, 'the reveal on every student');
    const finished = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'finished'));
    await hostCommand(host, 'game:end');
    const finalViews = await within(Promise.all(finished), 5000, 'the end on every student');

    expect(acked.get('q1')!.size).toBeGreaterThanOrEqual(6 + STUDENTS - DROPPED);
    expectExactlyTheAcked(await resultsAt(server.url, code, cookie), students, acked, new Map(finalViews.map((v) => [v.me.playerId, v.final!.score])));
  });
});
