/**
 * What leaves the server (P1–P5), and the live/final leaderboard rule R3. Views are checked
 * as serialized JSON, i.e. exactly what would go over the socket.
 */
import { describe, expect, it } from 'vitest';
import { rubricOf, type AnswerInput, type SessionOptionsInput } from '@quizroom/shared';
import type { Command } from './commands.ts';
import { computeRanking } from './ranking.ts';
import { displayView, hostView, spotlightView, studentView, StudentViews } from './projections.ts';
import type { GameState } from './state.ts';
import { answerCmd, apply, game, joinAll, openQuestionAt, orderAnswer, pid, player, Q, QI, question, QUESTIONS, T0 } from './test-fixtures.ts';

const ADA = pid('Ada');
const BOB = pid('Bob');
const CY = pid('Cy');

/** Per question: Bob's answer (right, with secret texts where there is text) and Ada's (wrong where possible). */
function answersFor(s: GameState, qid: string): { bob: Command; ada: Command } {
  const a = (playerId: string, ans: AnswerInput, justification?: string) =>
    answerCmd(playerId, qid, ans, justification === undefined ? {} : { justification });
  switch (qid) {
    case Q.single:
      return { bob: a(BOB, { type: 'single', choice: 1 }), ada: a(ADA, { type: 'single', choice: 0 }) };
    case Q.multi:
      return { bob: a(BOB, { type: 'multi', choices: [0, 2] }), ada: a(ADA, { type: 'multi', choices: [1] }) };
    case Q.tf:
      return { bob: a(BOB, { type: 'truefalse', value: true }), ada: a(ADA, { type: 'truefalse', value: false }) };
    case Q.short:
      return { bob: a(BOB, { type: 'short', text: 'SECRET-BOB-SHORT' }), ada: a(ADA, { type: 'short', text: 'kernel' }) };
    case Q.numeric:
      return { bob: a(BOB, { type: 'numeric', value: 100 }), ada: a(ADA, { type: 'numeric', value: 42 }) };
    case Q.order:
      return { bob: a(BOB, orderAnswer(s, [0, 1, 2, 3])), ada: a(ADA, { type: 'order', order: [0, 1, 2, 3] }) };
    case Q.poll:
      return { bob: a(BOB, { type: 'poll', choices: [2] }), ada: a(ADA, { type: 'poll', choices: [0] }) };
    case Q.open:
      return { bob: a(BOB, { type: 'open', text: 'SECRET-BOB-OPEN answer' }), ada: a(ADA, { type: 'open', text: 'Ada own open text' }) };
    case Q.justify:
      return { bob: a(BOB, { type: 'single', choice: 1 }, 'SECRET-BOB-WHY'), ada: a(ADA, { type: 'single', choice: 0 }, 'Ada own reason') };
    default:
      throw new Error(qid);
  }
}

/** Things no one but the host may see before reveal. */
const SOLUTION_MARKERS = [/correct/i, /"solution"/, /"explanation"/, /EXPL-/, /"accept"/, /Hypervisor/i, /VMM/i, /"value":100\b/];
/** Things a student or the display never sees: the rubric, and other students' texts. */
const RUBRIC_MARKERS = [/RUBRIC-DESC/, /crit-/, /"rubric"/, /"label"/, /"description"/];
const BOB_SECRETS = [/SECRET-BOB/i];

function expectNone(json: string, patterns: RegExp[], where: string) {
  for (const p of patterns) expect(json, `${where}: ${p}`).not.toMatch(p);
}

/**
 * Walks one question through every phase and collects the serialized views at each:
 * lobby (first question only), open before and after the answers, paused, closed, then
 * reveal, leaderboard and finished.
 */
function phasesOf(qid: string, view: (s: GameState) => unknown, opts: SessionOptionsInput = {}) {
  const before: [string, string][] = [];
  const after: [string, string][] = [];
  const snap = (list: [string, string][], label: string, s: GameState) => list.push([`${qid}/${label}`, JSON.stringify(view(s))]);
  let s = joinAll(game(opts), ['Ada', 'Bob', 'Cy']);
  snap(before, 'lobby', s);
  s = openQuestionAt(s, QI[qid]!, T0);
  snap(before, 'open', s);
  const { bob, ada } = answersFor(s, qid);
  s = apply(s, bob, T0 + 1000);
  snap(before, 'open, Bob answered', s);
  s = apply(s, ada, T0 + 2000);
  snap(before, 'open, both answered', s);
  s = apply(s, { type: 'pause' }, T0 + 3000);
  snap(before, 'paused', s);
  s = apply(s, { type: 'resume' }, T0 + 4000);
  s = apply(s, { type: 'close' }, T0 + 5000);
  snap(before, 'closed', s);
  s = apply(s, { type: 'reveal' }, T0 + 6000);
  snap(after, 'reveal', s);
  s = apply(s, { type: 'leaderboard' }, T0 + 7000);
  snap(after, 'leaderboard', s);
  s = apply(s, { type: 'end' }, T0 + 8000);
  snap(after, 'finished', s);
  return { before, after, state: s };
}

