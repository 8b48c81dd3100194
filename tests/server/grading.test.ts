/**
 * Open-ended scenarios end to end on a real Redis: 30 students write, the instructor grades
 * while the next question runs, totals and export follow, grades survive a server restart,
 * and two consoles see each other's grades.
 */
import { Bank, type GradingItem } from '@quizroom/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/server.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { closeAllClients, connect, connected, createSession, joinStudent, login, next, ok, request, startServer } from '../support/quizroom.ts';

const source = { file: '000_d4021d9acab3aacc.txt', section: 'Open Ended Questions' };
const scenarioBank = Bank.parse({
  id: 'grading-bank',
  title: 'Grading',
  description: 'Open question then a choice question with a justification',
  language: 'en',
  questions: [
    {
      id: 'fintech',
      type: 'open',
      prompt: 'What would you propose to a fintech company? Justify your answer.',
      timeLimit: 120,
      points: 1000,
      explanation: 'VMs around the sensitive data tier, containers for fast development.',
      source,
      rubric: [
        { id: 'iso', label: 'Isolation', points: 3, description: 'VMs (or dedicated hosts) for the sensitive data tier' },
        { id: 'speed', label: 'Speed', points: 2, description: 'Containers for day-to-day development and CI' },
      ],
    },
    {
      id: 'why-vm',
      type: 'single',
      prompt: 'Which gives the stronger isolation boundary?',
      timeLimit: 120,
      explanation: 'A VM has its own kernel.',
      source,
      choices: [{ text: 'A VM', correct: true }, { text: 'A container' }],
      justify: { prompt: 'Why?', points: 500, rubric: [{ id: 'kernel', label: 'Kernel', points: 2, description: 'Own kernel vs shared kernel' }] },
    },
  ],
});

