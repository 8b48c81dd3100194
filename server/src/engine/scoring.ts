/**
 * Scoring rules (SPEC section "Scoring"). Pure functions of the question, the answer and
 * the response time.
 */
import { normaliseShortAnswer, rubricMaxMarks, type AnswerInput, type Question, type Rubric, type SessionOptions } from '@quizroom/shared';

export interface Assessment {
  /** null when the question has no auto-scored correctness (poll, open). */
  correct: boolean | null;
  /** Share of full credit, 0..1 (null when not auto-scored). */
  fraction: number | null;
}

/** Under this response time a correct answer earns full points (Kahoot! model). */
export const FULL_POINTS_WINDOW_MS = 500;

/**
 * Response time the score is based on (SC3): time from the question reaching this student's
 * socket to the answer reaching the server, minus the measured round trip, bounded by the
 * session's cap so a client that slows its pings cannot gain more than the cap.
 */
export function compensatedElapsed(args: {
  receivedAt: number;
  sentAt: number;
  openedAt: number;
  rttMs: number;
  maxCompensationMs: number;
  durationMs: number;
}): number {
  const sentAt = Math.max(args.sentAt, args.openedAt);
  const compensation = latencyGrace(args.rttMs, args.maxCompensationMs);
  const elapsed = args.receivedAt - sentAt - compensation;
  return Math.min(Math.max(0, Math.round(elapsed)), args.durationMs);
}

/** How much measured latency we forgive, bounded by the session cap (SC3, A5). */
export function latencyGrace(rttMs: number, maxCompensationMs: number): number {
  if (!Number.isFinite(rttMs) || rttMs < 0) return 0;
  return Math.min(rttMs, maxCompensationMs);
}

export function assess(question: Question, answer: AnswerInput, presented: number[]): Assessment {
  switch (question.type) {
    case 'single': {
      if (answer.type !== 'single') break;
      const correct = question.choices[answer.choice]?.correct === true;
      return { correct, fraction: correct ? 1 : 0 };
    }
    case 'multi': {
      if (answer.type !== 'multi') break;
      const totalCorrect = question.choices.filter((c) => c.correct).length;
      const hits = answer.choices.filter((i) => question.choices[i]?.correct).length;
      const misses = answer.choices.length - hits;
      const fraction = Math.max(0, Math.min(1, (hits - misses) / totalCorrect));
      return { correct: hits === totalCorrect && misses === 0, fraction };
    }
    case 'truefalse': {
      if (answer.type !== 'truefalse') break;
      const correct = answer.value === question.answer;
      return { correct, fraction: correct ? 1 : 0 };
    }
    case 'short': {
      if (answer.type !== 'short') break;
      const given = normaliseShortAnswer(answer.text, question.caseSensitive);
      const correct = question.accept.some((a) => normaliseShortAnswer(a, question.caseSensitive) === given);
      return { correct, fraction: correct ? 1 : 0 };
    }
    case 'numeric': {
      if (answer.type !== 'numeric') break;
      return numericCloseness(answer.value, question.value, question.tolerance);
    }
    case 'order': {
      if (answer.type !== 'order') break;
      const sequence = answer.order.map((p) => presented[p] ?? -1);
      const fraction = pairsInOrder(sequence);
      return { correct: fraction === 1, fraction };
    }
    case 'poll':
    case 'open':
      return { correct: null, fraction: null };
  }
  return { correct: false, fraction: 0 };
}

/** SC6: within tolerance is full credit; out to 3× tolerance the credit falls linearly to 0. */
export function numericCloseness(given: number, value: number, tolerance: number): Assessment {
  const distance = Math.abs(given - value);
  const tol = Math.max(tolerance, Math.abs(value) * 1e-9, 1e-9);
  if (distance <= tol) return { correct: true, fraction: 1 };
  if (tolerance > 0 && distance < 3 * tolerance) {
    return { correct: false, fraction: round3(1 - (distance - tolerance) / (2 * tolerance)) };
  }
  return { correct: false, fraction: 0 };
}

/** SC5: the share of item pairs the student put in the right relative order. */
export function pairsInOrder(sequence: number[]): number {
  let good = 0;
  let total = 0;
  for (let i = 0; i < sequence.length; i++) {
    for (let j = i + 1; j < sequence.length; j++) {
      total++;
      if (sequence[i]! < sequence[j]!) good++;
    }
  }
  return total === 0 ? 0 : round3(good / total);
}

/**
 * SC1/SC2: speed scoring on the Kahoot! model, round((1 − (t/T)/2) × points), full points
 * under half a second; accuracy scoring gives full points and lets time break ties only.
 * Partial credit scales the result.
 */
export function autoPoints(args: {
  points: number;
  fraction: number | null;
  elapsedMs: number;
  durationMs: number;
  scoring: SessionOptions['scoring'];
}): number {
  if (args.fraction === null || args.fraction <= 0) return 0;
  let speed = 1;
  if (args.scoring === 'speed' && args.elapsedMs >= FULL_POINTS_WINDOW_MS && args.durationMs > 0) {
    speed = 1 - Math.min(1, args.elapsedMs / args.durationMs) / 2;
  }
  return Math.round(args.points * args.fraction * speed);
}

/** SC7: the n-th correct answer in a row earns (n − 1) × step, capped. */
export function streakBonus(streak: number, options: Pick<SessionOptions, 'streak' | 'streakStep' | 'streakMax'>): number {
  if (!options.streak || streak < 2) return 0;
  return Math.min((streak - 1) * options.streakStep, options.streakMax);
}

/** SC9: rubric marks scale to the question's points for full marks. */
export function rubricPoints(rubric: Rubric, marks: Record<string, number>, pointsForFullMarks: number): number {
  const max = rubricMaxMarks(rubric);
  const got = rubric.reduce((sum, c) => sum + (marks[c.id] ?? 0), 0);
  return max === 0 ? 0 : Math.round((pointsForFullMarks * got) / max);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
