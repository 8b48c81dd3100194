/**
 * The game state the pure engine works on. Plain JSON (no Maps, no Dates) so a store can
 * persist any part of it as-is. The engine never reads a clock: every time is passed in.
 */
import type { AnswerInput, Phase, Question, SessionOptions } from '@quizroom/shared';

export interface Player {
  id: string;
  nickname: string;
  joinedAt: number;
  /** Auto-scored points including streak bonuses. */
  score: number;
  /** Rubric points the instructor gave (open answers and justifications). */
  gradedPoints: number;
  streak: number;
  correctCount: number;
  /** Sum of response times of correct answers: the tie-breaker in accuracy scoring. */
  totalTimeMs: number;
  kicked: boolean;
  /** Rank before the latest question was scored, for leaderboard movement. */
  previousRank: number | null;
  /** The student allowed their name to be shown with a spotlighted response. */
  showNameInSpotlight: boolean;
}

export interface Grade {
  /** Marks per rubric criterion id. */
  marks: Record<string, number>;
  comment: string;
  /** Leaderboard points these marks are worth. */
  points: number;
  gradedAt: number;
  grader: string;
  /** Increments on every regrade; graders see each other's changes by it. */
  version: number;
}

export interface AnswerRecord {
  playerId: string;
  questionId: string;
  answer: AnswerInput;
  receivedAt: number;
  /** Response time after latency compensation (ms). */
  elapsedMs: number;
  /** null: no auto correctness (poll, open). */
  correct: boolean | null;
  fraction: number | null;
  /** Auto-scored points, without streak bonus. */
  points: number;
  /** Set when the question closes. */
  streakBonus: number;
  justification: string | null;
  /** Increments when an open answer or a justification is edited before the deadline. */
  textVersion: number;
  grade: Grade | null;
}

export interface CurrentQuestion {
  index: number;
  questionId: string;
  openedAt: number;
  durationMs: number;
  /** Server time at which answers stop being accepted (before latency grace). */
  deadline: number;
  /** Set while paused: the time that was left. */
  pausedRemainingMs: number | null;
  /** Order questions: presented position → index in the authored (correct) order. */
  presented: number[];
  /** Set when the question is voided by skip: its answers never count. */
  skipped: boolean;
}

export interface Spotlight {
  questionId: string;
  playerId: string;
}

export interface SessionCore {
  code: string;
  bankId: string;
  bankTitle: string;
  createdAt: number;
  options: SessionOptions;
  phase: Phase;
  /** Increments on every phase transition; commands issued for an older step are stale. */
  step: number;
  /** -1 before the first question. */
  questionIndex: number;
  current: CurrentQuestion | null;
  locked: boolean;
  /** Seeds the presentation shuffle of order questions (drawn from crypto by the server). */
  seed: number;
  finishedAt: number | null;
  spotlight: Spotlight | null;
  /** Questions voided by skip: never scored, graded or spotlighted (G4). */
  skippedQuestionIds: string[];
}

export interface GameState {
  session: SessionCore;
  /** Fixed when the session is created; the stores hand out one deep-frozen copy (ST25): never mutate. */
  questions: Question[];
  players: Record<string, Player>;
  /** answers[questionId][playerId] */
  answers: Record<string, Record<string, AnswerRecord>>;
}

export function newPlayer(id: string, nickname: string, joinedAt: number): Player {
  return {
    id,
    nickname,
    joinedAt,
    score: 0,
    gradedPoints: 0,
    streak: 0,
    correctCount: 0,
    totalTimeMs: 0,
    kicked: false,
    previousRank: null,
    showNameInSpotlight: false,
  };
}

export function newGame(args: {
  code: string;
  bankId: string;
  bankTitle: string;
  questions: Question[];
  options: SessionOptions;
  seed: number;
  now: number;
}): GameState {
  return {
    session: {
      code: args.code,
      bankId: args.bankId,
      bankTitle: args.bankTitle,
      createdAt: args.now,
      options: args.options,
      phase: 'lobby',
      step: 0,
      questionIndex: -1,
      current: null,
      locked: false,
      seed: args.seed >>> 0,
      finishedAt: null,
      spotlight: null,
      skippedQuestionIds: [],
    },
    questions: args.questions,
    players: {},
    answers: {},
  };
}

export function currentQuestion(state: GameState): Question | null {
  const cur = state.session.current;
  return cur ? (state.questions[cur.index] ?? null) : null;
}
