/**
 * Scoring rules SC1–SC11: the pure functions of scoring.ts and ranking.ts, and the same rules
 * observed through the reducer.
 */
import { describe, expect, it } from 'vitest';
import type { AnswerInput, SessionOptionsInput } from '@quizroom/shared';
import type { Command } from './commands.ts';
import { computeRanking } from './ranking.ts';
import { presentationOrder } from './rng.ts';
import { assess, autoPoints, compensatedElapsed, latencyGrace, numericCloseness, pairsInOrder, rubricPoints, streakBonus } from './scoring.ts';
import type { GameState } from './state.ts';
import {
  answerCmd,
  apply,
  DEFAULT_OPTIONS,
  game,
  joinAll,
  openQuestionAt,
  orderAnswer,
  pid,
  player,
  Q,
  QI,
  question,
  QUESTIONS,
  record,
  T0,
  T_MS,
} from './test-fixtures.ts';

const ADA = pid('Ada');
const BOB = pid('Bob');
const CY = pid('Cy');
const DEE = pid('Dee');

/** Opens question `qid` at T0 for the given players (fresh game). */
function openFor(qid: string, names: string[] = ['Ada'], opts: SessionOptionsInput = {}): GameState {
  return openQuestionAt(joinAll(game(opts), names), QI[qid]!, T0);
}

/** Points of one answer given `elapsed` ms after the question opened (no latency). */
function pointsFor(qid: string, answer: AnswerInput, elapsed: number, opts: SessionOptionsInput = {}): number {
  let s = openFor(qid, ['Ada'], opts);
  const ans = answer.type === 'order' && answer.order.length === 0 ? orderAnswer(s, [0, 1, 2, 3]) : answer;
  s = apply(s, answerCmd(ADA, qid, ans), T0 + elapsed);
  return record(s, qid, ADA).points;
}

const rightSingle: AnswerInput = { type: 'single', choice: 1 };

describe('SC1 speed scoring', () => {
  it('SC1: a correct answer earns round((1 − (t/T)/2) × points): T=20000, t=10000, 1000 points → 750', () => {
    expect(autoPoints({ points: 1000, fraction: 1, elapsedMs: 10_000, durationMs: 20_000, scoring: 'speed' })).toBe(750);
    expect(pointsFor(Q.single, rightSingle, 10_000)).toBe(750);
  });

  it('SC1: full points when t < 500 ms (t=400 → 1000, t=499 → 1000, t=500 → 988)', () => {
    expect(autoPoints({ points: 1000, fraction: 1, elapsedMs: 400, durationMs: 20_000, scoring: 'speed' })).toBe(1000);
    expect(pointsFor(Q.single, rightSingle, 400)).toBe(1000);
    expect(pointsFor(Q.single, rightSingle, 0)).toBe(1000);
    expect(pointsFor(Q.single, rightSingle, 499)).toBe(1000);
    expect(pointsFor(Q.single, rightSingle, 500)).toBe(988); // 1000 × (1 − 0.0125) = 987.5 → 988
  });

  it('SC1: t = T earns half the points (t=T → 500)', () => {
    expect(autoPoints({ points: 1000, fraction: 1, elapsedMs: 20_000, durationMs: 20_000, scoring: 'speed' })).toBe(500);
    expect(pointsFor(Q.single, rightSingle, T_MS)).toBe(500);
  });

  it('SC1: more examples, rounding and other point values', () => {
    const p = (points: number, t: number, T = 20_000) => autoPoints({ points, fraction: 1, elapsedMs: t, durationMs: T, scoring: 'speed' });
    expect(p(1000, 5000)).toBe(875);
    expect(p(1000, 15_000)).toBe(625);
    expect(p(500, 10_000)).toBe(375);
    expect(p(1000, 1000, 30_000)).toBe(983); // 1000 × (1 − 1/60) = 983.33
    expect(p(999, 10_000)).toBe(749); // 749.25
    expect(p(0, 10_000)).toBe(0);
    expect(p(1000, 40_000)).toBe(500); // never below half
  });

  it('SC1: T is the time limit scaled by the session time multiplier', () => {
    // T = 40 000 with multiplier 2: t = 10 000 → 1000 × (1 − 0.125) = 875.
    const s = openFor(Q.single, ['Ada'], { timeMultiplier: 2 });
    expect(s.session.current?.durationMs).toBe(40_000);
    expect(pointsFor(Q.single, rightSingle, 10_000, { timeMultiplier: 2 })).toBe(875);
  });

  it('SC1: a wrong answer earns nothing however fast', () => {
    expect(pointsFor(Q.single, { type: 'single', choice: 0 }, 0)).toBe(0);
    expect(autoPoints({ points: 1000, fraction: 0, elapsedMs: 0, durationMs: 20_000, scoring: 'speed' })).toBe(0);
    expect(autoPoints({ points: 1000, fraction: null, elapsedMs: 0, durationMs: 20_000, scoring: 'speed' })).toBe(0);
  });
});

