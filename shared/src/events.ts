/**
 * The Socket.IO contract, shared by server and clients: event names (`domain:verb`), the
 * zod schema of every client→server payload, and the typed event maps. Every handler on the
 * server parses its payload with the schema named here before anything else happens.
 */
import { z } from 'zod';
import { AnswerInput, MAX_OPEN_TEXT } from './answer.ts';
import type { Ack } from './errors.ts';
import type { DisplayView, HostView, PublicQuestion, StudentView } from './views.ts';

/** Socket.IO handshake `auth` payloads. */
export const HandshakeAuth = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('host'), code: z.string().regex(/^\d{6}$/), hostToken: z.string().min(20).max(100) }),
  /** Without a token: a guest that may only `player:join`. With one: that player, resumed. */
  z.strictObject({ role: z.literal('student'), code: z.string().regex(/^\d{6}$/), token: z.string().min(20).max(100).optional() }),
  z.strictObject({ role: z.literal('display'), code: z.string().regex(/^\d{6}$/) }),
]);
export type HandshakeAuth = z.infer<typeof HandshakeAuth>;

const step = z.strictObject({ step: z.number().int().min(0).max(1_000_000).optional() });
const empty = z.strictObject({});
const playerId = z.string().min(1).max(64);
const questionId = z.string().min(1).max(64);

/** Payload schemas for every client→server event, by event name. */
export const ClientPayloads = {
  // host
  'game:start': step,
  'question:next': step,
  'question:close': step,
  'question:skip': step,
  'question:reveal': step,
  'game:leaderboard': step,
  'question:pause': step,
  'question:resume': step,
  'game:end': step,
  'player:kick': z.strictObject({ playerId }),
  'room:lock': empty,
  'room:unlock': empty,
  'grade:list': z.strictObject({ questionId: questionId.optional() }),
  'grade:save': z.strictObject({
    questionId,
    playerId,
    marks: z.record(z.string().min(1).max(64), z.number().int().min(0).max(9)),
    comment: z.string().max(1000).default(''),
  }),
  'spotlight:set': z.strictObject({ questionId, playerId }),
  'spotlight:clear': empty,
  'host:sync': empty,
  // student
  'player:names': empty,
  'player:join': z.strictObject({ nickname: z.string().max(200) }),
  'answer:submit': z.strictObject({ questionId, answer: AnswerInput, justification: z.string().max(MAX_OPEN_TEXT).optional() }),
  'answer:justify': z.strictObject({ questionId, text: z.string().max(MAX_OPEN_TEXT) }),
  'player:consent': z.strictObject({ allow: z.boolean() }),
  'student:sync': empty,
  // display
  'display:sync': empty,
} as const;
export type ClientEvent = keyof typeof ClientPayloads;
export type ClientPayload<E extends ClientEvent> = z.input<(typeof ClientPayloads)[E]>;

export const HOST_EVENTS = [
  'game:start', 'question:next', 'question:close', 'question:skip', 'question:reveal', 'game:leaderboard',
  'question:pause', 'question:resume', 'game:end', 'player:kick', 'room:lock', 'room:unlock',
  'grade:list', 'grade:save', 'spotlight:set', 'spotlight:clear', 'host:sync',
] as const satisfies readonly ClientEvent[];
export const STUDENT_EVENTS = ['player:names', 'player:join', 'answer:submit', 'answer:justify', 'player:consent', 'student:sync'] as const satisfies readonly ClientEvent[];
export const DISPLAY_EVENTS = ['display:sync'] as const satisfies readonly ClientEvent[];

/** One response waiting for (or having) a rubric grade, as the grading queue shows it. */
export interface GradingItem {
  questionId: string;
  playerId: string;
  /** Shown only when the instructor reveals names; the queue is anonymised by default. */
  nickname: string;
  kind: 'open' | 'justify';
  text: string;
  /** The auto-scored answer a justification belongs to (rendered as text). */
  answerSummary: string | null;
  textVersion: number;
  grade: { marks: Record<string, number>; comment: string; points: number; gradedAt: number; grader: string; version: number } | null;
}

