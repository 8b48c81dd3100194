/**
 * The reducer's rules: phases (G), joining and the room (J, K, L), answers (A), grading and
 * spotlight (R1, R2, SP1). Scoring rules are in scoring.test.ts, projections (and R3) in
 * projections.test.ts. Every rejection is checked against a deep-frozen input (I4).
 */
import { describe, expect, it } from 'vitest';
import type { Command } from './commands.ts';
import { computeRanking } from './ranking.ts';
import { reduce } from './reducer.ts';
import type { GameState } from './state.ts';
import { displayView, studentView } from './projections.ts';
import {
  answerCmd,
  apply,
  deepFreeze,
  expectRejected,
  game,
  joinAll,
  openQuestionAt,
  pid,
  player,
  QI,
  Q,
  QUESTIONS,
  record,
  run,
  T0,
  T_MS,
} from './test-fixtures.ts';

const ADA = pid('Ada');
const BOB = pid('Bob');
const CY = pid('Cy');

/** Ada and Bob joined, the first question (single) open at T0. */
function started(names: string[] = ['Ada', 'Bob']): GameState {
  return openQuestionAt(joinAll(game(), names), 0, T0);
}

const right = (playerId: string) => answerCmd(playerId, Q.single, { type: 'single', choice: 1 });
const wrong = (playerId: string) => answerCmd(playerId, Q.single, { type: 'single', choice: 0 });

const gradeCmd = (questionId: string, playerId: string, marks: Record<string, number>): Command => ({
  type: 'grade',
  questionId,
  playerId,
  marks,
  comment: 'ok',
  grader: 'host',
});

/** The open question answered by Ada (and Bob) and closed. */
function openAnswered(): GameState {
  let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.open]!, T0);
  s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'Containers share the host kernel.' }), T0 + 1000);
  s = apply(s, answerCmd(BOB, Q.open, { type: 'open', text: 'They are small.' }), T0 + 2000);
  return apply(s, { type: 'close' }, T0 + 3000);
}

/** The justify question: Ada answered with a justification, Bob without; closed. */
function justifyAnswered(): GameState {
  let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.justify]!, T0);
  s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'No handshake.' }), T0 + 1000);
  s = apply(s, answerCmd(BOB, Q.justify, { type: 'single', choice: 1 }), T0 + 1000);
  return apply(s, { type: 'close' }, T0 + 3000);
}

// ------------------------------------------------------------------ phases