describe('SC2 accuracy scoring', () => {
  it('SC2: in accuracy scoring a correct answer earns full points whatever the time', () => {
    for (const t of [0, 499, 500, 10_000, 19_999, 20_000]) {
      expect(autoPoints({ points: 1000, fraction: 1, elapsedMs: t, durationMs: 20_000, scoring: 'accuracy' })).toBe(1000);
      expect(pointsFor(Q.single, rightSingle, t, { scoring: 'accuracy' })).toBe(1000);
    }
    // Partial credit is still scaled by the fraction.
    expect(autoPoints({ points: 1000, fraction: 0.5, elapsedMs: 19_000, durationMs: 20_000, scoring: 'accuracy' })).toBe(500);
  });

  it('SC2: the response time is still recorded (it breaks ties, SC11)', () => {
    let s = openFor(Q.single, ['Ada'], { scoring: 'accuracy' });
    s = apply(s, answerCmd(ADA, Q.single, rightSingle), T0 + 7000);
    expect(record(s, Q.single, ADA).elapsedMs).toBe(7000);
    s = apply(s, { type: 'close' }, T0 + 8000);
    expect(player(s, ADA).totalTimeMs).toBe(7000);
  });
});

describe('SC3 latency compensation', () => {
  const base = { openedAt: T0, maxCompensationMs: 600, durationMs: 20_000 };

  it('SC3: t = received − max(sent, opened) − min(rtt, cap)', () => {
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0, rttMs: 0 })).toBe(10_000);
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0 + 2000, rttMs: 0 })).toBe(8000); // emitted late to this socket
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0 - 5000, rttMs: 0 })).toBe(10_000); // never before the opening
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0 + 2000, rttMs: 300 })).toBe(7700);
  });

  it('SC3: t is clamped to [0, T]', () => {
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 100, sentAt: T0, rttMs: 500 })).toBe(0);
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 100, sentAt: T0 + 5000, rttMs: 0 })).toBe(0);
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 90_000, sentAt: T0, rttMs: 0 })).toBe(20_000);
  });

  it('SC3: a client claiming a huge round trip gains at most maxLatencyCompensationMs', () => {
    for (const rttMs of [600, 601, 5000, 1e9]) {
      expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0, rttMs })).toBe(9400);
    }
    expect(latencyGrace(1e9, 600)).toBe(600);
    expect(latencyGrace(250, 600)).toBe(250);
    expect(latencyGrace(250, 0)).toBe(0);
  });

  it('SC3: compensation never exceeds the measured round trip; a negative or bogus rtt earns none', () => {
    expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0, rttMs: 120 })).toBe(9880);
    for (const rttMs of [-1, -100_000, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
      expect(compensatedElapsed({ ...base, receivedAt: T0 + 10_000, sentAt: T0, rttMs })).toBe(10_000);
      expect(latencyGrace(rttMs, 600)).toBe(0);
    }
  });

  it('SC3: through the engine, an rtt beyond the cap scores like an rtt at the cap', () => {
    const score = (rttMs: number, opts: SessionOptionsInput = {}) => {
      let s = openFor(Q.single, ['Ada'], opts);
      s = apply(s, answerCmd(ADA, Q.single, rightSingle, { sentAt: T0 + 1000, rttMs }), T0 + 11_000);
      return { points: record(s, Q.single, ADA).points, elapsed: record(s, Q.single, ADA).elapsedMs };
    };
    expect(score(0)).toEqual({ points: 750, elapsed: 10_000 });
    expect(score(400)).toEqual({ points: 760, elapsed: 9600 });
    expect(score(600)).toEqual({ points: 765, elapsed: 9400 });
    expect(score(60_000)).toEqual({ points: 765, elapsed: 9400 });
    expect(score(60_000, { maxLatencyCompensationMs: 2000 })).toEqual({ points: 800, elapsed: 8000 });
    expect(score(60_000, { maxLatencyCompensationMs: 0 })).toEqual({ points: 750, elapsed: 10_000 });
  });
});