describe('P1 student view', () => {
  it('P1: before reveal a student view carries no correct flag, solution, explanation, rubric, or other student\'s answer', () => {
    for (const q of QUESTIONS) {
      const { before } = phasesOf(q.id, (s) => studentView(s, ADA, T0));
      for (const [where, json] of before) {
        expectNone(json, [...SOLUTION_MARKERS, ...RUBRIC_MARKERS, ...BOB_SECRETS], where);
      }
    }
  });

  it('P1: after reveal it carries the solution, explanation and own result, still no rubric nor other students\' answers', () => {
    for (const q of QUESTIONS) {
      const { after } = phasesOf(q.id, (s) => studentView(s, ADA, T0));
      for (const [where, json] of after) {
        expect(json, where).toContain('"solution"');
        expect(json, where).toContain(q.explanation);
        expect(json, where).toContain('"result"');
        expectNone(json, [...RUBRIC_MARKERS, ...BOB_SECRETS], where);
      }
    }
  });

  it('P1: the revealed solution matches the question', () => {
    const { state } = phasesOf(Q.multi, (s) => s);
    const view = studentView(state, ADA, T0)!;
    expect(view.reveal?.solution).toEqual({ type: 'multi', correct: [0, 2] });
    expect(view.reveal?.result).toMatchObject({ questionId: Q.multi, answered: true, correct: false, fraction: 0, points: 0 });
    expect(studentView(phasesOf(Q.short, (s) => s).state, ADA, T0)?.reveal?.solution).toEqual({ type: 'short', accept: ['Hypervisor', 'VMM'] });
    expect(studentView(phasesOf(Q.numeric, (s) => s).state, ADA, T0)?.reveal?.solution).toEqual({ type: 'numeric', value: 100, tolerance: 5, unit: 'ms' });
    expect(studentView(phasesOf(Q.order, (s) => s).state, ADA, T0)?.reveal?.solution).toEqual({ type: 'order', items: ['Alpha', 'Bravo', 'Charlie', 'Delta'] });
  });

  it('P1: the public question has the choices without flags and the order items shuffled', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.single]!);
    expect(studentView(s, ADA, T0)?.question).toEqual({
      id: Q.single,
      index: 0,
      total: QUESTIONS.length,
      type: 'single',
      prompt: question(Q.single).prompt,
      timeLimitMs: 20_000,
      points: 1000,
      difficulty: 'medium',
      choices: ['Venus', 'Mars', 'Jupiter', 'Saturn'],
    });
    s = openQuestionAt(s, QI[Q.order]!);
    const items = studentView(s, ADA, T0)?.question?.items;
    expect(items).toEqual(s.session.current!.presented.map((i) => question(Q.order, 'order').items[i]));
    expect(items).not.toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    expect([...items!].sort()).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    s = openQuestionAt(s, QI[Q.justify]!);
    expect(studentView(s, ADA, T0)?.question?.justify).toEqual({ prompt: 'Why?', maxLength: 60 });
    expect(studentView(s, ADA, T0)?.deadline).toBe(s.session.current!.deadline);
  });

  it('P1: a student sees their own answer and justification, aggregate counts, and no one else\'s', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob', 'Cy']), QI[Q.justify]!);
    const { bob, ada } = answersFor(s, Q.justify);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    const ada1 = studentView(s, ADA, T0)!;
    expect(ada1.myAnswer).toEqual({ answer: { type: 'single', choice: 0 }, justification: 'Ada own reason' });
    expect(ada1.playerCount).toBe(3);
    expect(studentView(s, CY, T0)?.myAnswer).toBeNull();
    expect(JSON.stringify(studentView(s, CY, T0))).not.toMatch(/Ada own reason|SECRET-BOB/);
    s = apply(s, { type: 'kick', playerId: CY });
    expect(studentView(s, ADA, T0)?.playerCount).toBe(2);
  });

  it('P1: a student sees their own grade (never the rubric) and never another student\'s grade', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.open]!);
    const { bob, ada } = answersFor(s, Q.open);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    s = apply(s, { type: 'close' }, T0 + 3);
    s = apply(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks: { 'crit-kernel': 2, 'crit-boot': 1, 'crit-example': 0 }, comment: 'ADA-COMMENT', grader: 'host' }, T0 + 4);
    const mine = studentView(s, ADA, T0)!;
    expect(mine.grades).toEqual([
      {
        questionId: Q.open,
        prompt: question(Q.open).prompt,
        kind: 'open',
        grade: { marks: { 'crit-kernel': 2, 'crit-boot': 1, 'crit-example': 0 }, maxMarks: 6, points: 300, comment: 'ADA-COMMENT', gradedAt: T0 + 4, grader: 'host' },
      },
    ]);
    expectNone(JSON.stringify(mine), [/RUBRIC-DESC/, /"rubric"/, /"label"/, /"description"/, /SECRET-BOB/], 'graded student');
    const bobs = JSON.stringify(studentView(s, BOB, T0));
    expectNone(bobs, [/ADA-COMMENT/, /Ada own open text/, /crit-/, /RUBRIC-DESC/], 'other student');
    // After reveal the result carries the grade.
    s = apply(s, { type: 'reveal' });
    expect(studentView(s, ADA, T0)?.reveal?.result).toMatchObject({ answered: true, correct: null, awaitingGrade: false, grade: { points: 300 } });
    expect(studentView(s, BOB, T0)?.reveal?.result).toMatchObject({ answered: true, awaitingGrade: true, grade: null });
  });

  it('P1/P4: a student sees their own spotlight consent, and no one else\'s', () => {
    let s = joinAll(game(), ['Ada', 'Bob']);
    expect(studentView(s, ADA, T0)?.me.consent).toBe(false);
    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: true });
    expect(studentView(s, ADA, T0)?.me.consent).toBe(true);
    expect(studentView(s, BOB, T0)?.me.consent).toBe(false);
    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: false });
    expect(studentView(s, ADA, T0)?.me.consent).toBe(false);
  });

  it('P1: an unknown player has no view, also when the id names a property every object has', () => {
    for (const id of ['p-nobody', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(studentView(game(), id, T0), id).toBeNull();
  });

  it('P1: one StudentViews of a state gives each player the view studentView gives them, in every phase', () => {
    const players = [ADA, BOB, CY, 'p-nobody'];
    const { before, after } = phasesOf(Q.justify, (s) => {
      const ranking = computeRanking(s, 'live');
      const views = new StudentViews(s, T0, ranking);
      const built = players.map((p) => views.viewOf(p));
      // Built one after the other from one instance, no two views share a mutable part.
      expect(new Set(built.filter((v) => v !== null).map((v) => v!.grades)).size).toBe(3);
      return JSON.stringify(built) === JSON.stringify(players.map((p) => studentView(s, p, T0, ranking)));
    });
    for (const [phase, same] of [...before, ...after]) expect(same, phase).toBe('true');
  });
});

