/**
 * Shared machinery of the fuzz suites (tests/hardening/fuzz-*.test.ts).
 *
 * - `startFuzzServer`: a real server (port 0) whose clock the test can move forward and whose
 *   warn/error logs are captured (a "handler failed" log is an exception that leaked).
 * - `setupPhase`: a session in a known phase with a host, a display, two joined students and a
 *   guest student (connected, not joined).
 * - `verdict`: the oracle. For a (role, event, payload) it says what the server must answer:
 *   refused (with the error codes allowed), read-only success, or "may be accepted" (such
 *   payloads are not sent by the main property: they would change the state on purpose).
 * - payload arbitraries: junk, near-valid mutations of valid payloads, schema-valid payloads
 *   that the game must refuse (wrong ids, stale steps, answers for closed questions…).
 * - `snapshot`: the session as the store holds it plus every role's view, for before/after
 *   comparisons.
 *
 * The host's event bucket (300 burst, 100/s, socket.ts) is not configurable: instead of
 * letting it refuse fuzz traffic (and cut the host socket off after 100 refusals), the test
 * clock jumps 3 s ahead every 250 host calls, which refills it. Students and displays get an
 * unlimited bucket through `eventLimit`.
 */
import {
  Bank,
  ClientPayloads,
  DISPLAY_EVENTS,
  ERROR_CODES,
  HOST_EVENTS,
  STUDENT_EVENTS,
  checkNickname,
  nicknameKey,
  type ClientEvent,
  type ErrorCode,
} from '@quizroom/shared';
import fc from 'fast-check';
import { pino } from 'pino';
import { io as ioClient } from 'socket.io-client';
import type { z } from 'zod';
import { ConfigSchema } from '../../server/src/config.ts';
import { startQuizroom, type RunningServer } from '../../server/src/server.ts';
import { PASSWORD, connect, connected, createSession, joinStudent, login, next, ok, request, type ClientSocket } from '../support/quizroom.ts';

// ------------------------------------------------------------------ roles and events

export const ROLES = ['host', 'display', 'ada', 'bob', 'guest'] as const;
export type RoleName = (typeof ROLES)[number];
type ServerRole = 'host' | 'display' | 'student';
export const SERVER_ROLE: Record<RoleName, ServerRole> = { host: 'host', display: 'display', ada: 'student', bob: 'student', guest: 'student' };

/** Every client→server event of the contract (new events are picked up automatically). */
export const EVENTS = Object.keys(ClientPayloads) as ClientEvent[];
const ALLOWED_ROLE = new Map<string, ServerRole>([
  ...HOST_EVENTS.map((e) => [e, 'host'] as const),
  ...STUDENT_EVENTS.map((e) => [e, 'student'] as const),
  ...DISPLAY_EVENTS.map((e) => [e, 'display'] as const),
]);
export const allowedRole = (event: string): ServerRole | undefined => ALLOWED_ROLE.get(event);

// ------------------------------------------------------------------ server

export const UNLIMITED = { capacity: 1e9, refillPerSec: 1e9 };

/** Date.now() plus a skew the test moves forward (refills the host's event bucket). */
export class SkewClock {
  skew = 0;
  readonly now = (): number => Date.now() + this.skew;
}

export interface LogEntry {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

export interface FuzzServer {
  server: RunningServer;
  clock: SkewClock;
  /** warn and above, as logged by the server. */
  logs: LogEntry[];
  cookie: string;
  /** Counts host-socket calls; every 250 the clock jumps 3 s (see the file comment). */
  hostCall<T>(fn: () => Promise<T>): Promise<T>;
}

export async function startFuzzServer(opts: { redisUrl?: string } = {}): Promise<FuzzServer> {
  const clock = new SkewClock();
  const logs: LogEntry[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        try {
          logs.push(JSON.parse(line) as LogEntry);
        } catch {
          logs.push({ level: 60, msg: line });
        }
      },
    },
  );
  const config = ConfigSchema.parse({
    PORT: '0',
    HOST: '127.0.0.1',
    QUIZROOM_HOST_PASSWORD: PASSWORD,
    LOG_LEVEL: 'warn',
    // Every socket of the test comes from 127.0.0.1: per-IP limits would refuse the fuzz traffic.
    LIMIT_JOIN_BURST: '100000',
    LIMIT_JOIN_PER_SEC: '10000',
    LIMIT_BAD_CODE_BURST: '100000',
    LIMIT_BAD_CODE_PER_SEC: '10000',
    LIMIT_EVENT_BURST: '100000',
    LIMIT_EVENT_PER_SEC: '10000',
    LIMIT_LOGIN_BURST: '10000',
    LIMIT_LOGIN_PER_SEC: '1000',
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
  });
  const server = await startQuizroom({ config, logger, clock: clock.now, clientDist: null, banks: [fuzzBank()], eventLimit: UNLIMITED, loginLimit: UNLIMITED });
  const cookie = await login(server);
  let hostCalls = 0;
  return {
    server,
    clock,
    logs,
    cookie,
    hostCall<T>(fn: () => Promise<T>) {
      if (++hostCalls % 250 === 0) clock.skew += 3000;
      return fn();
    },
  };
}

