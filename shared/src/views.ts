/**
 * What each audience is allowed to see: the server computes these projections from the
 * game state and sends nothing else. A student's view never carries a correct answer,
 * another student's answer or a rubric before reveal (SPEC P1–P4).
 */
import type { AnswerInput } from './answer.ts';
import type { Difficulty, QuestionType, RubricCriterion } from './question.ts';

export type Phase = 'lobby' | 'open' | 'closed' | 'reveal' | 'leaderboard' | 'finished';

export type ScoringMode = 'speed' | 'accuracy';

/** A question as students and the display see it while it is open: no correct answer. */
export interface PublicQuestion {
  id: string;
  index: number;
  total: number;
  type: QuestionType;
  prompt: string;
  timeLimitMs: number;
  points: number;
  difficulty: Difficulty;
  /** Choice texts (single, multi, poll); true/false has none. */
  choices?: string[];
  /** Order items in the shuffled order students see. */
  items?: string[];
  unit?: string;
  maxLength?: number;
  /** Present when the student may add a justification. */
  justify?: { prompt: string; maxLength: number };
}

/** The correct answer, revealed to everyone at reveal. */
export type Solution =
  | { type: 'single' | 'multi'; correct: number[] }
  | { type: 'truefalse'; answer: boolean }
  | { type: 'short'; accept: string[] }
  | { type: 'numeric'; value: number; tolerance: number; unit?: string }
  | { type: 'order'; items: string[] }
  | { type: 'poll' }
  | { type: 'open' };

/** Answer counts per option (choice index / true,false / presented order position). */
export interface Distribution {
  answered: number;
  eligible: number;
  /** single/multi/poll: count per choice; truefalse: [true, false]. */
  counts?: number[];
  correctCount?: number;
  /** short/numeric: most frequent normalised answers. */
  top?: { value: string; count: number; correct: boolean }[];
}

export interface LeaderboardEntry {
  playerId: string;
  nickname: string;
  score: number;
  rank: number;
  /** Rank change since the previous leaderboard (positive = moved up). */
  movement: number;
  streak: number;
}

export interface GradeView {
  marks: Record<string, number>;
  maxMarks: number;
  points: number;
  comment: string;
  gradedAt: number;
  grader: string;
}

export interface MyResult {
  questionId: string;
  answered: boolean;
  correct: boolean | null;
  fraction: number | null;
  points: number;
  streakBonus: number;
  streak: number;
  /** Set for open and justify questions: null until the instructor grades. */
  grade?: GradeView | null;
  awaitingGrade: boolean;
}

export interface StudentView {
  role: 'student';
  code: string;
  phase: Phase;
  step: number;
  /** `consent`: may the instructor show this student's name with a spotlighted response (P4)? */
  me: { playerId: string; nickname: string; score: number; rank: number | null; streak: number; consent: boolean };
  playerCount: number;
  question: PublicQuestion | null;
  /** Server time (ms since epoch) at which the open question closes; null when paused/closed. */
  deadline: number | null;
  pausedRemainingMs: number | null;
  /** The student's own submission for the current question, if any. */
  myAnswer: { answer: AnswerInput | null; justification: string | null } | null;
  /** After reveal: the solution, explanation and the student's own result. */
  reveal: { solution: Solution; explanation: string; result: MyResult } | null;
  /** Rubric-graded results of earlier questions (arrive whenever the instructor grades). */
  grades: { questionId: string; prompt: string; grade: GradeView; kind: 'open' | 'justify' }[];
  leaderboard: LeaderboardEntry[] | null;
  final: { rank: number; score: number; players: number } | null;
  serverNow: number;
}

export interface DisplayView {
  role: 'display';
  code: string;
  phase: Phase;
  step: number;
  locked: boolean;
  playerCount: number;
  /** Newest joiners first, bounded (a lecture hall does not fit on a projector). */
  recentNicknames: string[];
  question: PublicQuestion | null;
  deadline: number | null;
  pausedRemainingMs: number | null;
  answeredCount: number;
  distribution: Distribution | null;
  solution: Solution | null;
  explanation: string | null;
  leaderboard: LeaderboardEntry[] | null;
  podium: LeaderboardEntry[] | null;
  spotlight: SpotlightView | null;
  serverNow: number;
}

export interface SpotlightView {
  questionId: string;
  prompt: string;
  text: string;
  author: string | null;
  grade: GradeView | null;
}

export interface HostPlayer {
  playerId: string;
  nickname: string;
  score: number;
  gradedPoints: number;
  streak: number;
  connected: boolean;
  answeredCurrent: boolean;
}

export interface HostQuestionSummary {
  id: string;
  index: number;
  type: QuestionType;
  prompt: string;
  hasRubric: boolean;
  /** The criteria a response is graded against (open questions and justifications), so the
   * grading queue can score any question, not only the current one (P3). */
  rubric: RubricCriterion[] | null;
}

/** The host's spotlight also names the response (the display's never does: P4). */
export interface HostSpotlightView extends SpotlightView {
  playerId: string;
}

export interface HostView {
  role: 'host';
  code: string;
  bankId: string;
  bankTitle: string;
  phase: Phase;
  step: number;
  locked: boolean;
  options: SessionOptionsView;
  players: HostPlayer[];
  questions: HostQuestionSummary[];
  questionIndex: number;
  question: (PublicQuestion & { explanation: string; solution: Solution; rubric: RubricCriterion[] | null }) | null;
  deadline: number | null;
  pausedRemainingMs: number | null;
  distribution: Distribution | null;
  leaderboard: LeaderboardEntry[];
  spotlight: HostSpotlightView | null;
  /** Join attempts in the last minute, to spot a bot flood (added by the server, not the engine). */
  joinActivity?: { attempts: number; refused: number; throttled: number };
  serverNow: number;
}

export interface SessionOptionsView {
  scoring: ScoringMode;
  streak: boolean;
  timeMultiplier: number;
  allowLateJoin: boolean;
  gradedPointsLive: boolean;
  nicknamePolicy: 'free' | 'generated';
}