describe('P2 display view', () => {
  it('P2: before reveal the display carries no correct flag, solution, explanation, rubric or individual answer', () => {
    for (const q of QUESTIONS) {
      const { before } = phasesOf(q.id, (s) => displayView(s, T0));
      for (const [where, json] of before) {
        const view = JSON.parse(json) as ReturnType<typeof displayView>;
        expect(view.solution, where).toBeNull();
        expect(view.explanation, where).toBeNull();
        expectNone(json, [/correct/i, /EXPL-/, /"accept"/, /Hypervisor/i, ...RUBRIC_MARKERS, ...BOB_SECRETS, /Ada own/, /"myAnswer"/, /"answer"/], where);
      }
    }
  });

  it('P2: the distribution appears after close, counts only until reveal; the solution after reveal', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob', 'Cy']), QI[Q.single]!);
    const { bob, ada } = answersFor(s, Q.single);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    const open = displayView(s, T0);
    expect(open.distribution).toBeNull();
    expect(open.answeredCount).toBe(2);
    expect(open.playerCount).toBe(3);
    s = apply(s, { type: 'close' }, T0 + 3);
    expect(displayView(s, T0).distribution).toEqual({ answered: 2, eligible: 3, counts: [1, 1, 0, 0] });
    expect(displayView(s, T0).solution).toBeNull();
    s = apply(s, { type: 'reveal' }, T0 + 4);
    const revealed = displayView(s, T0);
    expect(revealed.distribution).toEqual({ answered: 2, eligible: 3, counts: [1, 1, 0, 0], correctCount: 1 });
    expect(revealed.solution).toEqual({ type: 'single', correct: [1] });
    expect(revealed.explanation).toBe(question(Q.single).explanation);
  });

  it('P2: short and numeric distributions show which answers are right only after reveal, and only answers several students gave', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob', 'Cy']), QI[Q.numeric]!);
    s = apply(s, answerCmd(ADA, Q.numeric, { type: 'numeric', value: 100 }), T0 + 1);
    s = apply(s, answerCmd(BOB, Q.numeric, { type: 'numeric', value: 100 }), T0 + 1);
    s = apply(s, answerCmd(CY, Q.numeric, { type: 'numeric', value: 7 }), T0 + 1);
    s = apply(s, { type: 'close' }, T0 + 2);
    expect(displayView(s, T0).distribution).toEqual({ answered: 3, eligible: 3 });
    s = apply(s, { type: 'reveal' }, T0 + 3);
    expect(displayView(s, T0).distribution).toEqual({
      answered: 3,
      eligible: 3,
      correctCount: 2,
      top: [{ value: '100', count: 2, correct: true }], // Cy's lone "7" stays off the projector
    });
    expect(hostView(s, T0).distribution!.top).toHaveLength(2);
  });

  it('P2: the only individual response on the display is the spotlighted one', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.open]!);
    const { bob, ada } = answersFor(s, Q.open);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    s = apply(s, { type: 'close' }, T0 + 3);
    for (const phase of ['closed', 'reveal', 'leaderboard', 'finished'] as const) {
      if (phase === 'reveal') s = apply(s, { type: 'reveal' });
      if (phase === 'leaderboard') s = apply(s, { type: 'leaderboard' });
      if (phase === 'finished') s = apply(s, { type: 'end' });
      const plain = JSON.stringify(displayView(s, T0));
      expectNone(plain, [/SECRET-BOB/, /Ada own open text/], `${phase}, no spotlight`);
      const lit = apply(s, { type: 'spotlight', questionId: Q.open, playerId: ADA });
      const view = displayView(lit, T0);
      expect(view.spotlight, phase).toEqual({ questionId: Q.open, prompt: question(Q.open).prompt, text: 'Ada own open text', author: null, grade: null });
      expectNone(JSON.stringify(view), [/SECRET-BOB/, ...RUBRIC_MARKERS], `${phase}, spotlight`);
    }
  });

  it('P2: a spotlighted justification shows the justification prompt', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.justify]!);
    const { bob, ada } = answersFor(s, Q.justify);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    s = apply(s, { type: 'close' }, T0 + 3);
    s = apply(s, { type: 'spotlight', questionId: Q.justify, playerId: ADA });
    const view = displayView(s, T0);
    expect(view.spotlight).toMatchObject({ questionId: Q.justify, prompt: 'Why?', text: 'Ada own reason', author: null });
    expectNone(JSON.stringify(view), [/SECRET-BOB/, /correct/i], 'justify spotlight before reveal');
  });
});