/**
 * Log entries that mean an exception escaped a handler (error and fatal) since the last call;
 * the log is emptied, so one failure does not repeat in every later test.
 */
export function takeErrorLogs(fz: { logs: LogEntry[] }): LogEntry[] {
  const errors = fz.logs.filter((l) => l.level >= 50);
  fz.logs.length = 0;
  return errors;
}

export async function healthz(url: string, timeoutMs = 2000): Promise<number> {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.status;
}

// ------------------------------------------------------------------ the bank

const source = { file: 'fuzz', section: 'fuzz' };
const rubric = (id: string, points: number) => [{ id, label: id, points, description: `${id} criterion` }];

/**
 * Long time limits (×4 in the session options: an hour per question), so a question opened by
 * the fixture stays open for the whole run however far the test clock moves.
 */
export function fuzzBank(): Bank {
  return Bank.parse({
    id: 'fuzz-bank',
    title: 'Fuzz bank',
    description: 'Every question type, two of them with justifications',
    language: 'en',
    questions: [
      { id: 'q-tf', type: 'truefalse', prompt: 'A hypervisor runs VMs.', timeLimit: 900, explanation: 'It does.', source, answer: true, justify: { prompt: 'Why?', maxLength: 200, rubric: rubric('names', 2) } },
      { id: 'q-single', type: 'single', prompt: 'Which shares the kernel?', timeLimit: 900, explanation: 'Containers.', source, choices: [{ text: 'VM' }, { text: 'Container', correct: true }, { text: 'Emulator' }], justify: { prompt: 'Why?', maxLength: 20, rubric: rubric('why', 3) } },
      { id: 'q-multi', type: 'multi', prompt: 'Pick the hypervisors.', timeLimit: 900, explanation: 'KVM and Xen.', source, choices: [{ text: 'KVM', correct: true }, { text: 'Xen', correct: true }, { text: 'Docker' }] },
      { id: 'q-short', type: 'short', prompt: 'Container tool?', timeLimit: 900, explanation: 'Docker.', source, accept: ['Docker'] },
      { id: 'q-num', type: 'numeric', prompt: 'Bits in a byte?', timeLimit: 900, explanation: '8.', source, value: 8, tolerance: 0 },
      { id: 'q-order', type: 'order', prompt: 'Order from hardware up.', timeLimit: 900, explanation: 'HW, hypervisor, OS.', source, items: ['Hardware', 'Hypervisor', 'Guest OS'] },
      { id: 'q-poll', type: 'poll', prompt: 'Favourite?', timeLimit: 900, explanation: 'No right answer.', source, choices: [{ text: 'VMs' }, { text: 'Containers' }] },
      { id: 'q-open', type: 'open', prompt: 'VMs or containers?', timeLimit: 900, explanation: 'Both.', source, rubric: rubric('iso', 3) },
    ],
  });
}
export const BANK_QUESTION_IDS = fuzzBank().questions.map((q) => q.id);

// ------------------------------------------------------------------ sockets and calls

export type CallResult = { kind: 'ack'; ack: unknown } | { kind: 'timeout' };

/**
 * Emits `event` with `args` and an ack callback, bounded by `timeoutMs` (a missing ack is a
 * 'timeout' result, never a hang).
 */