describe('phases', () => {
  it('G1: a session starts in the lobby at step 0 with no question', () => {
    const s = game();
    expect(s.session.phase).toBe('lobby');
    expect(s.session.step).toBe(0);
    expect(s.session.questionIndex).toBe(-1);
    expect(s.session.current).toBeNull();
  });

  it('G1: start opens the first question', () => {
    const s0 = joinAll(game(), ['Ada']);
    const { state, events } = run(s0, { type: 'start' }, T0 + 5);
    expect(state.session.phase).toBe('open');
    expect(state.session.questionIndex).toBe(0);
    expect(state.session.current).toMatchObject({ index: 0, questionId: Q.single, openedAt: T0 + 5, durationMs: T_MS, deadline: T0 + 5 + T_MS, pausedRemainingMs: null, skipped: false });
    expect(events).toEqual([{ type: 'question-opened', index: 0, questionId: Q.single }]);
  });

  it('G1: start is refused once started, in every later phase', () => {
    let s = started();
    expectRejected(s, { type: 'start' }, T0, 'BAD_PHASE');
    s = apply(s, { type: 'close' }, T0);
    expectRejected(s, { type: 'start' }, T0, 'BAD_PHASE');
    s = apply(s, { type: 'reveal' }, T0);
    expectRejected(s, { type: 'start' }, T0, 'BAD_PHASE');
    s = apply(s, { type: 'leaderboard' }, T0);
    expectRejected(s, { type: 'start' }, T0, 'BAD_PHASE');
  });

  it('G1: start is refused while nobody has joined (kicked players do not count)', () => {
    expectRejected(game(), { type: 'start' }, T0, 'BAD_PHASE');
    const s = apply(joinAll(game(), ['Ada']), { type: 'kick', playerId: ADA });
    expectRejected(s, { type: 'start' }, T0, 'BAD_PHASE');
  });

  it('G2: next is accepted in closed, reveal and leaderboard and opens the following question', () => {
    const closed = apply(started(), { type: 'close' }, T0 + 1000);
    const revealed = apply(closed, { type: 'reveal' }, T0 + 1000);
    const board = apply(revealed, { type: 'leaderboard' }, T0 + 1000);
    for (const s of [closed, revealed, board]) {
      const { state, events } = run(s, { type: 'next' }, T0 + 2000);
      expect(state.session.phase).toBe('open');
      expect(state.session.questionIndex).toBe(1);
      expect(state.session.current).toMatchObject({ index: 1, questionId: Q.multi, openedAt: T0 + 2000, deadline: T0 + 2000 + T_MS });
      expect(events).toEqual([{ type: 'question-opened', index: 1, questionId: Q.multi }]);
    }
  });

  it('G2: next is refused in the lobby and while a question is open', () => {
    expectRejected(joinAll(game(), ['Ada']), { type: 'next' }, T0, 'BAD_PHASE');
    expectRejected(started(), { type: 'next' }, T0, 'BAD_PHASE');
  });

  it('G2: next after the last question finishes the session', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QUESTIONS.length - 1, T0);
    s = apply(s, { type: 'close' }, T0 + 1);
    const { state, events } = run(s, { type: 'next' }, T0 + 2);
    expect(state.session.phase).toBe('finished');
    expect(state.session.finishedAt).toBe(T0 + 2);
    expect(events).toEqual([{ type: 'session-finished' }]);
  });

  it('G3: close moves open to closed and scores the question', () => {
    let s = started();
    s = apply(s, right(ADA), T0 + 100);
    expect(player(s, ADA).score).toBe(0);
    const { state, events } = run(s, { type: 'close' }, T0 + 200);
    expect(state.session.phase).toBe('closed');
    expect(player(state, ADA).score).toBe(1000);
    expect(player(state, ADA).streak).toBe(1);
    expect(events).toEqual([{ type: 'question-closed', index: 0, questionId: Q.single, skipped: false }]);
  });

  it('G3: close is refused when no question is open', () => {
    expectRejected(joinAll(game(), ['Ada']), { type: 'close' }, T0, 'BAD_PHASE');
    const closed = apply(started(), { type: 'close' }, T0);
    expectRejected(closed, { type: 'close' }, T0, 'BAD_PHASE');
    expectRejected(apply(closed, { type: 'reveal' }), { type: 'close' }, T0, 'BAD_PHASE');
  });

  it('G4: skip voids the open question (no points, no streak change) and opens the next one', () => {
    // Ada builds a streak of 1 on question 0, then answers question 1 correctly; question 1 is skipped.
    let s = started();
    s = apply(s, right(ADA), T0 + 100);
    s = apply(s, wrong(BOB), T0 + 100);
    s = apply(s, { type: 'close' }, T0 + 200);
    s = apply(s, { type: 'next' }, T0 + 300);
    s = apply(s, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0, 2] }), T0 + 400);
    const before = { ada: player(s, ADA), bob: player(s, BOB) };
    const { state, events } = run(s, { type: 'skip' }, T0 + 500);
    expect(events).toEqual([
      { type: 'question-closed', index: 1, questionId: Q.multi, skipped: true },
      { type: 'question-opened', index: 2, questionId: Q.tf },
    ]);
    expect(state.session.phase).toBe('open');
    expect(state.session.questionIndex).toBe(2);
    expect(player(state, ADA).score).toBe(before.ada.score);
    expect(player(state, ADA).streak).toBe(1);
    expect(player(state, ADA).correctCount).toBe(1);
    expect(player(state, BOB).streak).toBe(0);
    // The skipped answer is kept as it was, with no streak bonus.
    expect(record(state, Q.multi, ADA).streakBonus).toBe(0);
  });

  it('G4: skipping the last question finishes the session', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QUESTIONS.length - 1, T0);
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }), T0 + 100);
    const scoreBefore = player(s, ADA).score;
    const { state, events } = run(s, { type: 'skip' }, T0 + 200);
    expect(state.session.phase).toBe('finished');
    expect(state.session.current?.skipped).toBe(true);
    expect(player(state, ADA).score).toBe(scoreBefore);
    expect(events.map((e) => e.type)).toEqual(['question-closed', 'session-finished']);
  });

  it('G4: skip is refused when no question is open', () => {
    expectRejected(joinAll(game(), ['Ada']), { type: 'skip' }, T0, 'BAD_PHASE');
    expectRejected(apply(started(), { type: 'close' }), { type: 'skip' }, T0, 'BAD_PHASE');
  });

  it('G5: reveal is accepted only in closed', () => {
    const open = started();
    const closed = apply(open, { type: 'close' });
    const { state, events } = run(closed, { type: 'reveal' });
    expect(state.session.phase).toBe('reveal');
    expect(events).toEqual([{ type: 'question-revealed', index: 0, questionId: Q.single }]);
    expectRejected(joinAll(game(), ['Ada']), { type: 'reveal' }, T0, 'BAD_PHASE');
    expectRejected(open, { type: 'reveal' }, T0, 'BAD_PHASE');
    expectRejected(state, { type: 'reveal' }, T0, 'BAD_PHASE');
    expectRejected(apply(state, { type: 'leaderboard' }), { type: 'reveal' }, T0, 'BAD_PHASE');
  });

  it('G5: leaderboard is accepted in closed or reveal only', () => {
    const open = started();
    const closed = apply(open, { type: 'close' });
    const fromClosed = run(closed, { type: 'leaderboard' });
    expect(fromClosed.state.session.phase).toBe('leaderboard');
    expect(fromClosed.events).toEqual([{ type: 'leaderboard-shown' }]);
    const fromReveal = apply(apply(closed, { type: 'reveal' }), { type: 'leaderboard' });
    expect(fromReveal.session.phase).toBe('leaderboard');
    expectRejected(joinAll(game(), ['Ada']), { type: 'leaderboard' }, T0, 'BAD_PHASE');
    expectRejected(open, { type: 'leaderboard' }, T0, 'BAD_PHASE');
    expectRejected(fromReveal, { type: 'leaderboard' }, T0, 'BAD_PHASE');
  });

  it('G6: pause freezes the time left and resume sets the deadline to now + the time left', () => {
    let s = started();
    const paused = run(s, { type: 'pause' }, T0 + 5000);
    s = paused.state;
    expect(paused.events).toEqual([{ type: 'question-paused', questionId: Q.single }]);
    expect(s.session.phase).toBe('open');
    expect(s.session.current?.pausedRemainingMs).toBe(T_MS - 5000);
    // Long after the original deadline, resume restores the 15 s that were left.
    const resumed = run(s, { type: 'resume' }, T0 + 100_000);
    expect(resumed.events).toEqual([{ type: 'question-resumed', questionId: Q.single }]);
    expect(resumed.state.session.current?.pausedRemainingMs).toBeNull();
    expect(resumed.state.session.current?.deadline).toBe(T0 + 100_000 + T_MS - 5000);
    // And answers are accepted again, although the original deadline has long passed.
    const answered = apply(resumed.state, right(ADA), T0 + 110_000);
    expect(record(answered, Q.single, ADA).receivedAt).toBe(T0 + 110_000);
  });

  it('G6: answers and justifications are refused while paused (PAUSED)', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.justify]!, T0);
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }), T0 + 100);
    s = apply(s, { type: 'pause' }, T0 + 200);
    expectRejected(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 0 }), T0 + 300, 'PAUSED');
    expectRejected(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'Because.' }, T0 + 300, 'PAUSED');
    const s2 = apply(joinAll(started(), ['Cy']), { type: 'pause' }, T0 + 1);
    expectRejected(s2, right(CY), T0 + 2, 'PAUSED');
  });

  it('G6: pausing a paused question and resuming a running one are refused', () => {
    const s = started();
    expectRejected(s, { type: 'resume' }, T0, 'BAD_PHASE');
    const paused = apply(s, { type: 'pause' }, T0 + 1);
    expectRejected(paused, { type: 'pause' }, T0 + 2, 'BAD_PHASE');
    expectRejected(apply(s, { type: 'close' }), { type: 'pause' }, T0, 'BAD_PHASE');
    expectRejected(joinAll(game(), ['Ada']), { type: 'pause' }, T0, 'BAD_PHASE');
  });

  it('G6: a pause after the deadline leaves no time', () => {
    const s = apply(started(), { type: 'pause' }, T0 + T_MS + 300);
    expect(s.session.current?.pausedRemainingMs).toBe(0);
    expect(apply(s, { type: 'resume' }, T0 + 50_000).session.current?.deadline).toBe(T0 + 50_000);
  });

  it('G7: end finishes the session from the lobby, closed, reveal and leaderboard', () => {
    const lobby = joinAll(game(), ['Ada']);
    const closed = apply(started(), { type: 'close' });
    const revealed = apply(closed, { type: 'reveal' });
    const board = apply(revealed, { type: 'leaderboard' });
    for (const s of [lobby, closed, revealed, board]) {
      const { state, events } = run(s, { type: 'end' }, T0 + 7);
      expect(state.session.phase).toBe('finished');
      expect(state.session.finishedAt).toBe(T0 + 7);
      expect(events).toEqual([{ type: 'session-finished' }]);
    }
  });

  it('G7: end while a question is open closes and scores it first', () => {
    let s = started();
    s = apply(s, right(ADA), T0 + 100);
    const { state, events } = run(s, { type: 'end' }, T0 + 200);
    expect(state.session.phase).toBe('finished');
    expect(player(state, ADA).score).toBe(1000);
    expect(player(state, ADA).streak).toBe(1);
    expect(player(state, BOB).streak).toBe(0);
    expect(events).toEqual([{ type: 'question-closed', index: 0, questionId: Q.single, skipped: false }, { type: 'session-finished' }]);
  });

  it('G7: end while paused closes and scores the question', () => {
    let s = apply(started(), right(ADA), T0 + 100);
    s = apply(s, { type: 'pause' }, T0 + 200);
    const ended = apply(s, { type: 'end' }, T0 + 300);
    expect(ended.session.phase).toBe('finished');
    expect(player(ended, ADA).score).toBe(1000);
  });

  it('G8: every step-carrying host command with another step is STALE and changes nothing', () => {
    const open = started();
    const closed = apply(open, { type: 'close' });
    const cases: [GameState, Command['type']][] = [
      [joinAll(game(), ['Ada']), 'start'],
      [closed, 'next'],
      [open, 'close'],
      [open, 'skip'],
      [closed, 'reveal'],
      [closed, 'leaderboard'],
      [open, 'pause'],
      [apply(open, { type: 'pause' }), 'resume'],
      [open, 'end'],
    ];
    for (const [s, type] of cases) {
      const step = s.session.step;
      for (const bad of [step - 1, step + 1, step + 5]) expectRejected(s, { type, step: bad } as Command, T0, 'STALE');
      expect(apply(s, { type, step } as Command).session.step).toBe(step + 1);
    }
  });

  it('G8: a double-clicked "next" cannot skip a question', () => {
    const closed = apply(started(), { type: 'close' });
    const step = closed.session.step;
    const once = apply(closed, { type: 'next', step }, T0 + 10);
    expect(once.session.questionIndex).toBe(1);
    // The second click carries the same (now old) step.
    expectRejected(once, { type: 'close', step }, T0 + 11, 'STALE');
    const twiceClosed = apply(once, { type: 'close' }, T0 + 12);
    expectRejected(twiceClosed, { type: 'next', step }, T0 + 13, 'STALE');
    expect(twiceClosed.session.questionIndex).toBe(1);
  });

  it('G8: a stale command is STALE after the session finished too', () => {
    const s = apply(started(), { type: 'end' });
    expectRejected(s, { type: 'next', step: s.session.step - 1 }, T0, 'STALE');
  });

  it('G9: deadline closes the question at or after the stored deadline, for its step', () => {
    const s = apply(started(), right(ADA), T0 + 100);
    const step = s.session.step;
    const deadline = s.session.current!.deadline;
    const at = run(s, { type: 'deadline', step }, deadline);
    expect(at.state.session.phase).toBe('closed');
    expect(at.events).toEqual([{ type: 'question-closed', index: 0, questionId: Q.single, skipped: false }]);
    expect(player(at.state, ADA).score).toBe(1000);
    expect(apply(s, { type: 'deadline', step }, deadline + 60_000).session.phase).toBe('closed');
  });

  it('G9: deadline before the stored deadline is STALE', () => {
    const s = started();
    expectRejected(s, { type: 'deadline', step: s.session.step }, s.session.current!.deadline - 1, 'STALE');
  });

  it('G9: deadline scheduled for another step is STALE', () => {
    const s = started();
    const late = s.session.current!.deadline + 1;
    expectRejected(s, { type: 'deadline', step: s.session.step - 1 }, late, 'STALE');
    expectRejected(s, { type: 'deadline', step: s.session.step + 1 }, late, 'STALE');
    // The timer of a question that was paused and resumed is stale; the new one counts.
    const paused = apply(s, { type: 'pause' }, T0 + 5000);
    const resumed = apply(paused, { type: 'resume' }, T0 + 60_000);
    expectRejected(resumed, { type: 'deadline', step: s.session.step }, late, 'STALE');
    expectRejected(resumed, { type: 'deadline', step: resumed.session.step }, late, 'STALE');
    expect(apply(resumed, { type: 'deadline', step: resumed.session.step }, T0 + 60_000 + 15_000).session.phase).toBe('closed');
  });

  it('G9: deadline while nothing is open or while paused is STALE', () => {
    const closed = apply(started(), { type: 'close' });
    expectRejected(closed, { type: 'deadline', step: closed.session.step }, T0 + 99_999, 'STALE');
    const paused = apply(started(), { type: 'pause' }, T0 + 1);
    expectRejected(paused, { type: 'deadline', step: paused.session.step }, T0 + 99_999, 'STALE');
    const lobby = joinAll(game(), ['Ada']);
    expectRejected(lobby, { type: 'deadline', step: 0 }, T0 + 99_999, 'STALE');
    // A timer that fires after the session ended is stale too, for the old or the current step.
    const ended = apply(started(), { type: 'end' }, T0 + 1);
    expectRejected(ended, { type: 'deadline', step: ended.session.step - 1 }, T0 + 99_999, 'STALE');
    expectRejected(ended, { type: 'deadline', step: ended.session.step }, T0 + 99_999, 'STALE');
  });

  it('G10: every phase change, including pause and resume, increments step by exactly one', () => {
    let s = joinAll(game(), ['Ada', 'Bob']);
    const expectStep = (cmd: Command, now = T0) => {
      const before = s.session.step;
      s = apply(s, cmd, now);
      expect(s.session.step, cmd.type).toBe(before + 1);
    };
    expectStep({ type: 'start' });
    expectStep({ type: 'pause' });
    expectStep({ type: 'resume' });
    expectStep({ type: 'close' });
    expectStep({ type: 'reveal' });
    expectStep({ type: 'leaderboard' });
    expectStep({ type: 'next' });
    expectStep({ type: 'deadline', step: s.session.step }, T0 + T_MS);
    expectStep({ type: 'leaderboard' });
    expectStep({ type: 'next' });
    expectStep({ type: 'skip' }); // closes and opens: still one step
    expectStep({ type: 'end' }); // closes and finishes: still one step
  });

  it('G10: skip of the last question and end from lobby or closed increment step by one', () => {
    const last = openQuestionAt(joinAll(game(), ['Ada']), QUESTIONS.length - 1, T0);
    expect(apply(last, { type: 'skip' }).session.step).toBe(last.session.step + 1);
    const lobby = joinAll(game(), ['Ada']);
    expect(apply(lobby, { type: 'end' }).session.step).toBe(1);
    const closed = apply(started(), { type: 'close' });
    expect(apply(closed, { type: 'next' }).session.step).toBe(closed.session.step + 1);
    expect(apply(closed, { type: 'end' }).session.step).toBe(closed.session.step + 1);
  });

  it('G10: nothing but a phase change touches step', () => {
    let s = joinAll(game(), ['Ada', 'Bob']);
    const same = (cmd: Command, now = T0) => {
      const before = s.session.step;
      s = apply(s, cmd, now);
      expect(s.session.step, cmd.type).toBe(before);
    };
    same({ type: 'join', playerId: CY, nickname: 'Cy' });
    same({ type: 'lock' });
    same({ type: 'unlock' });
    same({ type: 'kick', playerId: CY });
    s = openQuestionAt(s, QI[Q.open]!, T0);
    same(answerCmd(ADA, Q.open, { type: 'open', text: 'first' }), T0 + 10);
    same(answerCmd(ADA, Q.open, { type: 'open', text: 'second' }), T0 + 20);
    same({ type: 'spotlight-consent', playerId: ADA, allow: true });
    s = apply(s, { type: 'close' }, T0 + 30);
    same({ type: 'grade', questionId: Q.open, playerId: ADA, marks: { 'crit-kernel': 1, 'crit-boot': 1, 'crit-example': 1 }, comment: '', grader: 'h' });
    same({ type: 'spotlight', questionId: Q.open, playerId: ADA });
    same({ type: 'spotlight-clear' });
    s = apply(s, { type: 'next' }, T0 + 40);
    same(answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }), T0 + 50);
    same({ type: 'justify', playerId: ADA, questionId: Q.justify, text: 'Because.' }, T0 + 60);
  });

  it('G11: after finished only grading, spotlight and spotlight consent are accepted', () => {
    let s = openAnswered();
    s = apply(s, { type: 'end' }, T0 + 10_000);
    expect(s.session.phase).toBe('finished');
    const refused: Command[] = [
      { type: 'start' },
      { type: 'next' },
      { type: 'close' },
      { type: 'skip' },
      { type: 'reveal' },
      { type: 'leaderboard' },
      { type: 'pause' },
      { type: 'resume' },
      { type: 'end' },
      { type: 'kick', playerId: BOB },
      { type: 'lock' },
      { type: 'unlock' },
      { type: 'join', playerId: CY, nickname: 'Cy' },
      answerCmd(ADA, Q.open, { type: 'open', text: 'late' }),
      { type: 'justify', playerId: ADA, questionId: Q.open, text: 'late' },
    ];
    for (const cmd of refused) expectRejected(s, cmd, T0 + 11_000, 'BAD_PHASE');
    s = apply(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks: { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, comment: '', grader: 'h' });
    s = apply(s, { type: 'spotlight', questionId: Q.open, playerId: ADA });
    s = apply(s, { type: 'spotlight-consent', playerId: ADA, allow: true });
    s = apply(s, { type: 'spotlight-clear' });
    expect(s.session.phase).toBe('finished');
    expect(player(s, ADA).gradedPoints).toBe(600);
  });
});