describe('P3 host view', () => {
  it('P3: the host sees the solution, explanation, rubric and the live distribution while the question is open', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob', 'Cy']), QI[Q.open]!);
    const { bob, ada } = answersFor(s, Q.open);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    const view = hostView(s, T0, (id) => id === ADA);
    expect(view.question?.solution).toEqual({ type: 'open' });
    expect(view.question?.explanation).toBe(question(Q.open).explanation);
    expect(view.question?.rubric?.map((c) => c.id)).toEqual(['crit-kernel', 'crit-boot', 'crit-example']);
    expect(view.question?.rubric?.[0]?.description).toMatch(/RUBRIC-DESC-kernel/);
    expect(view.distribution).toEqual({ answered: 2, eligible: 3 });
    expect(view.players.map((p) => [p.nickname, p.answeredCurrent, p.connected])).toEqual([
      ['Ada', true, true],
      ['Bob', true, false],
      ['Cy', false, false],
    ]);
    expect(view.questions.map((q) => q.hasRubric)).toEqual([false, false, false, false, false, false, false, true, true]);
    expect(view.deadline).toBe(s.session.current!.deadline);
  });

  it('P3: every question summary carries its rubric, so any question can be graded, not only the current one', () => {
    const view = hostView(joinAll(game(), ['Ada']), T0);
    const byId = new Map(view.questions.map((q) => [q.id, q]));
    expect(byId.get(Q.open)?.rubric).toEqual(rubricOf(question(Q.open)));
    expect(byId.get(Q.justify)?.rubric).toEqual(rubricOf(question(Q.justify)));
    expect(byId.get(Q.open)?.rubric?.[0]?.description).toMatch(/RUBRIC-DESC-kernel/);
    for (const q of view.questions) expect(q.rubric !== null, q.id).toBe(q.hasRubric);
  });

  it('P3: the host sees the solution and correct counts of a choice question before reveal', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.single]!);
    const { bob, ada } = answersFor(s, Q.single);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    const view = hostView(s, T0);
    expect(view.question?.solution).toEqual({ type: 'single', correct: [1] });
    expect(view.distribution).toEqual({ answered: 2, eligible: 2, correctCount: 1, counts: [1, 1, 0, 0] });
    expect(view.question?.rubric).toBeNull();
    const paused = hostView(apply(s, { type: 'pause' }, T0 + 5000), T0);
    expect(paused.deadline).toBeNull();
    expect(paused.pausedRemainingMs).toBe(15_000);
    expect(paused.options).toEqual({ scoring: 'speed', streak: true, timeMultiplier: 1, allowLateJoin: true, gradedPointsLive: true, nicknamePolicy: 'free' });
  });

  it('P3: the host sees graded points per player', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'x' }), T0 + 1);
    s = apply(s, { type: 'close' }, T0 + 2);
    s = apply(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks: { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, comment: '', grader: 'h' });
    expect(hostView(s, T0).players[0]).toMatchObject({ nickname: 'Ada', score: 0, gradedPoints: 600 });
  });
});