export function call(socket: ClientSocket, event: string | number, args: readonly unknown[], timeoutMs = 2000): Promise<CallResult> {
  return new Promise((resolve) => {
    const emitter = socket.timeout(timeoutMs) as unknown as { emit(ev: string | number, ...rest: unknown[]): void };
    emitter.emit(event, ...args, (err: Error | null, ack: unknown) => resolve(err ? { kind: 'timeout' } : { kind: 'ack', ack }));
  });
}

/** A socket.io-client without automatic reconnection, for sockets a test expects to lose. */
export function connectOnce(url: string, auth: Record<string, unknown>): ClientSocket {
  return ioClient(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true }) as ClientSocket;
}

/** `{ ok: false, error: { code, message } }` with nothing else, code in ERROR_CODES. */
export function isTypedError(ack: unknown): ack is { ok: false; error: { code: ErrorCode; message: string } } {
  if (typeof ack !== 'object' || ack === null) return false;
  const a = ack as Record<string, unknown>;
  if (Object.keys(a).sort().join() !== 'error,ok' || a.ok !== false) return false;
  const e = a.error as Record<string, unknown> | null;
  if (typeof e !== 'object' || e === null || Object.keys(e).sort().join() !== 'code,message') return false;
  return (ERROR_CODES as readonly unknown[]).includes(e.code) && typeof e.message === 'string' && e.message.length > 0 && e.message.length <= 500;
}

// ------------------------------------------------------------------ phases

export type Phase = 'lobby' | 'open' | 'closed';

export interface Rubric {
  id: string;
  points: number;
}

/** What the oracle needs to know about the session. */
export interface PhaseCtx {
  phase: Phase;
  step: number;
  players: { ada: string; bob: string };
  takenNicknameKeys: Set<string>;
  /** The open question (a single-choice question with a justification). */
  current: { id: string; choices: number; justifyMax: number } | null;
  /** `${questionId}|${playerId}` of the answers to the open question. */
  answered: Set<string>;
  /** `${questionId}|${playerId}` → rubric, for written responses to questions no longer open. */
  gradable: Map<string, Rubric[]>;
}

export interface Fixture {
  fz: FuzzServer;
  code: string;
  hostToken: string;
  sockets: Record<RoleName, ClientSocket>;
  tokens: { ada: string; bob: string };
  ctx: PhaseCtx;
  /** Disconnections seen by each role socket since the fixture was built. */
  disconnects: Record<RoleName, number>;
}

/**
 * A session in `phase`:
 * - lobby: Ada and Bob joined, the guest connected without joining.
 * - open: q-tf was answered by Ada with a justification and closed; q-single is open and Ada
 *   answered it (without a justification); Bob answered nothing.
 * - closed: the same, then q-single closed.
 */
export async function setupPhase(fz: FuzzServer, phase: Phase): Promise<Fixture> {
  const url = fz.server.url;
  const { code, hostToken } = await createSession(fz.server, fz.cookie, 'fuzz-bank', { timeMultiplier: 4, maxLatencyCompensationMs: 0 });
  const host = connect(url, { role: 'host', code, hostToken });
  const firstView = next(host, 'host:view');
  await connected(host);
  await firstView;
  const display = connect(url, { role: 'display', code });
  await connected(display);
  const ada = await joinStudent(url, code, 'Ada');
  const bob = await joinStudent(url, code, 'Bob');
  const guest = connect(url, { role: 'student', code });
  await connected(guest);
  if (phase !== 'lobby') {
    await ok(request(host, 'game:start', {}));
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-tf', answer: { type: 'truefalse', value: true }, justification: 'Hypervisors run VMs.' }));
    await ok(request(host, 'question:close', {}));
    await ok(request(host, 'question:next', {}));
    await ok(request(ada.socket, 'answer:submit', { questionId: 'q-single', answer: { type: 'single', choice: 1 } }));
    if (phase === 'closed') await ok(request(host, 'question:close', {}));
  }
  const view = await ok<{ step: number; phase: string }>(request(host, 'host:sync', {}));
  if (view.phase !== phase) throw new Error(`fixture: expected ${phase}, got ${view.phase}`);
  const sockets: Record<RoleName, ClientSocket> = { host, display, ada: ada.socket, bob: bob.socket, guest };
  const disconnects = { host: 0, display: 0, ada: 0, bob: 0, guest: 0 };
  for (const role of ROLES) sockets[role].on('disconnect', () => disconnects[role]++);
  const gradable = new Map<string, Rubric[]>();
  if (phase !== 'lobby') gradable.set(`q-tf|${ada.playerId}`, [{ id: 'names', points: 2 }]);
  return {
    fz,
    code,
    hostToken,
    sockets,
    tokens: { ada: ada.token, bob: bob.token },
    disconnects,
    ctx: {
      phase,
      step: view.step,
      players: { ada: ada.playerId, bob: bob.playerId },
      takenNicknameKeys: new Set([nicknameKey('Ada'), nicknameKey('Bob')]),
      current: phase === 'open' ? { id: 'q-single', choices: 3, justifyMax: 20 } : null,
      answered: new Set(phase === 'open' ? [`q-single|${ada.playerId}`] : []),
      gradable,
    },
  };
}