describe('SC4 multiple choice', () => {
  const multi = question(Q.multi, 'multi'); // right: 0 and 2 of 4

  it('SC4: credit (right − wrong picks) / right choices, clamped to [0, 1]; correct only when exact', () => {
    const cases: [number[], boolean, number][] = [
      [[0, 2], true, 1],
      [[2, 0], true, 1],
      [[0], false, 0.5],
      [[0, 1], false, 0],
      [[0, 1, 2], false, 0.5],
      [[0, 1, 2, 3], false, 0],
      [[1], false, 0],
      [[1, 3], false, 0],
    ];
    for (const [choices, correct, fraction] of cases) {
      expect(assess(multi, { type: 'multi', choices }, []), JSON.stringify(choices)).toEqual({ correct, fraction });
    }
  });

  it('SC4: partial credit scales the points', () => {
    expect(pointsFor(Q.multi, { type: 'multi', choices: [0] }, 0)).toBe(500);
    expect(pointsFor(Q.multi, { type: 'multi', choices: [0, 1, 2] }, 10_000)).toBe(375);
    expect(pointsFor(Q.multi, { type: 'multi', choices: [0, 2] }, 0)).toBe(1000);
    expect(pointsFor(Q.multi, { type: 'multi', choices: [1, 3] }, 0)).toBe(0);
  });

  it('SC4: a partially right answer is not correct: it breaks the streak', () => {
    let s = openFor(Q.single, ['Ada']);
    s = apply(s, answerCmd(ADA, Q.single, rightSingle), T0 + 100);
    s = apply(s, { type: 'close' }, T0 + 200);
    s = apply(s, { type: 'next' }, T0 + 300);
    s = apply(s, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0] }), T0 + 400);
    s = apply(s, { type: 'close' }, T0 + 500);
    expect(record(s, Q.multi, ADA)).toMatchObject({ correct: false, fraction: 0.5, points: 500, streakBonus: 0 });
    expect(player(s, ADA)).toMatchObject({ streak: 0, score: 1500, correctCount: 1 });
  });
});