describe('P4 spotlight author', () => {
  it('P4: a spotlighted response shows its author only if the student allowed it', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.open]!);
    const { bob, ada } = answersFor(s, Q.open);
    s = apply(apply(s, bob, T0 + 1), ada, T0 + 2);
    s = apply(s, { type: 'close' }, T0 + 3);
    s = apply(s, { type: 'spotlight', questionId: Q.open, playerId: ADA });
    expect(spotlightView(s)?.author).toBeNull();
    expect(displayView(s, T0).spotlight?.author).toBeNull();
    expect(hostView(s, T0).spotlight?.author).toBeNull();
    expect(JSON.stringify(displayView(s, T0).spotlight)).not.toContain('Ada"');
    // The host's spotlight names the response (to mark it in the grading queue); the
    // display's carries no player id, which its leaderboard would map to a nickname.
    expect(hostView(s, T0).spotlight?.playerId).toBe(ADA);
    expect(displayView(s, T0).spotlight).not.toHaveProperty('playerId');
    expect(JSON.stringify(displayView(s, T0).spotlight)).not.toContain(ADA);

    // Another student's consent does not reveal Ada.
    s = apply(s, { type: 'spotlight-consent', playerId: BOB, allow: true });
    expect(displayView(s, T0).spotlight?.author).toBeNull();

    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: true });
    expect(player(s, ADA).showNameInSpotlight).toBe(true);
    expect(displayView(s, T0).spotlight?.author).toBe('Ada');
    expect(hostView(s, T0).spotlight?.author).toBe('Ada');

    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: false });
    expect(displayView(s, T0).spotlight?.author).toBeNull();
  });

  it('P4: consent given before the spotlight, and after the session finished, is honoured', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.justify]!);
    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: true });
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'datagrams' }), T0 + 1);
    s = apply(s, { type: 'end' }, T0 + 2);
    s = apply(s, { type: 'spotlight', questionId: Q.justify, playerId: ADA });
    expect(displayView(s, T0).spotlight?.author).toBe('Ada');
    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: false });
    expect(displayView(s, T0).spotlight?.author).toBeNull();
  });
});

/** Ada: fast right answer on the single question (1000). Bob: wrong, then full marks on the open question (600). */
function gradedGame(opts: SessionOptionsInput) {
  const questions = [question(Q.single), question(Q.open)];
  let s = joinAll(game(opts, { questions }), ['Ada', 'Bob']);
  s = apply(s, { type: 'start' }, T0);
  s = apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }), T0 + 100);
  s = apply(s, answerCmd(BOB, Q.single, { type: 'single', choice: 0 }), T0 + 100);
  s = apply(s, { type: 'close' }, T0 + 200);
  s = apply(s, { type: 'next' }, T0 + 300);
  s = apply(s, answerCmd(BOB, Q.open, { type: 'open', text: 'Shared kernel, no boot, e.g. Docker.' }), T0 + 400);
  s = apply(s, { type: 'close' }, T0 + 500);
  s = apply(s, { type: 'grade', questionId: Q.open, playerId: BOB, marks: { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, comment: '', grader: 'h' }, T0 + 600);
  // Bob: 0 auto + 600 graded; Ada: 1000 auto.
  return s;
}