// ------------------------------------------------------------------ snapshots

const VOLATILE = new Set(['serverNow', 'joinActivity']);

/** A JSON copy without the fields that change with time or count attempts (serverNow, joinActivity). */
export function scrub<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (VOLATILE.has(k) ? undefined : v))) as T;
}

async function syncData(fx: Fixture, role: RoleName, event: 'host:sync' | 'display:sync' | 'student:sync'): Promise<unknown> {
  const send = () => call(fx.sockets[role], event, [{}], 5000);
  const r = role === 'host' ? await fx.fz.hostCall(send) : await send();
  if (r.kind !== 'ack') throw new Error(`snapshot: ${role} ${event} got no ack`);
  const ack = r.ack as { ok: boolean; data?: unknown };
  if (!ack.ok) throw new Error(`snapshot: ${role} ${event} refused: ${JSON.stringify(ack)}`);
  return ack.data;
}

/**
 * The reference snapshot of a phase. Views are built from the broadcaster's state cache
 * (250 ms, and answers and joins do not refresh it), so the clock first moves past the cache
 * lifetime: the views then show what the store holds.
 */
export async function baselineSnapshot(fx: Fixture): Promise<unknown> {
  fx.fz.clock.skew += 300;
  return snapshot(fx);
}

/** The stored state and every role's view (host, display, both students). */
export async function snapshot(fx: Fixture): Promise<unknown> {
  const [state, host, display, ada, bob] = await Promise.all([
    fx.fz.server.service.store.loadState(fx.code),
    syncData(fx, 'host', 'host:sync'),
    syncData(fx, 'display', 'display:sync'),
    syncData(fx, 'ada', 'student:sync'),
    syncData(fx, 'bob', 'student:sync'),
  ]);
  return scrub({ state, host, display, ada, bob });
}

// ------------------------------------------------------------------ the oracle

export type Verdict =
  | { kind: 'refused'; codes: readonly ErrorCode[]; why: string }
  /** Succeeds and changes nothing (syncs, grade:list, player:names for a guest). */
  | { kind: 'readonly' }
  /** Might be accepted and change the state: not sent by the main property. */
  | { kind: 'maybe-valid' };

const refused = (why: string, ...codes: ErrorCode[]): Verdict => ({ kind: 'refused', codes, why });
const MAYBE: Verdict = { kind: 'maybe-valid' };
const READONLY: Verdict = { kind: 'readonly' };

/** What the server receives: socket.io sends JSON (NaN and ±Infinity become null, -0 becomes 0, undefined members vanish). */
export function wire(payload: unknown): unknown {
  return (JSON.parse(JSON.stringify([payload])) as unknown[])[0];
}

export function encodedBytes(event: string, args: readonly unknown[]): number {
  return Buffer.byteLength(JSON.stringify([event, ...args]));
}

const STEP_EVENTS = new Set(['game:start', 'question:next', 'question:close', 'question:skip', 'question:reveal', 'game:leaderboard', 'question:pause', 'question:resume', 'game:end']);
const VALID_STEP_EVENTS: Record<Phase, readonly string[]> = {
  lobby: ['game:start', 'game:end'],
  open: ['question:close', 'question:skip', 'question:pause', 'game:end'],
  closed: ['question:next', 'question:reveal', 'game:leaderboard', 'game:end'],
};

export function verdict(ctx: PhaseCtx, role: RoleName, event: string, wirePayload: unknown): Verdict {
  const allowed = allowedRole(event);
  if (!allowed) return MAYBE; // not a contract event: the caller decides
  if (allowed !== SERVER_ROLE[role]) return refused('role', 'FORBIDDEN');
  const parsed = (ClientPayloads[event as ClientEvent] as z.ZodType).safeParse(wirePayload);
  if (!parsed.success) return refused('schema', 'BAD_REQUEST');
  return semantic(ctx, role, event, parsed.data as Record<string, unknown>);
}