describe('SC5 ordering', () => {
  const order = question(Q.order, 'order');

  it('SC5: credit is the share of item pairs in the right relative order', () => {
    expect(pairsInOrder([0, 1, 2, 3])).toBe(1);
    expect(pairsInOrder([1, 0, 2, 3])).toBe(0.833); // 5 of 6 pairs
    expect(pairsInOrder([0, 1, 3, 2])).toBe(0.833);
    expect(pairsInOrder([1, 0, 3, 2])).toBe(0.667); // 4 of 6
    expect(pairsInOrder([3, 0, 1, 2])).toBe(0.5); // 3 of 6
    expect(pairsInOrder([3, 2, 1, 0])).toBe(0);
    expect(pairsInOrder([1, 0])).toBe(0);
  });

  it('SC5: the answer refers to presented positions; correct only when every pair is in order', () => {
    const presented = [2, 0, 3, 1]; // position → authored index
    expect(assess(order, { type: 'order', order: [1, 3, 0, 2] }, presented)).toEqual({ correct: true, fraction: 1 });
    expect(assess(order, { type: 'order', order: [0, 1, 2, 3] }, presented)).toEqual({ correct: false, fraction: 0.5 }); // 2,0,3,1
    expect(assess(order, { type: 'order', order: [3, 1, 0, 2] }, presented)).toEqual({ correct: false, fraction: 0.833 }); // 1,0,2,3
    expect(assess(order, { type: 'order', order: [2, 0, 3, 1] }, presented)).toEqual({ correct: false, fraction: 0 }); // 3,2,1,0
  });

  it('SC5: through the engine, full and partial credit', () => {
    let s = openFor(Q.order, ['Ada', 'Bob', 'Cy']);
    s = apply(s, answerCmd(ADA, Q.order, orderAnswer(s, [0, 1, 2, 3])), T0 + 100);
    s = apply(s, answerCmd(BOB, Q.order, orderAnswer(s, [1, 0, 2, 3])), T0 + 100);
    s = apply(s, answerCmd(CY, Q.order, orderAnswer(s, [3, 2, 1, 0])), T0 + 100);
    expect(record(s, Q.order, ADA)).toMatchObject({ correct: true, fraction: 1, points: 1000 });
    expect(record(s, Q.order, BOB)).toMatchObject({ correct: false, fraction: 0.833, points: 833 });
    expect(record(s, Q.order, CY)).toMatchObject({ correct: false, fraction: 0, points: 0 });
    // Answering the presented order as shown is never full credit, since it is never the authored order.
    const asShown = apply(openFor(Q.order), answerCmd(ADA, Q.order, { type: 'order', order: [0, 1, 2, 3] }), T0);
    expect(record(asShown, Q.order, ADA).correct).toBe(false);
  });

  it('SC5: items are never presented in the authored order (n = 2…8, 2000 seeds each)', () => {
    for (let n = 2; n <= 8; n++) {
      for (let seed = 0; seed < 2000; seed++) {
        const p = presentationOrder(n, seed * 2654435761, seed % 7);
        expect(p.every((v, i) => v === i)).toBe(false);
        expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    }
  });

  it('SC5: the shuffle is deterministic per session seed and question, and the engine uses it', () => {
    expect(presentationOrder(6, 123, 4)).toEqual(presentationOrder(6, 123, 4));
    for (let seed = 0; seed < 50; seed++) {
      const s = openQuestionAt(joinAll(game({}, { seed }), ['Ada']), QI[Q.order]!);
      const presented = s.session.current!.presented;
      expect(presented).toEqual(presentationOrder(4, seed, QI[Q.order]!));
      expect(presented).not.toEqual([0, 1, 2, 3]);
    }
    // Other question types present nothing.
    expect(openFor(Q.single).session.current!.presented).toEqual([]);
  });
});

describe('SC6 numeric', () => {
  it('SC6: within ±tolerance is full credit and correct', () => {
    for (const v of [100, 95, 105, 97.5, 104.999]) expect(numericCloseness(v, 100, 5)).toEqual({ correct: true, fraction: 1 });
  });

  it('SC6: up to 3× the tolerance the credit falls linearly to 0', () => {
    expect(numericCloseness(110, 100, 5)).toEqual({ correct: false, fraction: 0.5 });
    expect(numericCloseness(90, 100, 5)).toEqual({ correct: false, fraction: 0.5 });
    expect(numericCloseness(107.5, 100, 5)).toEqual({ correct: false, fraction: 0.75 });
    expect(numericCloseness(112.5, 100, 5)).toEqual({ correct: false, fraction: 0.25 });
    expect(numericCloseness(115, 100, 5)).toEqual({ correct: false, fraction: 0 });
    expect(numericCloseness(85, 100, 5)).toEqual({ correct: false, fraction: 0 });
    expect(numericCloseness(1000, 100, 5)).toEqual({ correct: false, fraction: 0 });
  });

  it('SC6: with no tolerance only the exact value counts', () => {
    expect(numericCloseness(3, 3, 0)).toEqual({ correct: true, fraction: 1 });
    expect(numericCloseness(0.1 + 0.2, 0.3, 0)).toEqual({ correct: true, fraction: 1 }); // float noise is not a miss
    expect(numericCloseness(3.01, 3, 0)).toEqual({ correct: false, fraction: 0 });
  });

  it('SC6: through the engine, partial credit scales the points', () => {
    const q = question(Q.numeric, 'numeric');
    expect(assess(q, { type: 'numeric', value: 110 }, [])).toEqual({ correct: false, fraction: 0.5 });
    expect(pointsFor(Q.numeric, { type: 'numeric', value: 103 }, 0)).toBe(1000);
    expect(pointsFor(Q.numeric, { type: 'numeric', value: 110 }, 0)).toBe(500);
    expect(pointsFor(Q.numeric, { type: 'numeric', value: 110 }, 10_000)).toBe(375);
    expect(pointsFor(Q.numeric, { type: 'numeric', value: 120 }, 0)).toBe(0);
  });
});

describe('SC7 streaks', () => {
  it('SC7: the n-th correct answer in a row earns min((n − 1) × streakStep, streakMax)', () => {
    const o = DEFAULT_OPTIONS; // step 100, max 500
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((n) => streakBonus(n, o))).toEqual([0, 0, 100, 200, 300, 400, 500, 500, 500]);
    expect([1, 2, 3, 4].map((n) => streakBonus(n, { streak: true, streakStep: 250, streakMax: 600 }))).toEqual([0, 250, 500, 600]);
    expect(streakBonus(5, { streak: true, streakStep: 0, streakMax: 500 })).toBe(0);
  });

  it('SC7: no bonus when the streak option is off', () => {
    expect(streakBonus(10, { ...DEFAULT_OPTIONS, streak: false })).toBe(0);
  });

  it('SC7: through the engine, consecutive correct answers earn 0, 100, 200 … on top of their points', () => {
    const sequence: [string, AnswerInput][] = [
      [Q.single, { type: 'single', choice: 1 }],
      [Q.multi, { type: 'multi', choices: [0, 2] }],
      [Q.tf, { type: 'truefalse', value: true }],
      [Q.short, { type: 'short', text: ' hypervisor. ' }],
      [Q.numeric, { type: 'numeric', value: 101 }],
    ];
    const play = (opts: SessionOptionsInput) => {
      let s = joinAll(game(opts), ['Ada']);
      s = apply(s, { type: 'start' }, T0);
      const bonuses: number[] = [];
      for (const [i, [qid, ans]] of sequence.entries()) {
        if (i > 0) s = apply(s, { type: 'next' }, T0);
        s = apply(s, answerCmd(ADA, qid, ans), T0 + 100);
        s = apply(s, { type: 'close' }, T0 + 200);
        bonuses.push(record(s, qid, ADA).streakBonus);
      }
      return { s, bonuses };
    };
    const on = play({});
    expect(on.bonuses).toEqual([0, 100, 200, 300, 400]);
    expect(player(on.s, ADA)).toMatchObject({ streak: 5, score: 5000 + 1000, correctCount: 5 });
    const capped = play({ streakStep: 300, streakMax: 500 });
    expect(capped.bonuses).toEqual([0, 300, 500, 500, 500]);
    const off = play({ streak: false });
    expect(off.bonuses).toEqual([0, 0, 0, 0, 0]);
    expect(player(off.s, ADA)).toMatchObject({ streak: 5, score: 5000 });
  });
});