// ------------------------------------------------------------------ joining and the room

describe('joining and the room', () => {
  it('J1: students join in the lobby', () => {
    const { state, events } = run(game(), { type: 'join', playerId: ADA, nickname: 'Ada' }, T0 + 3);
    expect(player(state, ADA)).toMatchObject({ id: ADA, nickname: 'Ada', joinedAt: T0 + 3, score: 0, gradedPoints: 0, streak: 0, kicked: false });
    expect(events).toEqual([{ type: 'player-joined', playerId: ADA }]);
  });

  it('J1: after the start students join only if the session allows late joining', () => {
    const open = started();
    const closed = apply(open, { type: 'close' });
    const revealed = apply(closed, { type: 'reveal' });
    const board = apply(revealed, { type: 'leaderboard' });
    for (const s of [open, closed, revealed, board]) expect(player(apply(s, { type: 'join', playerId: CY, nickname: 'Cy' }), CY).nickname).toBe('Cy');

    const strict = openQuestionAt(joinAll(game({ allowLateJoin: false }), ['Ada']), 0);
    expect(apply(joinAll(game({ allowLateJoin: false }), ['Ada']), { type: 'join', playerId: CY, nickname: 'Cy' }).players[CY]).toBeDefined();
    expectRejected(strict, { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'BAD_PHASE');
    expectRejected(apply(strict, { type: 'close' }), { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'BAD_PHASE');
  });

  it('J1: nobody joins once the session is finished', () => {
    expectRejected(apply(joinAll(game(), ['Ada']), { type: 'end' }), { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'BAD_PHASE');
    expectRejected(apply(started(), { type: 'end' }), { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'BAD_PHASE');
  });

  it('J2: a locked room refuses joins (LOCKED) until unlocked', () => {
    const locked = apply(joinAll(game(), ['Ada']), { type: 'lock' });
    expectRejected(locked, { type: 'join', playerId: BOB, nickname: 'Bob' }, T0, 'LOCKED');
    const lockedOpen = apply(started(), { type: 'lock' });
    expectRejected(lockedOpen, { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'LOCKED');
    const unlocked = apply(locked, { type: 'unlock' });
    expect(apply(unlocked, { type: 'join', playerId: BOB, nickname: 'Bob' }).players[BOB]).toBeDefined();
  });

  it('J3: nicknames are normalised (NFKC, invisible and bidi characters removed, whitespace collapsed)', () => {
    const cases: [string, string][] = [
      ['Ａｄａ', 'Ada'], // fullwidth → NFKC
      ['A\u200Bd\u200Da\uFEFF', 'Ada'], // zero-width space / joiner, BOM
      ['\u202EAda\u202C', 'Ada'], // bidi override
      ['\u2066Ada\u2069', 'Ada'], // bidi isolate
      ['Ad\u0000a\u0007', 'Ada'], // control characters
      ['  Grace \t\n  Hopper  ', 'Grace Hopper'],
      ['ﬁsh', 'fish'], // ligature → NFKC
    ];
    for (const [raw, expected] of cases) {
      const s = apply(game(), { type: 'join', playerId: 'p1', nickname: raw });
      expect(player(s, 'p1').nickname, JSON.stringify(raw)).toBe(expected);
    }
  });

  it('J3: combining-mark floods are cut to two marks per character', () => {
    // U+0335…U+033C are overlays that do not compose with "q" under NFKC.
    const zalgo = 'q' + '\u0335\u0336\u0337\u0338\u0339\u033A\u033B\u033C'.repeat(4) + 'ed';
    const s = apply(game(), { type: 'join', playerId: 'p1', nickname: zalgo });
    expect(player(s, 'p1').nickname).toBe('q\u0335\u0336ed');
    // A precomposable first mark is composed by NFKC; two marks at most follow.
    const z = apply(game(), { type: 'join', playerId: 'p1', nickname: 'Z' + '\u0301\u0302\u0303\u0304'.repeat(10) });
    expect(player(z, 'p1').nickname).not.toMatch(/\p{M}{3}/u);
    expect([...player(z, 'p1').nickname].length).toBeLessThanOrEqual(3);
  });

  it('J3: a nickname has 1 to 20 characters after normalisation (NICKNAME_INVALID)', () => {
    const s = game();
    for (const bad of ['', '   ', '\u200B\u200D\u202E', '\u0000\u0001', 'x'.repeat(21), '👍'.repeat(21)]) {
      expectRejected(s, { type: 'join', playerId: 'p1', nickname: bad }, T0, 'NICKNAME_INVALID');
    }
    expect(player(apply(s, { type: 'join', playerId: 'p1', nickname: 'x'.repeat(20) }), 'p1').nickname).toHaveLength(20);
    expect(player(apply(s, { type: 'join', playerId: 'p1', nickname: '👍'.repeat(20) }), 'p1').nickname).toBe('👍'.repeat(20));
    expect(player(apply(s, { type: 'join', playerId: 'p1', nickname: 'Q' }), 'p1').nickname).toBe('Q');
  });

  it('J3: nicknames are unique case-insensitively and after normalisation (NICKNAME_TAKEN)', () => {
    const s = joinAll(game(), ['Ada']);
    for (const taken of ['Ada', 'ADA', 'ada', ' aDa ', 'Ａｄａ', 'A\u200Bda']) {
      expectRejected(s, { type: 'join', playerId: 'p-other', nickname: taken }, T0, 'NICKNAME_TAKEN');
    }
    expect(apply(s, { type: 'join', playerId: 'p-other', nickname: 'Ada2' }).players['p-other']).toBeDefined();
  });

  it('J4: a session admits at most maxPlayers players (ROOM_FULL)', () => {
    const s = joinAll(game({ maxPlayers: 2 }), ['Ada', 'Bob']);
    expectRejected(s, { type: 'join', playerId: CY, nickname: 'Cy' }, T0, 'ROOM_FULL');
    expect(Object.keys(joinAll(game({ maxPlayers: 3 }), ['Ada', 'Bob', 'Cy']).players)).toHaveLength(3);
  });

  it('J5: a kicked player\'s nickname stays reserved in that session', () => {
    const s = apply(joinAll(game(), ['Ada', 'Bob']), { type: 'kick', playerId: ADA });
    expectRejected(s, { type: 'join', playerId: 'p-new', nickname: 'Ada' }, T0, 'NICKNAME_TAKEN');
    expectRejected(s, { type: 'join', playerId: 'p-new', nickname: 'aDA' }, T0, 'NICKNAME_TAKEN');
    // In another session the name is free.
    expect(apply(game(), { type: 'join', playerId: 'p-new', nickname: 'Ada' }).players['p-new']).toBeDefined();
  });

  it('J6: a join with a player id already in use is refused', () => {
    const s = joinAll(game(), ['Ada']);
    expectRejected(s, { type: 'join', playerId: ADA, nickname: 'Someone' }, T0, 'BAD_REQUEST');
    const kicked = apply(s, { type: 'kick', playerId: ADA });
    expectRejected(kicked, { type: 'join', playerId: ADA, nickname: 'Someone' }, T0, 'BAD_REQUEST');
  });

  it('K1: kick removes a player from the leaderboard and the counts', () => {
    let s = started(['Ada', 'Bob', 'Cy']);
    s = apply(s, right(ADA), T0 + 100);
    s = apply(s, right(BOB), T0 + 100);
    const { state, events } = run(s, { type: 'kick', playerId: BOB }, T0 + 200);
    expect(events).toEqual([{ type: 'player-kicked', playerId: BOB }]);
    expect(player(state, BOB).kicked).toBe(true);
    expect(computeRanking(state, 'live').entries.map((e) => e.playerId)).not.toContain(BOB);
    expect(computeRanking(state, 'final').entries.map((e) => e.playerId)).not.toContain(BOB);
    expect(studentView(state, ADA, T0)?.playerCount).toBe(2);
    const display = displayView(state, T0);
    expect(display.playerCount).toBe(2);
    expect(display.answeredCount).toBe(1);
    expect(display.recentNicknames).not.toContain('Bob');
    const closed = apply(state, { type: 'close' }, T0 + 300);
    expect(displayView(closed, T0).distribution).toMatchObject({ answered: 1, eligible: 2 });
    // The kicked player's answer is not scored at close.
    expect(player(closed, BOB).score).toBe(0);
  });

  it('K1: a kicked player\'s further commands are refused (KICKED)', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.justify]!, T0);
    s = apply(s, answerCmd(BOB, Q.justify, { type: 'single', choice: 1 }), T0 + 10);
    s = apply(s, { type: 'kick', playerId: BOB }, T0 + 20);
    expectRejected(s, answerCmd(BOB, Q.justify, { type: 'single', choice: 0 }), T0 + 30, 'KICKED');
    expectRejected(s, { type: 'justify', playerId: BOB, questionId: Q.justify, text: 'Because.' }, T0 + 30, 'KICKED');
    expectRejected(s, { type: 'spotlight-consent', playerId: BOB, allow: true }, T0 + 30, 'KICKED');
  });

  it('K1: kicking an unknown or already kicked player is refused', () => {
    const s = joinAll(game(), ['Ada']);
    expectRejected(s, { type: 'kick', playerId: 'p-nobody' }, T0, 'NOT_FOUND');
    expectRejected(apply(s, { type: 'kick', playerId: ADA }), { type: 'kick', playerId: ADA }, T0, 'BAD_PHASE');
  });

  it('L1: lock and unlock toggle the room; locking a locked room (or unlocking an unlocked one) is refused', () => {
    const s = joinAll(game(), ['Ada']);
    expectRejected(s, { type: 'unlock' }, T0, 'BAD_PHASE');
    const locked = run(s, { type: 'lock' });
    expect(locked.state.session.locked).toBe(true);
    expect(locked.events).toEqual([{ type: 'room-locked', locked: true }]);
    expectRejected(locked.state, { type: 'lock' }, T0, 'BAD_PHASE');
    const unlocked = run(locked.state, { type: 'unlock' });
    expect(unlocked.state.session.locked).toBe(false);
    expect(unlocked.events).toEqual([{ type: 'room-locked', locked: false }]);
    // Also while a question is open.
    expect(apply(started(), { type: 'lock' }).session.locked).toBe(true);
  });
});

// ------------------------------------------------------------------ answers

describe('answers', () => {
  it('A1: an answer is accepted while its question is open', () => {
    const { state, events } = run(started(), right(ADA), T0 + 1234);
    expect(record(state, Q.single, ADA)).toMatchObject({ playerId: ADA, questionId: Q.single, answer: { type: 'single', choice: 1 }, receivedAt: T0 + 1234, textVersion: 1, grade: null });
    expect(events).toEqual([{ type: 'answer-recorded', playerId: ADA, questionId: Q.single, replaced: false }]);
  });

  it('A1: an answer for another question than the open one is refused (WRONG_QUESTION)', () => {
    const s = started();
    expectRejected(s, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0] }), T0 + 1, 'WRONG_QUESTION');
    expectRejected(s, answerCmd(ADA, 'q-nope', { type: 'single', choice: 1 }), T0 + 1, 'WRONG_QUESTION');
  });

  it('A1: an answer once the question closed is TOO_LATE; before the start it is refused', () => {
    const closed = apply(started(), { type: 'close' }, T0 + 100);
    expectRejected(closed, right(ADA), T0 + 101, 'TOO_LATE');
    expectRejected(apply(closed, { type: 'reveal' }), right(ADA), T0 + 102, 'TOO_LATE');
    expectRejected(apply(closed, { type: 'leaderboard' }), right(ADA), T0 + 102, 'TOO_LATE');
    expectRejected(joinAll(game(), ['Ada']), right(ADA), T0, 'BAD_PHASE');
  });

  it('A2: an answer after the deadline plus the latency grace min(rtt, cap) is TOO_LATE', () => {
    const s = started();
    const deadline = s.session.current!.deadline;
    // No measured latency: no grace.
    expect(apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }), deadline).answers[Q.single]?.[ADA]).toBeDefined();
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }), deadline + 1, 'TOO_LATE');
    // rtt 200 ms: 200 ms of grace.
    expect(apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: 200 }), deadline + 200).answers[Q.single]?.[ADA]).toBeDefined();
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: 200 }), deadline + 201, 'TOO_LATE');
    // A huge rtt is capped at maxLatencyCompensationMs (600 by default).
    expect(apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: 60_000 }), deadline + 600).answers[Q.single]?.[ADA]).toBeDefined();
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: 60_000 }), deadline + 601, 'TOO_LATE');
    // A negative rtt earns no grace.
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: -500 }), deadline + 1, 'TOO_LATE');
  });

  it('A2: the cap follows the session option', () => {
    const s = openQuestionAt(joinAll(game({ maxLatencyCompensationMs: 0 }), ['Ada']), 0);
    const deadline = s.session.current!.deadline;
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { rttMs: 500 }), deadline + 1, 'TOO_LATE');
  });

  it('A3: a second answer to the same question is rejected and changes nothing', () => {
    const s = apply(started(), wrong(ADA), T0 + 100);
    expectRejected(s, right(ADA), T0 + 200, 'ALREADY_ANSWERED');
    expect(record(s, Q.single, ADA).answer).toEqual({ type: 'single', choice: 0 });
    // Every auto-scored type.
    const autoScored: [string, Parameters<typeof answerCmd>[2]][] = [
      [Q.multi, { type: 'multi', choices: [0] }],
      [Q.tf, { type: 'truefalse', value: true }],
      [Q.short, { type: 'short', text: 'vmm' }],
      [Q.numeric, { type: 'numeric', value: 100 }],
      [Q.poll, { type: 'poll', choices: [0] }],
    ];
    for (const [qid, ans] of autoScored) {
      const open = apply(openQuestionAt(joinAll(game(), ['Ada']), QI[qid]!), answerCmd(ADA, qid, ans), T0 + 100);
      expectRejected(open, answerCmd(ADA, qid, ans), T0 + 200, 'ALREADY_ANSWERED');
    }
  });

  it('A4: an answer of another type than the question is INVALID_ANSWER', () => {
    const s = started();
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'multi', choices: [1] }), T0, 'INVALID_ANSWER');
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'truefalse', value: true }), T0, 'INVALID_ANSWER');
    expectRejected(s, answerCmd(ADA, Q.single, { type: 'open', text: 'Mars' }), T0, 'INVALID_ANSWER');
    const tf = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.tf]!);
    expectRejected(tf, answerCmd(ADA, Q.tf, { type: 'single', choice: 0 }), T0, 'INVALID_ANSWER');
  });

  it('A4: choice indexes must be in range for single, multi and poll', () => {
    expectRejected(started(), answerCmd(ADA, Q.single, { type: 'single', choice: 4 }), T0, 'INVALID_ANSWER');
    expectRejected(started(), answerCmd(ADA, Q.single, { type: 'single', choice: -1 }), T0, 'INVALID_ANSWER');
    const multi = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.multi]!);
    expectRejected(multi, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0, 4] }), T0, 'INVALID_ANSWER');
    const poll = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.poll]!);
    expectRejected(poll, answerCmd(ADA, Q.poll, { type: 'poll', choices: [3] }), T0, 'INVALID_ANSWER');
    expect(apply(poll, answerCmd(ADA, Q.poll, { type: 'poll', choices: [2, 0] })).answers[Q.poll]?.[ADA]).toBeDefined();
  });

  it('A4: an order answer must be a permutation of the presented items', () => {
    const s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.order]!);
    for (const order of [[0, 1, 2], [0, 1, 2, 3, 4], [0, 1, 2, 4], [0, 1, 2, 2], [3, 3, 3, 3], [-1, 0, 1, 2]]) {
      expectRejected(s, answerCmd(ADA, Q.order, { type: 'order', order }), T0, 'INVALID_ANSWER');
    }
    expect(apply(s, answerCmd(ADA, Q.order, { type: 'order', order: [3, 1, 0, 2] })).answers[Q.order]?.[ADA]).toBeDefined();
  });

  it('A4: choices must not repeat (a repeated right choice cannot count twice)', () => {
    const multi = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.multi]!);
    expectRejected(multi, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0, 0] }), T0, 'INVALID_ANSWER');
    const poll = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.poll]!);
    expectRejected(poll, answerCmd(ADA, Q.poll, { type: 'poll', choices: [1, 1] }), T0, 'INVALID_ANSWER');
    expectRejected(started(), answerCmd(ADA, Q.single, { type: 'single', choice: 0.5 }), T0, 'INVALID_ANSWER');
  });

  it('A5: an open answer may be replaced until the deadline; textVersion increments; time and points are kept', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'first draft' }), T0 + 3000);
    const first = record(s, Q.open, ADA);
    expect(first.textVersion).toBe(1);
    const second = run(s, answerCmd(ADA, Q.open, { type: 'open', text: 'second draft' }), T0 + 9000);
    expect(second.events).toEqual([{ type: 'answer-recorded', playerId: ADA, questionId: Q.open, replaced: true }]);
    s = second.state;
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'final text' }), s.session.current!.deadline);
    const last = record(s, Q.open, ADA);
    expect(last.answer).toEqual({ type: 'open', text: 'final text' });
    expect(last.textVersion).toBe(3);
    expect(last.receivedAt).toBe(first.receivedAt);
    expect(last.elapsedMs).toBe(first.elapsedMs);
    expect(last.points).toBe(first.points);
    expect(last.correct).toBe(first.correct);
    expectRejected(s, answerCmd(ADA, Q.open, { type: 'open', text: 'too late' }), s.session.current!.deadline + 1, 'TOO_LATE');
    expectRejected(apply(s, { type: 'close' }), answerCmd(ADA, Q.open, { type: 'open', text: 'too late' }), T0 + 10_000, 'TOO_LATE');
  });

  it('A5: an open answer longer than the question allows is INVALID_ANSWER', () => {
    const s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    expectRejected(s, answerCmd(ADA, Q.open, { type: 'open', text: 'x'.repeat(101) }), T0, 'INVALID_ANSWER');
    expect(apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'x'.repeat(100) })).answers[Q.open]?.[ADA]).toBeDefined();
  });

  it('A5: a justification may be replaced until the deadline; the answer, time and points are kept', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.justify]!);
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'first' }), T0 + 2000);
    const first = record(s, Q.justify, ADA);
    expect(first.justification).toBe('first');
    expect(first.textVersion).toBe(1);
    const j = run(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: '  second  ' }, T0 + 4000);
    expect(j.events).toEqual([{ type: 'justification-recorded', playerId: ADA, questionId: Q.justify }]);
    expect(record(j.state, Q.justify, ADA).justification).toBe('second');
    s = apply(j.state, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'third' }, s.session.current!.deadline);
    const rec = record(s, Q.justify, ADA);
    expect(rec.justification).toBe('third');
    expect(rec.textVersion).toBe(3);
    expect(rec.answer).toEqual(first.answer);
    expect(rec.receivedAt).toBe(first.receivedAt);
    expect(rec.points).toBe(first.points);
  });

  it('A5: a justification after the deadline plus grace is TOO_LATE', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.justify]!);
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }), T0 + 2000);
    const deadline = s.session.current!.deadline;
    expect(record(apply(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'ok', rttMs: 300 }, deadline + 300), Q.justify, ADA).justification).toBe('ok');
    expectRejected(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'late' }, deadline + 1, 'TOO_LATE');
    expectRejected(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'late', rttMs: 300 }, deadline + 301, 'TOO_LATE');
  });

  it('A6: unknown players cannot answer (NOT_FOUND) and kicked players cannot (KICKED)', () => {
    const s = started();
    expectRejected(s, right('p-ghost'), T0, 'NOT_FOUND');
    expectRejected(s, { type: 'justify', playerId: 'p-ghost', questionId: Q.single, text: 'x' }, T0, 'NOT_FOUND');
    expectRejected(s, { type: 'spotlight-consent', playerId: 'p-ghost', allow: true }, T0, 'NOT_FOUND');
    expectRejected(apply(s, { type: 'kick', playerId: ADA }), right(ADA), T0, 'KICKED');
  });

  it('A7: a justification is accepted only on a question that asks for one', () => {
    const s = apply(started(), right(ADA), T0 + 10);
    expectRejected(s, { type: 'justify', playerId: ADA, questionId: Q.single, text: 'Because.' }, T0 + 20, 'INVALID_ANSWER');
    expectRejected(started(), answerCmd(ADA, Q.single, { type: 'single', choice: 1 }, { justification: 'Because.' }), T0, 'INVALID_ANSWER');
    let open = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    expectRejected(open, answerCmd(ADA, Q.open, { type: 'open', text: 'text' }, { justification: 'Because.' }), T0, 'INVALID_ANSWER');
    open = apply(open, answerCmd(ADA, Q.open, { type: 'open', text: 'text' }));
    expectRejected(open, { type: 'justify', playerId: ADA, questionId: Q.open, text: 'Because.' }, T0, 'INVALID_ANSWER');
  });

  it('A7: a justification is accepted only after the student answered the question', () => {
    const s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.justify]!);
    const err = expectRejected(s, { type: 'justify', playerId: ADA, questionId: Q.justify, text: 'Because.' }, T0, 'BAD_PHASE');
    expect(err.message).toMatch(/answer/);
  });

  it('A7: a justification must fit the question\'s length limit and not be empty', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.justify]!);
    const max = 60;
    expectRejected(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'x'.repeat(max + 1) }), T0, 'INVALID_ANSWER');
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'é'.repeat(max) }), T0);
    s = apply(s, answerCmd(BOB, Q.justify, { type: 'single', choice: 1 }), T0);
    expectRejected(s, { type: 'justify', playerId: BOB, questionId: Q.justify, text: 'y'.repeat(max + 1) }, T0, 'INVALID_ANSWER');
    expectRejected(s, { type: 'justify', playerId: BOB, questionId: Q.justify, text: '   ' }, T0, 'INVALID_ANSWER');
    expect(record(apply(s, { type: 'justify', playerId: BOB, questionId: Q.justify, text: '🙂'.repeat(max) }), Q.justify, BOB).justification).toBe('🙂'.repeat(max));
    // A blank justification in an answer is treated as none.
    const blank = apply(openQuestionAt(joinAll(game(), ['Cy']), QI[Q.justify]!), answerCmd(CY, Q.justify, { type: 'single', choice: 1 }, { justification: '  ' }));
    expect(record(blank, Q.justify, CY).justification).toBeNull();
  });
});