function semantic(ctx: PhaseCtx, role: RoleName, event: string, p: Record<string, unknown>): Verdict {
  const joined = role !== 'guest';
  const playerId = role === 'ada' ? ctx.players.ada : role === 'bob' ? ctx.players.bob : null;
  if (STEP_EVENTS.has(event)) {
    if (p.step !== undefined && p.step !== ctx.step) return refused('stale step', 'STALE');
    return VALID_STEP_EVENTS[ctx.phase].includes(event) ? MAYBE : refused('phase', 'BAD_PHASE');
  }
  switch (event) {
    case 'player:kick':
      return Object.values(ctx.players).includes(p.playerId as string) ? MAYBE : refused('unknown player', 'NOT_FOUND');
    case 'room:lock':
      return MAYBE;
    case 'room:unlock':
      return refused('not locked', 'BAD_PHASE');
    case 'grade:list':
    case 'host:sync':
    case 'display:sync':
      return READONLY;
    case 'grade:save': {
      const rubric = ctx.gradable.get(`${p.questionId as string}|${p.playerId as string}`);
      if (rubric && marksFit(rubric, p.marks as Record<string, number>)) return MAYBE;
      return refused('nothing gradable', 'NOT_FOUND', 'NOT_GRADABLE', 'INVALID_GRADE');
    }
    case 'spotlight:set':
      return ctx.gradable.has(`${p.questionId as string}|${p.playerId as string}`) ? MAYBE : refused('no written response', 'NOT_FOUND', 'BAD_PHASE');
    case 'spotlight:clear':
      return refused('nothing spotlighted', 'BAD_PHASE');
    case 'student:sync':
      return joined ? READONLY : refused('not joined', 'UNAUTHORIZED');
    case 'player:names':
      return joined ? refused('already joined', 'BAD_PHASE') : READONLY;
    case 'player:join': {
      if (joined) return refused('already joined', 'BAD_PHASE');
      const checked = checkNickname(p.nickname as string);
      if (!checked.ok) return refused('nickname', 'NICKNAME_INVALID');
      return ctx.takenNicknameKeys.has(nicknameKey(checked.nickname)) ? refused('nickname taken', 'NICKNAME_TAKEN', 'NICKNAME_INVALID') : MAYBE;
    }
    case 'answer:submit':
    case 'answer:justify': {
      if (!playerId) return refused('not joined', 'UNAUTHORIZED');
      if (ctx.phase === 'lobby') return refused('lobby', 'BAD_PHASE');
      if (ctx.phase === 'closed' || !ctx.current) return refused('closed', 'TOO_LATE');
      const cur = ctx.current;
      if (p.questionId !== cur.id) return refused('wrong question', 'WRONG_QUESTION');
      const answered = ctx.answered.has(`${cur.id}|${playerId}`);
      const fits = (text: string) => [...text.trim()].length <= cur.justifyMax;
      if (event === 'answer:justify') {
        if (!answered) return refused('justify before answering', 'BAD_PHASE');
        const text = p.text as string;
        return text.trim() !== '' && fits(text) ? MAYBE : refused('bad justification', 'INVALID_ANSWER');
      }
      const answer = p.answer as { type: string; choice?: number };
      const justification = (p.justification as string | undefined) ?? '';
      const fitsQuestion = answer.type === 'single' && answer.choice! < cur.choices && fits(justification);
      if (answered) return refused('answered', 'ALREADY_ANSWERED', 'INVALID_ANSWER');
      return fitsQuestion ? MAYBE : refused('answer does not fit', 'INVALID_ANSWER');
    }
    case 'player:consent':
      return joined ? MAYBE : refused('not joined', 'UNAUTHORIZED');
    default:
      return MAYBE; // an event this oracle does not know yet: never sent by the main property
  }
}

function marksFit(rubric: Rubric[], marks: Record<string, number>): boolean {
  const keys = Object.keys(marks);
  return keys.length === rubric.length && rubric.every((c) => Object.hasOwn(marks, c.id) && marks[c.id]! >= 0 && marks[c.id]! <= c.points);
}

