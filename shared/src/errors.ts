/**
 * The only error codes a client ever sees. Anything else (a bug, a store failure) is
 * reported as INTERNAL or UNAVAILABLE without details.
 */
export const ERROR_CODES = [
  'BAD_REQUEST', // payload failed validation
  'UNAUTHORIZED', // no or wrong credentials
  'FORBIDDEN', // this role may not do that
  'NOT_FOUND', // no such session / player / question
  'BAD_PHASE', // the command does not apply in the current phase
  'STALE', // the command was issued for an earlier step of the game
  'WRONG_QUESTION', // the answer names a question that is not the open one
  'ALREADY_ANSWERED', // second answer to the same question
  'TOO_LATE', // the question closed (server time) before the answer arrived
  'PAUSED', // the question is paused
  'LOCKED', // the room is locked
  'ROOM_FULL', // player cap reached
  'NICKNAME_TAKEN',
  'NICKNAME_INVALID',
  'KICKED', // this player was removed by the host
  'INVALID_ANSWER', // the answer does not fit the question (wrong type, index out of range)
  'NOT_GRADABLE', // nothing to grade (no response, no rubric, question still open)
  'INVALID_GRADE', // marks outside the rubric
  'RATE_LIMITED',
  'UNAVAILABLE', // the store is unreachable: retry
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  message: string;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: AppError };