// ------------------------------------------------------------------ grading and spotlight

describe('grading and spotlight', () => {
  const fullOpen = { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 };

  it('R1: an open answer is graded once its question is closed', () => {
    const s = openAnswered();
    const { state, events } = run(s, gradeCmd(Q.open, ADA, { 'crit-kernel': 2, 'crit-boot': 1, 'crit-example': 0 }), T0 + 5000);
    expect(events).toEqual([{ type: 'graded', playerId: ADA, questionId: Q.open, version: 1 }]);
    expect(record(state, Q.open, ADA).grade).toEqual({ marks: { 'crit-kernel': 2, 'crit-boot': 1, 'crit-example': 0 }, comment: 'ok', points: 300, gradedAt: T0 + 5000, grader: 'host', version: 1 });
    expect(player(state, ADA).gradedPoints).toBe(300);
    expect(player(state, ADA).score).toBe(0);
  });

  it('R1: grading is accepted in reveal, leaderboard, finished and while a later question is open', () => {
    const closed = openAnswered();
    const revealed = apply(closed, { type: 'reveal' });
    const board = apply(revealed, { type: 'leaderboard' });
    const nextOpen = apply(board, { type: 'next' });
    const finished = apply(nextOpen, { type: 'end' });
    for (const s of [revealed, board, nextOpen, finished]) expect(player(apply(s, gradeCmd(Q.open, ADA, fullOpen)), ADA).gradedPoints).toBe(600);
  });

  it('R1: a response is NOT_GRADABLE while its question is open', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'draft' }));
    expectRejected(s, gradeCmd(Q.open, ADA, fullOpen), T0, 'NOT_GRADABLE');
    expectRejected(apply(s, { type: 'pause' }), gradeCmd(Q.open, ADA, fullOpen), T0, 'NOT_GRADABLE');
  });

  it('R1: marks must be whole numbers from 0 to each criterion\'s maximum, one for every criterion (INVALID_GRADE)', () => {
    const s = openAnswered();
    const bad: Record<string, number>[] = [
      { 'crit-kernel': 3, 'crit-boot': 0, 'crit-example': 0 }, // above the maximum
      { 'crit-kernel': -1, 'crit-boot': 0, 'crit-example': 0 }, // negative
      { 'crit-kernel': 1.5, 'crit-boot': 0, 'crit-example': 0 }, // fractional
      { 'crit-kernel': Number.NaN, 'crit-boot': 0, 'crit-example': 0 },
      { 'crit-kernel': 1, 'crit-boot': 0 }, // a criterion missing
      {},
      { ...fullOpen, 'crit-extra': 1 }, // not a criterion of this rubric
      { 'crit-kernel': 1, 'crit-boot': 0, 'crit-handshake': 1 }, // another question's criterion
    ];
    for (const marks of bad) expectRejected(s, gradeCmd(Q.open, ADA, marks), T0, 'INVALID_GRADE');
    expect(player(apply(s, gradeCmd(Q.open, ADA, { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 0 })), ADA).gradedPoints).toBe(0);
  });

  it('R1: a question without a rubric or a student who wrote nothing is NOT_GRADABLE', () => {
    let s = apply(started(), right(ADA), T0 + 1);
    s = apply(s, { type: 'close' });
    expectRejected(s, gradeCmd(Q.single, ADA, {}), T0, 'NOT_GRADABLE');
    const j = justifyAnswered();
    // Bob answered without a justification; Cy never answered.
    expectRejected(j, gradeCmd(Q.justify, BOB, { 'crit-handshake': 1, 'crit-datagram': 1 }), T0, 'NOT_GRADABLE');
    expectRejected(j, gradeCmd(Q.justify, 'p-nobody', { 'crit-handshake': 1, 'crit-datagram': 1 }), T0, 'NOT_GRADABLE');
    const o = openAnswered();
    expectRejected(apply(o, { type: 'join', playerId: CY, nickname: 'Cy' }), gradeCmd(Q.open, CY, fullOpen), T0, 'NOT_GRADABLE');
    // A question that has not been opened yet has no responses.
    expectRejected(started(), gradeCmd(Q.open, ADA, fullOpen), T0, 'NOT_GRADABLE');
    expectRejected(o, gradeCmd('q-nope', ADA, fullOpen), T0, 'NOT_FOUND');
  });

  it('R1: a justification is graded against the justification rubric for its bonus points', () => {
    const s = apply(justifyAnswered(), gradeCmd(Q.justify, ADA, { 'crit-handshake': 2, 'crit-datagram': 0 }), T0 + 9);
    expect(record(s, Q.justify, ADA).grade?.points).toBe(200);
    expect(player(s, ADA).gradedPoints).toBe(200);
    expectRejected(s, gradeCmd(Q.justify, ADA, fullOpen), T0, 'INVALID_GRADE');
  });

  it('R2: a regrade replaces the previous grade, increments its version and adjusts graded points by the difference', () => {
    let s = openAnswered();
    s = apply(s, gradeCmd(Q.open, ADA, fullOpen), T0 + 1);
    s = apply(s, gradeCmd(Q.open, BOB, { 'crit-kernel': 1, 'crit-boot': 0, 'crit-example': 0 }), T0 + 1);
    expect(player(s, ADA).gradedPoints).toBe(600);
    const re = run(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks: { 'crit-kernel': 1, 'crit-boot': 1, 'crit-example': 1 }, comment: 'regraded', grader: 'ta' }, T0 + 2);
    expect(re.events).toEqual([{ type: 'graded', playerId: ADA, questionId: Q.open, version: 2 }]);
    const g = record(re.state, Q.open, ADA).grade!;
    expect(g).toEqual({ marks: { 'crit-kernel': 1, 'crit-boot': 1, 'crit-example': 1 }, comment: 'regraded', points: 300, gradedAt: T0 + 2, grader: 'ta', version: 2 });
    expect(player(re.state, ADA).gradedPoints).toBe(300);
    expect(player(re.state, BOB).gradedPoints).toBe(100);
    // Graded points add up across questions; regrading one leaves the other.
    let both = openQuestionAt(re.state, QI[Q.justify]!, T0 + 3);
    both = apply(both, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'why' }), T0 + 4);
    both = apply(both, { type: 'close' }, T0 + 5);
    both = apply(both, gradeCmd(Q.justify, ADA, { 'crit-handshake': 2, 'crit-datagram': 1 }), T0 + 6);
    expect(player(both, ADA).gradedPoints).toBe(600);
    both = apply(both, gradeCmd(Q.open, ADA, fullOpen), T0 + 7);
    expect(player(both, ADA).gradedPoints).toBe(900);
    expect(record(both, Q.open, ADA).grade?.version).toBe(3);
    both = apply(both, gradeCmd(Q.open, ADA, { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 0 }), T0 + 8);
    expect(player(both, ADA).gradedPoints).toBe(300);
  });

  it('SP1: a written response to a closed question can be spotlighted', () => {
    const s = openAnswered();
    const { state, events } = run(s, { type: 'spotlight', questionId: Q.open, playerId: ADA });
    expect(state.session.spotlight).toEqual({ questionId: Q.open, playerId: ADA });
    expect(events).toEqual([{ type: 'spotlight-changed' }]);
    const j = apply(justifyAnswered(), { type: 'spotlight', questionId: Q.justify, playerId: ADA });
    expect(j.session.spotlight).toEqual({ questionId: Q.justify, playerId: ADA });
    const cleared = run(state, { type: 'spotlight-clear' });
    expect(cleared.state.session.spotlight).toBeNull();
    expectRejected(cleared.state, { type: 'spotlight-clear' }, T0, 'BAD_PHASE');
  });

  it('SP1: a response to an open question, or no written response, cannot be spotlighted', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada']), QI[Q.open]!);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'draft' }));
    expectRejected(s, { type: 'spotlight', questionId: Q.open, playerId: ADA }, T0, 'BAD_PHASE');
    const j = justifyAnswered();
    expectRejected(j, { type: 'spotlight', questionId: Q.justify, playerId: BOB }, T0, 'NOT_FOUND'); // answered, no justification
    const single = apply(apply(started(), right(ADA)), { type: 'close' });
    expectRejected(single, { type: 'spotlight', questionId: Q.single, playerId: ADA }, T0, 'NOT_FOUND');
    expectRejected(j, { type: 'spotlight', questionId: Q.justify, playerId: 'p-nobody' }, T0, 'NOT_FOUND');
  });

  it('SP1: opening the next question clears the spotlight', () => {
    let s = apply(openAnswered(), { type: 'spotlight', questionId: Q.open, playerId: ADA });
    s = apply(s, { type: 'reveal' });
    expect(s.session.spotlight).not.toBeNull();
    s = apply(s, { type: 'next' });
    expect(s.session.phase).toBe('open');
    expect(s.session.spotlight).toBeNull();
  });
});

