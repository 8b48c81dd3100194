/** Options an instructor chooses when creating a session (parsed by zod at the HTTP edge). */
import { z } from 'zod';

export const SessionOptions = z.strictObject({
  /** speed: Kahoot!-style, faster correct answers earn more; accuracy: full points, speed only breaks ties. */
  scoring: z.enum(['speed', 'accuracy']).default('speed'),
  /** Answer-streak bonus on or off. */
  streak: z.boolean().default(true),
  /** Bonus per consecutive correct answer beyond the first, and its cap. */
  streakStep: z.number().int().min(0).max(1000).default(100),
  streakMax: z.number().int().min(0).max(5000).default(500),
  /** Scales every question's time limit (0.5 = half the time, 2 = double). */
  timeMultiplier: z.number().min(0.25).max(4).default(1),
  /** May students join after the first question has started? */
  allowLateJoin: z.boolean().default(true),
  /** free: students type a nickname; generated: they pick from generated friendly names. */
  nicknamePolicy: z.enum(['free', 'generated']).default('free'),
  /** Refuse nicknames with common profanity (and look-alike spellings). */
  profanityFilter: z.boolean().default(true),
  /** Do rubric points count on the live leaderboard, or only in the final results? */
  gradedPointsLive: z.boolean().default(true),
  /** Upper bound on response-time compensation for a slow network (ms). */
  maxLatencyCompensationMs: z.number().int().min(0).max(2000).default(600),
  /** Players admitted per session. */
  maxPlayers: z.number().int().min(1).max(20000).default(5000),
});
export type SessionOptions = z.infer<typeof SessionOptions>;
export type SessionOptionsInput = z.input<typeof SessionOptions>;