/** Checks one outcome against its verdict; returns a description of the problem, or null. */
export function problemWith(v: Verdict, r: CallResult): string | null {
  if (r.kind === 'timeout') return 'no ack within the bound';
  const ack = r.ack as { ok?: unknown; data?: unknown; error?: { code?: unknown } };
  if (v.kind === 'readonly') return ack?.ok === true && 'data' in ack ? null : `expected a read-only success, got ${JSON.stringify(ack)}`;
  if (v.kind === 'refused') {
    if (!isTypedError(ack)) return `expected a typed error (${v.codes.join('|')}: ${v.why}), got ${JSON.stringify(ack)?.slice(0, 300)}`;
    return v.codes.includes(ack.error.code) ? null : `expected ${v.codes.join('|')} (${v.why}), got ${ack.error.code}: ${ack.error.message}`;
  }
  return null;
}

// ------------------------------------------------------------------ arbitraries

export const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'toJSON', 'then', 'length'];
const FIELD_KEYS = ['step', 'playerId', 'questionId', 'answer', 'nickname', 'marks', 'comment', 'text', 'allow', 'justification', 'type', 'choice', 'choices', 'value', 'order'];

export const keyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...FIELD_KEYS) },
);

export const specialNumber: fc.Arbitrary<number> = fc.constantFrom(
  NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, -1, 0.5, 2.5, 3, 7, 8, 9, 10, 1_000_000, 1_000_001, 2 ** 31, -(2 ** 31), 2 ** 53,
);

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.oneof(loneSurrogate, fc.constantFrom('\u0000', '\u202e', '\u200b', '\ufeff', '\u2028', '"', '\\', '%', '\n')), maxLength: 20 }),
  fc.constantFrom('', ' ', '   ', '\u200b', 'null', 'undefined', 'NaN', '[object Object]', '{}', '__proto__', '0', '-1', '1e308'),
);

export const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  specialNumber,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(...BANK_QUESTION_IDS),
);

/** Arbitrary JSON-ish values: any shape, special keys, null-prototype objects, no BigInt. */
export const junkArb: fc.Arbitrary<unknown> = fc.anything({
  key: keyArb,
  values: [leafArb],
  maxDepth: 4,
  maxKeys: 6,
  withObjectString: true,
  withNullPrototype: true,
  withBigInt: false,
  withBoxedValues: true,
  withDate: true,
  withSparseArray: true,
});

/** One character repeated to about `maxBytes` bytes of JSON (multi-byte, escaped, surrogates). */
export function hugeString(maxBytes: number): fc.Arbitrary<string> {
  const units: [string, number][] = [['x', 1], ['é', 2], ['😀', 4], ['\u0000', 6], ['\ud800', 6], ['"', 2], ['\\', 2], ['\u2028', 3]];
  return fc.tuple(fc.constantFrom(...units), fc.integer({ min: 1, max: 100 })).map(([[c, bytes], pct]) => c.repeat(Math.max(1, Math.floor((maxBytes * pct) / 100 / bytes))));
}

/** Set an own, enumerable property (works for "__proto__" too). */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** `inner` nested `depth` times (capped to stay under ~13 KB of JSON). */
export function nest(depth: number, shape: 'array' | 'object' | 'proto' | 'mixed', inner: unknown): unknown {
  const perLevel = { array: 2, object: 6, proto: 16, mixed: 16 }[shape];
  const levels = Math.min(depth, Math.floor(13_000 / perLevel));
  let v = inner;
  for (let i = 0; i < levels; i++) {
    const s = shape === 'mixed' ? (['array', 'object', 'proto'] as const)[i % 3]! : shape;
    v = s === 'array' ? [v] : defineOwn({}, s === 'proto' ? '__proto__' : 'a', v);
  }
  return v;
}

export const deepArb = (inner: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom('array' as const, 'object' as const, 'proto' as const, 'mixed' as const), inner).map(([d, s, v]) => nest(d, s, v));

/** A replacement for one field: wrong type, special number, odd string, junk, huge or deep value. */
export const mutationValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: specialNumber },
  { weight: 3, arbitrary: leafArb },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}, '', ' ', '0', 0, -1, '\u0000', [0], { type: 'single' }) },
  { weight: 1, arbitrary: junkArb },
  { weight: 1, arbitrary: hugeString(12_000) },
  { weight: 1, arbitrary: deepArb(leafArb) },
);