// ------------------------------------------------------------------ purity

describe('purity', () => {
  it('I4: the engine never mutates its input, accepted or not', () => {
    let s = joinAll(game(), ['Ada', 'Bob']);
    const cmds: [Command, number][] = [
      [{ type: 'start' }, T0],
      [right(ADA), T0 + 100],
      [wrong(BOB), T0 + 200],
      [{ type: 'pause' }, T0 + 300],
      [{ type: 'resume' }, T0 + 400],
      [{ type: 'close' }, T0 + 500],
      [{ type: 'reveal' }, T0 + 600],
      [{ type: 'leaderboard' }, T0 + 700],
      [{ type: 'next' }, T0 + 800],
      [{ type: 'skip' }, T0 + 900],
      [{ type: 'kick', playerId: BOB }, T0 + 950],
      [{ type: 'end' }, T0 + 1000],
    ];
    for (const [cmd, now] of cmds) {
      const before = structuredClone(s);
      deepFreeze(s);
      const r = reduce(s, cmd, now);
      expect(r.ok, cmd.type).toBe(true);
      expect(s).toEqual(before);
      if (r.ok) s = r.state;
    }
  });
});

describe('pause and skip details', () => {
  it('G6: time spent paused does not count in the response time (SC3)', () => {
    let s = started();
    s = apply(s, { type: 'pause' }, T0 + 2_000);
    s = apply(s, { type: 'resume' }, T0 + 62_000); // paused for a minute
    s = apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 1 }), T0 + 63_000);
    expect(record(s, Q.single, ADA).elapsedMs).toBe(3_000);
  });

  it('G4: a skipped question is never graded or spotlighted, even after later questions', () => {
    let s = openQuestionAt(joinAll(game(), ['Ada', 'Bob']), QI[Q.open]!, T0);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'Worth grading?' }), T0 + 1000);
    s = apply(s, { type: 'skip' }, T0 + 2000);
    expect(s.session.skippedQuestionIds).toContain(Q.open);
    expectRejected(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks: {}, comment: '', grader: 't' }, T0 + 3000, 'NOT_GRADABLE');
    expectRejected(s, { type: 'spotlight', questionId: Q.open, playerId: ADA }, T0 + 3000, 'BAD_PHASE');
  });
});