describe('R3 / P5 graded points on leaderboards', () => {
  it('R3: with gradedPointsLive on, graded points count on the live leaderboard', () => {
    const s = apply(gradedGame({ gradedPointsLive: true }), { type: 'leaderboard' });
    const live = computeRanking(s, 'live').entries.map((e) => [e.nickname, e.score]);
    expect(live).toEqual([
      ['Ada', 1000],
      ['Bob', 600],
    ]);
    expect(studentView(s, BOB, T0)?.me.score).toBe(600);
    expect(studentView(s, BOB, T0)?.leaderboard?.find((e) => e.playerId === BOB)?.score).toBe(600);
    expect(displayView(s, T0).leaderboard?.find((e) => e.playerId === BOB)?.score).toBe(600);
  });

  it('R3: with gradedPointsLive off, graded points stay off the live leaderboard', () => {
    const s = apply(gradedGame({ gradedPointsLive: false }), { type: 'leaderboard' });
    expect(computeRanking(s, 'live').entries.map((e) => [e.nickname, e.score])).toEqual([
      ['Ada', 1000],
      ['Bob', 0],
    ]);
    expect(studentView(s, BOB, T0)?.me.score).toBe(0);
    expect(studentView(s, BOB, T0)?.leaderboard?.find((e) => e.playerId === BOB)?.score).toBe(0);
    expect(displayView(s, T0).leaderboard?.find((e) => e.playerId === BOB)?.score).toBe(0);
    expect(hostView(s, T0).leaderboard.find((e) => e.playerId === BOB)?.score).toBe(0);
    // The host still sees the graded points per player.
    expect(hostView(s, T0).players.find((p) => p.playerId === BOB)?.gradedPoints).toBe(600);
  });

  it('P5: final results and the podium count graded points whatever the live option says', () => {
    for (const gradedPointsLive of [true, false]) {
      // A late grade after the end counts too: Bob is regraded upward on a bigger open question.
      let s = apply(gradedGame({ gradedPointsLive }), { type: 'end' }, T0 + 700);
      expect(computeRanking(s, 'final').entries.map((e) => [e.nickname, e.score])).toEqual([
        ['Ada', 1000],
        ['Bob', 600],
      ]);
      const bob = studentView(s, BOB, T0)!;
      expect(bob.final).toEqual({ rank: 2, score: 600, players: 2 });
      expect(bob.me.score).toBe(600);
      expect(bob.leaderboard?.find((e) => e.playerId === BOB)?.score).toBe(600);
      expect(displayView(s, T0).podium?.map((e) => [e.nickname, e.score, e.rank])).toEqual([
        ['Ada', 1000, 1],
        ['Bob', 600, 2],
      ]);
      expect(hostView(s, T0).leaderboard.map((e) => e.score)).toEqual([1000, 600]);
      // Graded after the end: the final results follow.
      s = apply(s, { type: 'grade', questionId: Q.open, playerId: BOB, marks: { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 0 }, comment: '', grader: 'h' }, T0 + 800);
      expect(studentView(s, BOB, T0)?.final).toEqual({ rank: 2, score: 0, players: 2 });
    }
  });

  it('P5: the podium holds the players ranked 1 to 3, ties included', () => {
    const questions = [question(Q.single)];
    let s = joinAll(game({}, { questions }), ['A1', 'A2', 'A3', 'A4', 'A5']);
    s = apply(s, { type: 'start' }, T0);
    // A1, A2: 1000; A3, A4: 750; A5: nothing.
    for (const [name, t] of [['A1', 0], ['A2', 0], ['A3', 10_000], ['A4', 10_000]] as const) {
      s = apply(s, answerCmd(pid(name), Q.single, { type: 'single', choice: 1 }), T0 + t);
    }
    s = apply(s, { type: 'end' }, T0 + 20_000);
    expect(displayView(s, T0).podium?.map((e) => [e.nickname, e.rank])).toEqual([
      ['A1', 1],
      ['A2', 1],
      ['A3', 3],
      ['A4', 3],
    ]);
  });
});