const validIdArb = (ctx: PhaseCtx): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...BANK_QUESTION_IDS, ...SPECIAL_KEYS, 'undefined', 'null', ctx.players.ada, ctx.players.bob) },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }) },
  );

const index = fc.integer({ min: 0, max: 7 });
const indexes = (min: number) => fc.uniqueArray(index, { minLength: min, maxLength: 8 });
const answerText = (max: number) => fc.oneof(fc.string({ minLength: 1, maxLength: max }), fc.constantFrom('Docker', ' docker ', 'x'));

/** Answers that pass the AnswerInput schema (whether the open question accepts them is the game's call). */
export const answerArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('single'), choice: index }),
  fc.record({ type: fc.constant('multi'), choices: indexes(1) }),
  fc.record({ type: fc.constant('truefalse'), value: fc.boolean() }),
  fc.record({ type: fc.constant('short'), text: answerText(200) }),
  fc.record({ type: fc.constant('numeric'), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  fc.record({ type: fc.constant('order'), order: indexes(2) }),
  fc.record({ type: fc.constant('poll'), choices: indexes(1) }),
  fc.record({ type: fc.constant('open'), text: answerText(2000) }),
);

const nicknameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('Ada', 'ADA', 'ada', ' Ada ', 'Ａｄａ', 'A\u200bda', 'Bob', 'BOB ', 'b\u200dob', '', ' ', '\u200b\u200b', '\u202e\u202d', '\u0000', 'x'.repeat(21), 'é'.repeat(21), '\u0301\u0301\u0301') },
  { weight: 2, arbitrary: fc.string({ minLength: 21, maxLength: 200 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(' ', '\u200b', '\u00ad', '\t', '\u2028', '\ufeff', '\u0300'), maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);

/** Payloads that pass the event's schema but that the game refuses in most phases and roles. */
export function schemaValidArb(event: string, ctx: PhaseCtx): fc.Arbitrary<unknown> {
  const id = validIdArb(ctx);
  if (STEP_EVENTS.has(event))
    return fc.oneof(fc.constant({}), fc.record({ step: fc.oneof(fc.constant(ctx.step), fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(ctx.step + 1, Math.max(0, ctx.step - 1))) }));
  switch (event) {
    case 'player:kick':
      return fc.record({ playerId: id });
    case 'grade:list':
      return fc.record({ questionId: id }, { requiredKeys: [] });
    case 'grade:save':
      return fc.record(
        {
          questionId: fc.oneof(fc.constantFrom('q-tf', 'q-single', 'q-open'), id),
          playerId: fc.oneof(fc.constantFrom(ctx.players.ada, ctx.players.bob), id),
          marks: fc.oneof(
            fc.dictionary(fc.oneof(fc.constantFrom('names', 'why', 'iso', ...SPECIAL_KEYS), fc.string({ minLength: 1, maxLength: 64 })), fc.integer({ min: 0, max: 9 }), { maxKeys: 4 }),
            fc.constantFrom({ names: 3 }, { names: 1, why: 1 }, {}, { why: 2 }),
          ),
          comment: fc.string({ maxLength: 1000 }),
        },
        { requiredKeys: ['questionId', 'playerId', 'marks'] },
      );
    case 'spotlight:set':
      return fc.record({ questionId: fc.oneof(fc.constantFrom('q-tf', 'q-single', 'q-open'), id), playerId: fc.oneof(fc.constantFrom(ctx.players.ada, ctx.players.bob), id) });
    case 'player:join':
      return fc.record({ nickname: nicknameArb });
    case 'answer:submit':
      return fc.record(
        {
          questionId: fc.oneof(fc.constantFrom(...BANK_QUESTION_IDS), id),
          answer: answerArb,
          justification: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ minLength: 21, maxLength: 2000 })),
        },
        { requiredKeys: ['questionId', 'answer'] },
      );
    case 'answer:justify':
      return fc.record({ questionId: fc.oneof(fc.constantFrom(...BANK_QUESTION_IDS), id), text: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', '   ', '\u200b'), fc.string({ minLength: 21, maxLength: 2000 })) });
    case 'player:consent':
      return fc.record({ allow: fc.boolean() });
    default:
      return fc.constant({});
  }
}

/** A payload the event's schema accepts (the base of the near-valid mutations). */
function templates(event: string, ctx: PhaseCtx): Record<string, unknown>[] {
  if (STEP_EVENTS.has(event)) return [{ step: ctx.step }, {}];
  switch (event) {
    case 'player:kick':
      return [{ playerId: ctx.players.bob }];
    case 'grade:list':
      return [{ questionId: 'q-tf' }, {}];
    case 'grade:save':
      return [{ questionId: 'q-tf', playerId: ctx.players.ada, marks: { names: 1 }, comment: 'good' }];
    case 'spotlight:set':
      return [{ questionId: 'q-tf', playerId: ctx.players.ada }];
    case 'player:join':
      return [{ nickname: 'Cy' }];
    case 'answer:submit':
      return [
        { questionId: 'q-single', answer: { type: 'single', choice: 1 }, justification: 'because' },
        { questionId: 'q-single', answer: { type: 'multi', choices: [0, 1] } },
        { questionId: 'q-single', answer: { type: 'order', order: [2, 0, 1] } },
        { questionId: 'q-single', answer: { type: 'numeric', value: 8 } },
      ];
    case 'answer:justify':
      return [{ questionId: 'q-single', text: 'because' }];
    case 'player:consent':
      return [{ allow: true }];
    default:
      return [{}];
  }
}

type Path = readonly (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): { leaves: Path[]; objects: Path[] } {
  const leaves: Path[] = [];
  const objects: Path[] = Array.isArray(value) ? [] : [prefix];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = [...prefix, Array.isArray(value) ? Number(k) : k];
      leaves.push(p);
      if (v && typeof v === 'object') {
        const inner = pathsOf(v, p);
        leaves.push(...inner.leaves);
        objects.push(...inner.objects);
      }
    }
  }
  return { leaves, objects };
}