describe('SC8 scoring at close', () => {
  it('SC8: nothing is scored while the question is open; close scores it', () => {
    let s = openFor(Q.single, ['Ada']);
    s = apply(s, answerCmd(ADA, Q.single, rightSingle), T0 + 100);
    expect(player(s, ADA)).toMatchObject({ score: 0, streak: 0, correctCount: 0 });
    s = apply(s, { type: 'close' }, T0 + 200);
    expect(player(s, ADA)).toMatchObject({ score: 1000, streak: 1, correctCount: 1 });
  });

  it('SC8: a wrong answer or no answer resets the streak; poll and open questions leave it alone and earn no auto points', () => {
    // Bank order: single, multi, poll, open, truefalse.
    const questions = [Q.single, Q.multi, Q.poll, Q.open, Q.tf].map((id) => question(id));
    // Ada: always right. Bob: right, then wrong. Cy: right, then silent. Dee: joins late.
    let s = joinAll(game({}, { questions }), ['Ada', 'Bob', 'Cy']);
    s = apply(s, { type: 'start' }, T0);
    for (const p of [ADA, BOB, CY]) s = apply(s, answerCmd(p, Q.single, rightSingle), T0 + 100);
    s = apply(s, { type: 'close' }, T0 + 200);
    expect([ADA, BOB, CY].map((p) => player(s, p).streak)).toEqual([1, 1, 1]);
    s = apply(s, { type: 'next' }, T0 + 300);
    s = apply(s, answerCmd(ADA, Q.multi, { type: 'multi', choices: [0, 2] }), T0 + 400);
    s = apply(s, answerCmd(BOB, Q.multi, { type: 'multi', choices: [1] }), T0 + 400);
    s = apply(s, { type: 'join', playerId: DEE, nickname: 'Dee' }, T0 + 450);
    s = apply(s, { type: 'close' }, T0 + 500);
    const streaks = () => [ADA, BOB, CY, DEE].map((p) => player(s, p).streak);
    const scores = () => [ADA, BOB, CY, DEE].map((p) => player(s, p).score);
    expect(streaks()).toEqual([2, 0, 0, 0]);
    expect(record(s, Q.multi, ADA).streakBonus).toBe(100);
    expect(scores()).toEqual([2100, 1000, 1000, 0]);

    // Poll: streaks untouched, no points, for answerers and non-answerers alike.
    s = apply(s, { type: 'next' }, T0 + 600);
    s = apply(s, answerCmd(ADA, Q.poll, { type: 'poll', choices: [0] }), T0 + 700);
    s = apply(s, answerCmd(BOB, Q.poll, { type: 'poll', choices: [1, 2] }), T0 + 700);
    s = apply(s, { type: 'close' }, T0 + 800);
    expect(record(s, Q.poll, ADA)).toMatchObject({ correct: null, fraction: null, points: 0, streakBonus: 0 });
    expect(streaks()).toEqual([2, 0, 0, 0]);
    expect(scores()).toEqual([2100, 1000, 1000, 0]);

    // Open: likewise.
    s = apply(s, { type: 'next' }, T0 + 900);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'Shared kernel.' }), T0 + 1000);
    s = apply(s, { type: 'close' }, T0 + 1100);
    expect(record(s, Q.open, ADA)).toMatchObject({ correct: null, fraction: null, points: 0, streakBonus: 0 });
    expect(streaks()).toEqual([2, 0, 0, 0]);
    expect(scores()).toEqual([2100, 1000, 1000, 0]);

    // The streak survived both: Ada's next correct answer is her third in a row.
    s = apply(s, { type: 'next' }, T0 + 1200);
    s = apply(s, answerCmd(ADA, Q.tf, { type: 'truefalse', value: true }), T0 + 1300);
    s = apply(s, answerCmd(DEE, Q.tf, { type: 'truefalse', value: true }), T0 + 1300);
    s = apply(s, { type: 'close' }, T0 + 1400);
    expect(streaks()).toEqual([3, 0, 0, 1]);
    expect(record(s, Q.tf, ADA).streakBonus).toBe(200);
    expect(scores()).toEqual([3300, 1000, 1000, 1000]);
  });

  it('SC8: short answers are compared normalised (case, whitespace, trailing punctuation)', () => {
    const q = question(Q.short, 'short');
    for (const text of ['Hypervisor', 'hypervisor', ' HYPERVISOR. ', 'vmm!', 'Ｈｙｐｅｒｖｉｓｏｒ']) {
      expect(assess(q, { type: 'short', text }, []), text).toEqual({ correct: true, fraction: 1 });
    }
    expect(assess(q, { type: 'short', text: 'kernel' }, [])).toEqual({ correct: false, fraction: 0 });
    expect(assess(question(Q.tf, 'truefalse'), { type: 'truefalse', value: false }, [])).toEqual({ correct: false, fraction: 0 });
  });
});

