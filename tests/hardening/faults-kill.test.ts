/**
 * Issue 7, part 4 — kill -9 of the server process mid-question (Redis mode), with real
 * processes: the server is `node --import tsx server/src/main.ts` (what `npm start` runs),
 * killed with SIGKILL and started again on the same port. Host, display and 20 students are
 * socket.io-clients with their own reconnection loop: nobody reconnects them by hand.
 *
 * Proves:
 * - every client reconnects by itself to the new process and gets its full view back, the
 *   students as the same players (same playerId, their stored answer shown);
 * - the question closes by its *stored* deadline: the new process picks the deadline up from
 *   Redis (startup sweep → timer) when it comes back before it, and its sweeper closes the
 *   question at once when the deadline passed while no process was running;
 * - every acknowledged answer is in the results export exactly once with the acknowledged
 *   content, refused answers (TOO_LATE, only after the deadline) are not, nobody is
 *   duplicated, and every total is the sum of its rows (and the score the student was shown).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAllClients, connected, joinStudent, type ClientSocket } from '../support/quizroom.ts';
import { startRedisServer, type RunningRedis } from '../support/redis-server.ts';
import { killAllServerChildren, startServerChild, type ServerChild } from '../support/server-child.ts';
import {
  choiceSummary,
  createSessionAt,
  displayConnect,
  expectExactlyTheAcked,
  faultBank,
  hostCommand,
  hostConnect,
  hostViewWhere,
  loginAt,
  reconnection,
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
const GRACE_MS = 600; // maxLatencyCompensationMs: the deadline timer fires at deadline + grace
const OPTIONS = { timeMultiplier: 0.25, maxLatencyCompensationMs: GRACE_MS };
// × timeMultiplier 0.25: a 40 s question runs 10 s, so it survives a restart (which takes
// 1–4 s on a loaded machine) and the rest of the room answers on the new process; a 20 s one
// runs 5 s, and we let its deadline pass while no process runs.
const SURVIVES_RESTART_S = 40;
const EXPIRES_WHILE_DOWN_S = 20;

type Student = Awaited<ReturnType<typeof joinStudent>>;

describe('faults: kill -9 the server mid-question (Redis, real processes)', () => {
  let redis: RunningRedis;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await killAllServerChildren();
    await redis?.stop();
  });

  /** One process with a session, host, display and 20 students, the first question open. */
  async function gameWithOpenQuestion(timeLimitSec: number) {
    const first = await startServerChild({ redisUrl: redis.url });
    const cookie = await loginAt(first.url);
    const { code, hostToken } = await createSessionAt(first.url, cookie, faultBank(timeLimitSec), OPTIONS);
    const host = hostConnect(first.url, code, hostToken);
    const display = displayConnect(first.url, code);
    await Promise.all([connected(host), connected(display)]);
    const students: Student[] = await joinStudents(STUDENTS, code, () => first.url);
    const question = await startGame(host, students);
    const deadline = question[0]!.deadline!;
    expect(question.every((q) => q.question.id === 'q1' && q.deadline === deadline)).toBe(true);
    return { first, cookie, code, host, display, students, deadline };
  }

  /** Half the room answers; every ack is ok. */
  async function firstHalfAnswers(students: Student[], acked: AckedAnswers) {
    const half = students.slice(0, STUDENTS / 2);
    const acks = await Promise.all(half.map((s, i) => tracked(s.socket, 'answer:submit', { questionId: 'q1', answer: { type: 'single', choice: i % 3 } }).promise));
    acks.forEach((ack, i) => {
      expect(ack).toMatchObject({ ok: true });
      recordAck(acked, 'q1', half[i]!.playerId, choiceSummary(i % 3));
    });
  }

  /** kill -9, then a new process on the same port; resolves once every client is back with its view. */
  async function crashAndRestart(
    first: ServerChild,
    clients: { host: ClientSocket; display: ClientSocket; students: Student[] },
    beforeRestart: () => Promise<void> = async () => undefined,
  ) {
    const hostBack = reconnection(clients.host, 'host:view');
    const displayBack = reconnection(clients.display, 'display:view');
    const studentsBack = clients.students.map((s) => reconnection(s.socket, 'student:view'));
    first.kill9();
    expect((await within(first.exited, 5000, 'the killed process to exit')).signal).toBe('SIGKILL');
    await beforeRestart();
    const second = await startServerChild({ redisUrl: redis.url, port: first.port });
    const [host, display, students] = await within(Promise.all([hostBack, displayBack, Promise.all(studentsBack)]), 15_000, 'every client to reconnect to the new process');
    // A crash is not a goodbye: the clients saw the transport go, and reconnected on their own.
    for (const r of [host, display, ...students]) expect(r.reason).toMatch(/^transport (close|error)$/);
    students.forEach((r, i) => {
      const s = clients.students[i]!;
      expect(r.view.me.playerId).toBe(s.playerId); // the same player, not a new one
      expect(r.view.me.nickname).toBe(s.nickname);
    });
    return { second, views: students.map((r) => r.view), hostView: host.view, displayView: display.view };
  }

  /** Reveal and end; every student's finished view (their own final score). */
  async function finish(host: ClientSocket, students: Student[]) {
    const revealed = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'reveal'));
    await hostCommand(host, 'question:reveal');
    await within(Promise.all(revealed), 5000, 'the reveal on every student');
    const finished = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'finished'));
    await hostCommand(host, 'game:end');
    const views = await within(Promise.all(finished), 5000, 'the end on every student');
    return new Map(views.map((v) => [v.me.playerId, v.final!.score]));
  }

  it('restarted before the deadline: everyone reconnects, the rest answer, the question closes at its stored deadline, every ack counts once', { timeout: 60_000 }, async () => {
    const { first, cookie, code, host, display, students, deadline } = await gameWithOpenQuestion(SURVIVES_RESTART_S);
    const acked: AckedAnswers = new Map();
    await firstHalfAnswers(students, acked);
    const closedAt = hostViewWhere(host, (v) => v.phase === 'closed').then((v) => ({ at: Date.now(), view: v }));

    const { second, views } = await crashAndRestart(first, { host, display, students });
    views.forEach((v, i) => {
      // The answer each student sent before the crash is still theirs (and nobody else's answer showed up).
      if (i < STUDENTS / 2) expect(v.myAnswer?.answer).toEqual({ type: 'single', choice: i % 3 });
      else if (v.phase === 'open') expect(v.myAnswer).toBeNull();
    });

    // The other half answers now, on the new process: accepted while the stored deadline has
    // not passed, TOO_LATE only once it has (both hold whatever the restart took).
    const rest = students.slice(STUDENTS / 2);
    const late = rest.map((s, i) => tracked<{ receivedAt: number }>(s.socket, 'answer:submit', { questionId: 'q1', answer: { type: 'single', choice: (i + 1) % 3 } }));
    const acks = await within(Promise.all(late.map((t) => t.promise)), 5000, 'acks of the second half');
    acks.forEach((ack, i) => {
      const { sentAt, arrivedAt } = late[i]!;
      if (ack.ok) {
        expect(ack.data.receivedAt).toBeLessThanOrEqual(deadline + GRACE_MS);
        recordAck(acked, 'q1', rest[i]!.playerId, choiceSummary((i + 1) % 3));
      } else {
        expect(ack.error.code).toBe('TOO_LATE');
        expect(arrivedAt!).toBeGreaterThan(deadline); // refused only once the stored deadline had passed
      }
      if (arrivedAt! < deadline) expect(ack.ok, 'answered on the new process before the deadline').toBe(true);
      if (sentAt > deadline + GRACE_MS) expect(ack.ok, 'answered after deadline + grace').toBe(false);
    });

    // Nobody closed it early: the new process's timer fires at the stored deadline (+ grace), not later than a sweep after it.
    const closed = await within(closedAt, Math.max(1000, deadline + GRACE_MS + 5000 - Date.now()), 'the question to close by its deadline');
    expect(closed.at).toBeGreaterThanOrEqual(deadline);
    expect(closed.at).toBeLessThan(deadline + GRACE_MS + 2500);
    expect(closed.view.distribution?.answered).toBe(acked.get('q1')!.size);

    const finalScores = await finish(host, students);
    expectExactlyTheAcked(await resultsAt(second.url, code, cookie), students, acked, finalScores);
    expect(await second.sigterm()).toBe(0);
  });

  it('the deadline passes while no process runs: the new process closes it at once; late answers are TOO_LATE; every ack counts once', { timeout: 60_000 }, async () => {
    const { first, cookie, code, host, display, students, deadline } = await gameWithOpenQuestion(EXPIRES_WHILE_DOWN_S);
    const acked: AckedAnswers = new Map();
    await firstHalfAnswers(students, acked);
    const closedViews = students.map((s) => studentViewWhere(s.socket, (v) => v.phase === 'closed'));
    const hostClosed = hostViewWhere(host, (v) => v.phase === 'closed');
    let restartedAt = 0;
    expect(Date.now(), 'the crash must come before the deadline (machine too slow?)').toBeLessThan(deadline);

    const { second } = await crashAndRestart(first, { host, display, students }, async () => {
      // The one wait on the clock: the fault *is* "the stored deadline passes while no
      // process runs", so we wait for that instant (deadline + grace), nothing more.
      const remaining = deadline + GRACE_MS + 50 - Date.now();
      if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
      restartedAt = Date.now();
    });
    // Nobody could close it while no process ran; the new process's sweeper did.
    const closedView = await within(hostClosed, 5000, 'the new process to close the overdue question');
    await within(Promise.all(closedViews), 5000, 'every student to see it closed');
    expect(restartedAt).toBeGreaterThan(deadline + GRACE_MS);
    expect(closedView.distribution?.answered).toBe(STUDENTS / 2);

    // The others try now: too late, and not stored.
    const rest = students.slice(STUDENTS / 2);
    const acks = await Promise.all(rest.map((s) => tracked(s.socket, 'answer:submit', { questionId: 'q1', answer: { type: 'single', choice: 1 } }).promise));
    for (const ack of acks) expect(ack).toMatchObject({ ok: false, error: { code: 'TOO_LATE' } });

    const finalScores = await finish(host, students);
    expectExactlyTheAcked(await resultsAt(second.url, code, cookie), students, acked, finalScores);
    expect(await second.sigterm()).toBe(0);
  });
});