describe('grading open-ended answers (real Redis)', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let server: RunningServer;
  let cookie: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServer({ redisUrl: redis.url, banks: [scenarioBank] });
    cookie = await login(server);
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('30 students answer, the instructor grades during the next question; totals, leaderboard, export and a restart keep every grade', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'grading-bank', { maxLatencyCompensationMs: 0 });
    const host = connect(server.url, { role: 'host', code, hostToken });
    const second = connect(server.url, { role: 'host', code, hostToken }); // a second instructor console
    await Promise.all([connected(host), connected(second)]);
    const display = connect(server.url, { role: 'display', code });
    await connected(display);

    const students: Awaited<ReturnType<typeof joinStudent>>[] = [];
    for (let i = 0; i < 30; i++) students.push(await joinStudent(server.url, code, `Student ${i + 1}`));
    const opened = students.map((s) => next(s.socket, 'question:opened'));
    await ok(request(host, 'game:start', {}));
    await Promise.all(opened);

    // Everyone writes; a third give the same answer (the queue can group them).
    const texts = students.map((_, i) => (i % 3 === 0 ? 'VMs for the data, containers for dev.' : `Answer number ${i}: containers everywhere`));
    const live: GradingItem[] = [];
    host.on('grade:updated', (item) => live.push(item));
    await Promise.all(students.map((s, i) => ok(request(s.socket, 'answer:submit', { questionId: 'fintech', answer: { type: 'open', text: texts[i] } }))));
    // An edit before the deadline replaces the text (A5).
    await ok(request(students[1]!.socket, 'answer:submit', { questionId: 'fintech', answer: { type: 'open', text: 'Edited: VMs for data.' } }));

    await ok(request(host, 'question:close', {}));
    const nextOpened = next(students[0]!.socket, 'question:opened');
    await ok(request(host, 'question:next', {}));
    await nextOpened;
    expect(live.filter((i) => i.questionId === 'fintech').length).toBeGreaterThanOrEqual(30); // responses arrived live

    // Grade all 30 while the next question is open: full marks for even students, 2+1 for odd ones.
    const queue = await ok<GradingItem[]>(request(host, 'grade:list', { questionId: 'fintech' }));
    expect(queue).toHaveLength(30);
    expect(queue.find((i) => i.playerId === students[1]!.playerId)!.text).toBe('Edited: VMs for data.');
    const seenBySecond: GradingItem[] = [];
    second.on('grade:updated', (item) => item.grade && seenBySecond.push(item));
    const graded = students[0]!.socket;
    const gradedView = next(graded, 'student:view', (v) => v.grades.length === 1);
    for (const [i, s] of students.entries()) {
      const marks = i % 2 === 0 ? { iso: 3, speed: 2 } : { iso: 2, speed: 1 };
      const item = await ok<GradingItem>(request(host, 'grade:save', { questionId: 'fintech', playerId: s.playerId, marks, comment: i === 0 ? 'Spot on.' : '' }));
      expect(item.grade!.points).toBe(i % 2 === 0 ? 1000 : 600);
    }
    const mine = await gradedView;
    expect(mine.grades[0]!.grade).toMatchObject({ points: 1000, comment: 'Spot on.', maxMarks: 5 });

    // The other console saw every grade (no lost update), and a regrade from it wins (last write wins).
    await expect.poll(() => seenBySecond.length).toBeGreaterThanOrEqual(30);
    const regrade = await ok<GradingItem>(request(second, 'grade:save', { questionId: 'fintech', playerId: students[1]!.playerId, marks: { iso: 3, speed: 2 }, comment: 'Regraded' }));
    expect(regrade.grade!.version).toBe(2);

    // Graded points count on the live leaderboard (gradedPointsLive defaults to on).
    const hostView = await ok(request(host, 'host:sync', {}));
    const total = (id: string) => hostView.leaderboard.find((e: { playerId: string }) => e.playerId === id)!.score;
    expect(total(students[0]!.playerId)).toBe(1000);
    expect(total(students[1]!.playerId)).toBe(1000);
    expect(total(students[3]!.playerId)).toBe(600);

    // Spotlight: the display sees that one response, anonymous unless the student allowed the name.
    const spot = next(display, 'display:view', (v) => v.spotlight !== null);
    await ok(request(host, 'spotlight:set', { questionId: 'fintech', playerId: students[0]!.playerId }));
    expect((await spot).spotlight).toMatchObject({ text: texts[0], author: null, grade: { points: 1000 } });

    // Export holds every rubric score.
    const json = (await (await fetch(`${server.url}/api/sessions/${code}/results.json`, { headers: { cookie } })).json()) as {
      rows: { questionId: string; nickname: string; rubricMarks: Record<string, number> | null; comment: string | null; gradedAt: string | null }[];
    };
    const fintechRows = json.rows.filter((r) => r.questionId === 'fintech');
    expect(fintechRows.filter((r) => r.rubricMarks !== null)).toHaveLength(30);
    expect(fintechRows.find((r) => r.nickname === 'Student 1')).toMatchObject({ rubricMarks: { iso: 3, speed: 2 }, comment: 'Spot on.' });

    // Restart the server on the same Redis: every grade is still there.
    await server.close();
    closeAllClients();
    server = await startServer({ redisUrl: redis.url, banks: [scenarioBank] });
    const back = connect(server.url, { role: 'host', code, hostToken });
    await connected(back);
    const after = await ok<GradingItem[]>(request(back, 'grade:list', { questionId: 'fintech' }));
    expect(after.filter((i) => i.grade !== null)).toHaveLength(30);
    expect(after.find((i) => i.playerId === students[1]!.playerId)!.grade).toMatchObject({ comment: 'Regraded', version: 2, points: 1000 });
  });

  it('a student cannot grade, read the queue or see a rubric; a display sees no responses but the spotlight', async () => {
    const { code, hostToken } = await createSession(server, cookie, 'grading-bank');
    const host = connect(server.url, { role: 'host', code, hostToken });
    await connected(host);
    const ada = await joinStudent(server.url, code, 'Ada');
    const bob = await joinStudent(server.url, code, 'Bob');
    const display = connect(server.url, { role: 'display', code });
    await connected(display);
    const wire: string[] = [];
    for (const s of [ada.socket, display]) s.onAny((e, p) => wire.push(`${e} ${JSON.stringify(p)}`));
    const opened = next(ada.socket, 'question:opened');
    await ok(request(host, 'game:start', {}));
    await opened;
    await ok(request(bob.socket, 'answer:submit', { questionId: 'fintech', answer: { type: 'open', text: 'Bob secret answer' } }));
    await ok(request(ada.socket, 'answer:submit', { questionId: 'fintech', answer: { type: 'open', text: 'Ada answer' } }));
    await ok(request(host, 'question:close', {}));

    expect(await request(ada.socket, 'grade:save', { questionId: 'fintech', playerId: bob.playerId, marks: { iso: 3, speed: 2 } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await request(ada.socket, 'grade:list', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await request(display, 'grade:list', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await ok(request(ada.socket, 'student:sync', {}));
    await ok(request(display, 'display:sync', {}));
    const seen = wire.join('\n');
    expect(seen).not.toContain('Bob secret answer');
    expect(seen).not.toMatch(/Containers for day-to-day|"rubric"/);
  });
});