describe('SC9 rubric points', () => {
  const open = question(Q.open, 'open'); // 600 points, max marks 2 + 3 + 1 = 6
  const justify = question(Q.justify, 'single');

  it('SC9: rubric points are round(points × marks / maxMarks)', () => {
    expect(rubricPoints(open.rubric, { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, 600)).toBe(600);
    expect(rubricPoints(open.rubric, { 'crit-kernel': 2, 'crit-boot': 2, 'crit-example': 0 }, 600)).toBe(400);
    expect(rubricPoints(open.rubric, { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 1 }, 600)).toBe(100);
    expect(rubricPoints(open.rubric, { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 0 }, 600)).toBe(0);
    expect(rubricPoints(open.rubric, { 'crit-kernel': 1, 'crit-boot': 0, 'crit-example': 0 }, 1000)).toBe(167); // 166.67
    expect(rubricPoints(justify.justify!.rubric, { 'crit-handshake': 1, 'crit-datagram': 0 }, 300)).toBe(100);
    expect(rubricPoints(justify.justify!.rubric, { 'crit-handshake': 1, 'crit-datagram': 0 }, 500)).toBe(167);
  });

  it('SC9: through the engine, open answers scale to the question points, justifications to the bonus points', () => {
    let s = openFor(Q.open, ['Ada', 'Bob']);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'kernel' }), T0 + 100);
    s = apply(s, { type: 'close' }, T0 + 200);
    const grade = (st: GameState, questionId: string, playerId: string, marks: Record<string, number>): GameState =>
      apply(st, { type: 'grade', questionId, playerId, marks, comment: '', grader: 'h' } satisfies Command, T0 + 300);
    s = grade(s, Q.open, ADA, { 'crit-kernel': 2, 'crit-boot': 2, 'crit-example': 0 });
    expect(record(s, Q.open, ADA).grade?.points).toBe(400);
    s = openQuestionAt(s, QI[Q.justify]!, T0 + 400);
    s = apply(s, answerCmd(ADA, Q.justify, { type: 'single', choice: 1 }, { justification: 'datagrams' }), T0 + 500);
    s = apply(s, { type: 'close' }, T0 + 600);
    s = grade(s, Q.justify, ADA, { 'crit-handshake': 1, 'crit-datagram': 1 });
    expect(record(s, Q.justify, ADA).grade?.points).toBe(200);
    expect(player(s, ADA).gradedPoints).toBe(600);
    // Graded points are kept apart from auto-scored points.
    expect(player(s, ADA).score).toBe(1000);
  });
});

