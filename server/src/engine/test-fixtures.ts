/**
 * Shared helpers for the engine tests: a small bank with one question of every type, a fixed
 * clock, and helpers that drive the reducer. Test-only: nothing in the engine imports this.
 */
import { expect } from 'vitest';
import { Bank, SessionOptions, type AnswerInput, type AppError, type ErrorCode, type Question, type SessionOptionsInput } from '@quizroom/shared';
import type { Command, GameEvent } from './commands.ts';
import { reduce } from './reducer.ts';
import { newGame, type GameState } from './state.ts';

/** The fixed clock every test starts from. */
export const T0 = 1_700_000_000_000;
/** Every fixture question is open for 20 s (with the default time multiplier). */
export const T_MS = 20_000;

const source = { file: '000_fixture.txt', section: 'Fixture section' };

/**
 * Texts are tagged (EXPL-, RUBRIC-, SECRET-) so that leak tests can search serialized views
 * for them; no text contains the word "correct", so a serialized view that contains it leaks
 * a correctness flag.
 */
export const BANK = Bank.parse({
  id: 'fixture-bank',
  title: 'Fixture bank',
  description: 'One question of every type for the engine tests.',
  language: 'en',
  questions: [
    {
      id: 'q-single',
      type: 'single',
      prompt: 'Which planet is known as the red planet?',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-single: iron oxide dust.',
      source,
      choices: [{ text: 'Venus' }, { text: 'Mars', correct: true }, { text: 'Jupiter' }, { text: 'Saturn' }],
    },
    {
      id: 'q-multi',
      type: 'multi',
      prompt: 'Which of these are prime numbers?',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-multi: 2 and 5 have no other divisors.',
      source,
      choices: [{ text: 'Two', correct: true }, { text: 'Four' }, { text: 'Five', correct: true }, { text: 'Nine' }],
    },
    {
      id: 'q-tf',
      type: 'truefalse',
      prompt: 'Water boils at 100 °C at sea level.',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-tf: at standard pressure.',
      source,
      answer: true,
    },
    {
      id: 'q-short',
      type: 'short',
      prompt: 'Name the layer that runs virtual machines.',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-short: the hypervisor schedules guests.',
      source,
      accept: ['Hypervisor', 'VMM'],
    },
    {
      id: 'q-numeric',
      type: 'numeric',
      prompt: 'How many milliseconds in a tenth of a second?',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-numeric: one tenth of 1000.',
      source,
      value: 100,
      tolerance: 5,
      unit: 'ms',
    },
    {
      id: 'q-order',
      type: 'order',
      prompt: 'Put the NATO letters in alphabet order.',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-order: A, B, C, D.',
      source,
      items: ['Alpha', 'Bravo', 'Charlie', 'Delta'],
    },
    {
      id: 'q-poll',
      type: 'poll',
      prompt: 'Which lab slot suits you?',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-poll: there is no right answer.',
      source,
      choices: [{ text: 'Morning' }, { text: 'Afternoon' }, { text: 'Evening' }],
    },
    {
      id: 'q-open',
      type: 'open',
      prompt: 'Explain why containers start faster than virtual machines.',
      timeLimit: 20,
      points: 600,
      maxLength: 100,
      explanation: 'EXPL-open: no guest kernel to boot.',
      source,
      rubric: [
        { id: 'crit-kernel', label: 'Kernel', points: 2, description: 'RUBRIC-DESC-kernel: names the shared kernel' },
        { id: 'crit-boot', label: 'Boot', points: 3, description: 'RUBRIC-DESC-boot: explains there is no boot' },
        { id: 'crit-example', label: 'Example', points: 1, description: 'RUBRIC-DESC-example: gives an example' },
      ],
    },
    {
      id: 'q-justify',
      type: 'single',
      prompt: 'Which protocol is connectionless?',
      timeLimit: 20,
      points: 1000,
      explanation: 'EXPL-justify: UDP sends datagrams.',
      source,
      choices: [{ text: 'TCP' }, { text: 'UDP', correct: true }],
      justify: {
        prompt: 'Why?',
        maxLength: 60,
        points: 300,
        rubric: [
          { id: 'crit-handshake', label: 'Handshake', points: 2, description: 'RUBRIC-DESC-handshake: no handshake' },
          { id: 'crit-datagram', label: 'Datagram', points: 1, description: 'RUBRIC-DESC-datagram: datagrams' },
        ],
      },
    },
  ],
});

export const QUESTIONS: Question[] = BANK.questions;

