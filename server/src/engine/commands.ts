/** Commands the engine understands, by who may issue them. */
import type { AnswerInput } from '@quizroom/shared';

/** `step`, when given, must equal the session's current step or the command is stale (G8). */
export type HostCommand =
  | { type: 'start'; step?: number }
  | { type: 'next'; step?: number }
  | { type: 'close'; step?: number }
  | { type: 'skip'; step?: number }
  | { type: 'reveal'; step?: number }
  | { type: 'leaderboard'; step?: number }
  | { type: 'pause'; step?: number }
  | { type: 'resume'; step?: number }
  | { type: 'end'; step?: number }
  | { type: 'kick'; playerId: string }
  | { type: 'lock' }
  | { type: 'unlock' }
  | { type: 'grade'; questionId: string; playerId: string; marks: Record<string, number>; comment: string; grader: string }
  | { type: 'spotlight'; questionId: string; playerId: string }
  | { type: 'spotlight-clear' };

export type StudentCommand =
  /** `offered`: the generated names this student was offered (nickname policy "generated"). */
  | { type: 'join'; playerId: string; nickname: string; offered?: string[] }
  | {
      type: 'answer';
      playerId: string;
      questionId: string;
      answer: AnswerInput;
      justification?: string;
      /** When the server emitted the question to this student's socket, and the socket's measured round trip. */
      timing: { sentAt: number; rttMs: number };
    }
  | { type: 'justify'; playerId: string; questionId: string; text: string; rttMs?: number }
  | { type: 'spotlight-consent'; playerId: string; allow: boolean };

export type SystemCommand = { type: 'deadline'; step: number };

export type Command = HostCommand | StudentCommand | SystemCommand;

export const HOST_COMMANDS = [
  'start', 'next', 'close', 'skip', 'reveal', 'leaderboard', 'pause', 'resume', 'end',
  'kick', 'lock', 'unlock', 'grade', 'spotlight', 'spotlight-clear',
] as const satisfies readonly HostCommand['type'][];
export const STUDENT_COMMANDS = ['join', 'answer', 'justify', 'spotlight-consent'] as const satisfies readonly StudentCommand['type'][];

/** What changed, for the server to decide whom to tell. */
export type GameEvent =
  | { type: 'player-joined'; playerId: string }
  | { type: 'player-kicked'; playerId: string }
  | { type: 'room-locked'; locked: boolean }
  | { type: 'question-opened'; index: number; questionId: string }
  | { type: 'question-paused'; questionId: string }
  | { type: 'question-resumed'; questionId: string }
  | { type: 'question-closed'; index: number; questionId: string; skipped: boolean }
  | { type: 'question-revealed'; index: number; questionId: string }
  | { type: 'leaderboard-shown' }
  | { type: 'session-finished' }
  | { type: 'answer-recorded'; playerId: string; questionId: string; replaced: boolean }
  | { type: 'justification-recorded'; playerId: string; questionId: string }
  | { type: 'graded'; playerId: string; questionId: string; version: number }
  | { type: 'spotlight-changed' }
  | { type: 'consent-changed'; playerId: string };