function getAt(root: unknown, path: Path): Record<string | number, unknown> {
  let cur = root as Record<string | number, unknown>;
  for (const seg of path) cur = cur[seg] as Record<string | number, unknown>;
  return cur;
}

/** One field of a valid payload changed: another type or value, removed, or an extra key. */
export function nearValidArb(event: string, ctx: PhaseCtx): fc.Arbitrary<unknown> {
  return fc.constantFrom(...templates(event, ctx)).chain((template) => {
    const { leaves, objects } = pathsOf(template);
    const options: fc.Arbitrary<unknown>[] = [
      // an extra key (special keys included) in the payload or a nested object
      fc.tuple(fc.constantFrom(...objects), keyArb, mutationValue).map(([p, key, v]) => {
        const t = structuredClone(template);
        defineOwn(getAt(t, p), key, v);
        return t;
      }),
      // the right payload in the wrong wrapping
      fc.constantFrom<unknown>([template], JSON.stringify(template), { payload: template }, [template, template]),
    ];
    if (leaves.length > 0) {
      options.push(
        // one field replaced by a wrong type, an out-of-range number, a huge or deep value
        fc.tuple(fc.constantFrom(...leaves), mutationValue).map(([p, v]) => {
          const t = structuredClone(template);
          const parent = getAt(t, p.slice(0, -1));
          const key = p[p.length - 1]!;
          if (Array.isArray(parent)) parent[key as number] = v;
          else defineOwn(parent, String(key), v);
          return t;
        }),
        // one field removed
        fc.constantFrom(...leaves).map((p) => {
          const t = structuredClone(template);
          const parent = getAt(t, p.slice(0, -1));
          const key = p[p.length - 1]!;
          if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete parent[key];
          return t;
        }),
      );
    }
    return fc.oneof(...options);
  });
}

/** Every kind of payload for one event, kept under `maxBytes` of JSON (the socket limit is 16 KB). */
export function payloadArb(event: string, ctx: PhaseCtx, maxBytes = 15_000): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      { weight: 2, arbitrary: junkArb },
      { weight: 3, arbitrary: nearValidArb(event, ctx) },
      { weight: 3, arbitrary: schemaValidArb(event, ctx) },
      { weight: 1, arbitrary: deepArb(fc.oneof(leafArb, schemaValidArb(event, ctx))) },
      { weight: 1, arbitrary: fc.oneof(hugeString(maxBytes - 200), specialNumber) },
    )
    .filter((p) => encodedBytes(event, [p]) <= maxBytes);
}