/** Question ids and their positions in the bank. */
export const Q = {
  single: 'q-single',
  multi: 'q-multi',
  tf: 'q-tf',
  short: 'q-short',
  numeric: 'q-numeric',
  order: 'q-order',
  poll: 'q-poll',
  open: 'q-open',
  justify: 'q-justify',
} as const;
export const QI: Record<string, number> = Object.fromEntries(QUESTIONS.map((q, i) => [q.id, i]));

export function question<T extends Question['type']>(id: string, type?: T): Extract<Question, { type: T }> {
  const q = QUESTIONS.find((x) => x.id === id);
  if (!q || (type && q.type !== type)) throw new Error(`no fixture question ${id}`);
  return q as Extract<Question, { type: T }>;
}

export const DEFAULT_OPTIONS = SessionOptions.parse({});

/** A new game in the lobby at T0. */
export function game(opts: SessionOptionsInput = {}, extra: { questions?: Question[]; seed?: number } = {}): GameState {
  return newGame({
    code: 'QZ1234',
    bankId: BANK.id,
    bankTitle: BANK.title,
    questions: extra.questions ?? QUESTIONS,
    options: SessionOptions.parse(opts),
    seed: extra.seed ?? 42,
    now: T0,
  });
}

/** Applies a command that must be accepted (happy paths); throws with the engine's error otherwise. */
export function apply(state: GameState, cmd: Command, now: number = T0): GameState {
  return run(state, cmd, now).state;
}

/** Like apply, but returns the events too. */
export function run(state: GameState, cmd: Command, now: number = T0): { state: GameState; events: GameEvent[] } {
  const r = reduce(state, cmd, now);
  if (!r.ok) throw new Error(`engine refused ${cmd.type}: ${r.error.code} ${r.error.message}`);
  return { state: r.state, events: r.events };
}

/** Player id used by joinAll for a nickname. */
export const pid = (name: string) => `p-${name.toLowerCase()}`;

export function joinAll(state: GameState, names: string[], now: number = T0): GameState {
  return names.reduce((s, name) => apply(s, { type: 'join', playerId: pid(name), nickname: name }, now), state);
}

export function answerCmd(
  playerId: string,
  questionId: string,
  answer: AnswerInput,
  opts: { sentAt?: number; rttMs?: number; justification?: string } = {},
): Command {
  const timing = { sentAt: opts.sentAt ?? 0, rttMs: opts.rttMs ?? 0 };
  return opts.justification === undefined
    ? { type: 'answer', playerId, questionId, answer, timing }
    : { type: 'answer', playerId, questionId, answer, timing, justification: opts.justification };
}

/**
 * Drives the game until question `index` is open at time `now`: starts the session if
 * needed, then closes and advances (never skips) through the questions before it.
 */
export function openQuestionAt(state: GameState, index: number, now: number = T0): GameState {
  let s = state;
  if (s.session.phase === 'lobby') s = apply(s, { type: 'start' }, now);
  while (s.session.questionIndex < index) {
    if (s.session.phase === 'open') s = apply(s, { type: 'close' }, now);
    s = apply(s, { type: 'next' }, now);
  }
  if (s.session.questionIndex !== index || s.session.phase !== 'open') throw new Error(`could not open question ${index}`);
  return s;
}

/** The order answer (presented positions) that lists the items in the given authored order. */
export function orderAnswer(state: GameState, authoredSequence: number[]): AnswerInput {
  const presented = state.session.current?.presented ?? [];
  return { type: 'order', order: authoredSequence.map((a) => presented.indexOf(a)) };
}

/** Freezes an object graph so that any attempt to mutate it throws (ESM code is strict). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value as object)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/**
 * Asserts that the engine refuses `cmd` with `code` and leaves its (deep-frozen) input
 * untouched (I4). Returns the error for further checks.
 */
export function expectRejected(state: GameState, cmd: Command, now: number, code: ErrorCode): AppError {
  const before = structuredClone(state);
  deepFreeze(state);
  const r = reduce(state, cmd, now);
  expect(r.ok, `expected ${cmd.type} to be refused with ${code}`).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.error.code).toBe(code);
  expect(typeof r.error.message).toBe('string');
  expect(state).toEqual(before);
  return r.error;
}

/** Points of a player's answer record. */
export function record(state: GameState, questionId: string, playerId: string) {
  const r = state.answers[questionId]?.[playerId];
  if (!r) throw new Error(`no answer by ${playerId} to ${questionId}`);
  return r;
}

export function player(state: GameState, playerId: string) {
  const p = state.players[playerId];
  if (!p) throw new Error(`no player ${playerId}`);
  return p;
}