describe('SC10 never negative', () => {
  it('SC10: wrong picks never take points away and scores never go below zero', () => {
    expect(assess(question(Q.multi, 'multi'), { type: 'multi', choices: [1, 3] }, []).fraction).toBe(0);
    expect(autoPoints({ points: 1000, fraction: -1, elapsedMs: 0, durationMs: 20_000, scoring: 'speed' })).toBe(0);
    let s = joinAll(game(), ['Ada']);
    s = apply(s, { type: 'start' }, T0);
    s = apply(s, answerCmd(ADA, Q.single, { type: 'single', choice: 0 }), T0 + 1);
    s = apply(s, { type: 'close' }, T0 + 2);
    s = apply(s, { type: 'next' }, T0 + 3);
    s = apply(s, answerCmd(ADA, Q.multi, { type: 'multi', choices: [1, 3] }), T0 + 4);
    s = apply(s, { type: 'close' }, T0 + 5);
    expect(player(s, ADA).score).toBe(0);
    expect(record(s, Q.multi, ADA).points).toBe(0);
    expect(computeRanking(s, 'final').entries[0]?.score).toBe(0);
  });

  it('SC10: a regrade to zero marks leaves graded points at zero, not below', () => {
    let s = openFor(Q.open, ['Ada']);
    s = apply(s, answerCmd(ADA, Q.open, { type: 'open', text: 'kernel' }), T0 + 100);
    s = apply(s, { type: 'close' }, T0 + 200);
    const zero = { 'crit-kernel': 0, 'crit-boot': 0, 'crit-example': 0 };
    for (const marks of [{ 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, zero, zero]) {
      s = apply(s, { type: 'grade', questionId: Q.open, playerId: ADA, marks, comment: '', grader: 'h' }, T0 + 300);
    }
    expect(player(s, ADA).gradedPoints).toBe(0);
  });
});

describe('SC11 ranking', () => {
  /** Players answer question 0 after the given delays (null: no answer), then it closes. */
  function afterOne(delays: (number | null)[], opts: SessionOptionsInput = {}): GameState {
    const names = delays.map((_, i) => `P${i}`);
    let s = joinAll(game(opts), names);
    s = apply(s, { type: 'start' }, T0);
    delays.forEach((d, i) => {
      if (d !== null) s = apply(s, answerCmd(pid(names[i]!), Q.single, rightSingle), T0 + d);
    });
    return apply(s, { type: 'close' }, T0 + T_MS);
  }

  it('SC11: players are ranked by total; equal totals share a rank (1, 2, 2, 4)', () => {
    // 0 ms and 400 ms both earn 1000 (SC1); 10 000 ms earns 750 twice; nothing earns 0.
    const s = afterOne([0, 400, 10_000, 10_000, null]);
    const ranking = computeRanking(s, 'live');
    expect(ranking.entries.map((e) => [e.nickname, e.score, e.rank])).toEqual([
      ['P0', 1000, 1],
      ['P1', 1000, 1],
      ['P2', 750, 3],
      ['P3', 750, 3],
      ['P4', 0, 5],
    ]);
    expect(ranking.rankOf.get(pid('P3'))).toBe(3);
    expect(ranking.totalOf.get(pid('P2'))).toBe(750);
  });

  it('SC11: in accuracy scoring the total time of correct answers breaks ties', () => {
    const s = afterOne([5000, 1000, 1000, 3000, null], { scoring: 'accuracy' });
    const entries = computeRanking(s, 'live').entries;
    expect(entries.map((e) => [e.nickname, e.score, e.rank])).toEqual([
      ['P1', 1000, 1],
      ['P2', 1000, 1], // same total and same time: shared rank
      ['P3', 1000, 3],
      ['P0', 1000, 4],
      ['P4', 0, 5],
    ]);
  });

  it('SC11: in speed scoring the time does not break ties', () => {
    const s = afterOne([0, 450]);
    expect(computeRanking(s, 'live').entries.map((e) => e.rank)).toEqual([1, 1]);
  });

  it('SC12: the first board that separates players shows no movement (everyone was tied at 0)', () => {
    const s = afterOne([100, 15_000, null]);
    expect(computeRanking(s, 'live').entries.map((e) => [e.nickname, e.rank, e.movement])).toEqual([
      ['P0', 1, 0],
      ['P1', 2, 0],
      ['P2', 3, 0],
    ]);
  });

  it('SC12: movement is the change of rank since the previous scoring', () => {
    let s = afterOne([100, 15_000]); // P0 first, P1 second
    s = apply(s, { type: 'next' }, T0 + 30_000);
    s = apply(s, answerCmd(pid('P1'), Q.multi, { type: 'multi', choices: [0, 2] }), T0 + 30_100);
    s = apply(s, { type: 'close' }, T0 + 40_000);
    const entries = computeRanking(s, 'live').entries;
    expect(entries.map((e) => [e.nickname, e.rank, e.movement])).toEqual([
      ['P1', 1, 1],
      ['P0', 2, -1],
    ]);
  });

  it('SC11: kicked players take no rank', () => {
    let s = afterOne([0, 100, 200]);
    s = apply(s, { type: 'kick', playerId: pid('P0') });
    expect(computeRanking(s, 'live').entries.map((e) => [e.nickname, e.rank])).toEqual([
      ['P1', 1],
      ['P2', 1],
    ]);
  });

  it('fixture bank: one question of every type, plus a single question with a justification', () => {
    expect(QUESTIONS.map((q) => q.type)).toEqual(['single', 'multi', 'truefalse', 'short', 'numeric', 'order', 'poll', 'open', 'single']);
  });
});