describe('nickname policies', () => {
  const join = (nickname: string, offered?: string[]): Command =>
    offered === undefined ? { type: 'join', playerId: 'p-new', nickname } : { type: 'join', playerId: 'p-new', nickname, offered };

  it('J7: with generated names a student may only take a name they were offered', () => {
    const s = game({ nicknamePolicy: 'generated' });
    expectRejected(s, join('Ada', ['Brave Otter', 'Calm Panda']), T0, 'NICKNAME_INVALID');
    expectRejected(s, join('Brave Otter'), T0, 'NICKNAME_INVALID');
    expect(apply(s, join('Brave Otter', ['Brave Otter', 'Calm Panda'])).players['p-new']!.nickname).toBe('Brave Otter');
  });

  it('J8: the profanity filter refuses rude nicknames and look-alike spellings, and can be switched off', () => {
    const s = game();
    for (const rude of ['shit', 'Sh1t Head', 'f.u.c.k', 'BIIITCH', 'ａｓｓｈｏｌｅ']) expectRejected(s, join(rude), T0, 'NICKNAME_INVALID');
    for (const fine of ['Scunthorpe fan', 'Ada', 'Glasshouse']) expect(apply(s, join(fine)).players['p-new']).toBeDefined();
    expect(apply(game({ profanityFilter: false }), join('shit')).players['p-new']).toBeDefined();
  });
});