export interface JoinResult {
  playerId: string;
  token: string;
  nickname: string;
}

export interface SubmitResult {
  questionId: string;
  receivedAt: number;
  textVersion: number;
}

type AckFn<T> = (ack: Ack<T>) => void;
type Handler<E extends ClientEvent, T> = (payload: ClientPayload<E>, ack: AckFn<T>) => void;

export interface ClientToServerEvents {
  'game:start': Handler<'game:start', { step: number }>;
  'question:next': Handler<'question:next', { step: number }>;
  'question:close': Handler<'question:close', { step: number }>;
  'question:skip': Handler<'question:skip', { step: number }>;
  'question:reveal': Handler<'question:reveal', { step: number }>;
  'game:leaderboard': Handler<'game:leaderboard', { step: number }>;
  'question:pause': Handler<'question:pause', { step: number }>;
  'question:resume': Handler<'question:resume', { step: number }>;
  'game:end': Handler<'game:end', { step: number }>;
  'player:kick': Handler<'player:kick', { step: number }>;
  'room:lock': Handler<'room:lock', { step: number }>;
  'room:unlock': Handler<'room:unlock', { step: number }>;
  'grade:list': Handler<'grade:list', GradingItem[]>;
  'grade:save': Handler<'grade:save', GradingItem>;
  'spotlight:set': Handler<'spotlight:set', { step: number }>;
  'spotlight:clear': Handler<'spotlight:clear', { step: number }>;
  'host:sync': Handler<'host:sync', HostView>;
  /** Nickname policy "generated": names this guest may pick from (a new set on every call). */
  'player:names': Handler<'player:names', { names: string[] }>;
  'player:join': Handler<'player:join', JoinResult>;
  'answer:submit': Handler<'answer:submit', SubmitResult>;
  'answer:justify': Handler<'answer:justify', SubmitResult>;
  'player:consent': Handler<'player:consent', { allow: boolean }>;
  'student:sync': Handler<'student:sync', StudentView>;
  'display:sync': Handler<'display:sync', DisplayView>;
}

/** Broadcast when a question opens: identical for every student, so sent once to the room. */
export interface QuestionOpened {
  step: number;
  question: PublicQuestion;
  deadline: number | null;
  pausedRemainingMs: number | null;
  serverNow: number;
}

export interface ServerToClientEvents {
  'student:view': (view: StudentView) => void;
  'question:opened': (q: QuestionOpened) => void;
  'room:count': (c: { playerCount: number }) => void;
  'host:view': (view: HostView) => void;
  'grade:updated': (item: GradingItem) => void;
  'display:view': (view: DisplayView) => void;
  /** The host removed this player; the socket is closed after this. */
  'session:kicked': (info: { message: string }) => void;
  /** The server is going down: reconnect after `retryAfterMs`. */
  'server:restarting': (info: { retryAfterMs: number }) => void;
  /** Latency probe: the client acks immediately; the server keeps a rolling RTT. */
  'latency:ping': (sentAt: number, ack: (echo: number) => void) => void;
}

export interface SocketData {
  role: 'host' | 'student' | 'display';
  code: string;
  playerId: string | null;
  /** Rolling round-trip estimate of this socket (ms) and how many samples it rests on. */
  rttMs: number;
  rttSamples: number;
  /** When the open question was last delivered to this socket by a resync. */
  questionSentAt: { questionId: string; at: number } | null;
  /** Client IP (behind trusted proxies: the forwarded one), for per-IP limits. */
  ip: string;
  /** Requests refused by the rate limit: a socket that keeps flooding is cut off. */
  refusals: number;
  /** Generated nicknames offered to this guest (nickname policy "generated"). */
  offeredNames: string[];
}
