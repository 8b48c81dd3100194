/**
 * The contract every SessionStore passes (store.test.ts runs it against MemoryStore and
 * against RedisStore on a real redis-server). Case ids ST… are listed in docs/storage.md.
 */
import { describe, expect, it, afterEach, beforeEach } from 'vitest';
import { Question, SessionOptions, type SessionOptionsInput } from '@quizroom/shared';
import { newGame, newPlayer, type AnswerRecord, type GameState, type Player, type SessionCore } from '../engine/state.ts';
import { gateOf } from './gate.ts';
import type { SessionStore } from './types.ts';

export interface StoreHarness {
  store: SessionStore;
  cleanup(): Promise<void>;
  /** Stores with a controllable clock: move it forward. */
  advanceClock?(ms: number): void;
  /** Stores with server-side expiry: remaining TTL (ms) of every key of the session, incl. its token keys. */
  sessionTtlsMs?(code: string): Promise<Record<string, number>>;
  /** Stores with a server: restart it (the data must survive). */
  restart?(): Promise<void>;
  /** Make the session's time run out (every key gone, as after its TTL), so its code is free. */
  expireSession(code: string): Promise<void>;
  /** Another store on the same data (another server process), if the store can have one. */
  peer?(): SessionStore;
}

export interface ContractFeatures {
  clock?: boolean;
  ttl?: boolean;
  restart?: boolean;
}

export const T0 = 1_763_000_000_123;
const CODE = 'ROOM42';
const HOST_HASH = 'a'.repeat(64);
const LEASE_MS = 5000;

// ------------------------------------------------------------------ fixtures

const source = { file: '000_store.txt', section: 'Store contract' };
const rubric = [
  { id: 'c1', label: 'Names it', points: 3, description: 'Names the thing' },
  { id: 'c2', label: 'Explains it', points: 2, description: 'Explains the thing' },
];

function questions(): Question[] {
  return [
    Question.parse({ id: 'q1', type: 'single', prompt: 'Pick one', explanation: 'Because.', source, choices: [{ text: 'A', correct: true }, { text: 'B' }] }),
    Question.parse({ id: 'q2', type: 'open', prompt: 'Explain', explanation: 'Because.', source, rubric }),
    Question.parse({
      id: 'q3',
      type: 'multi',
      prompt: 'Pick some',
      explanation: 'Because.',
      source,
      choices: [{ text: 'A', correct: true }, { text: 'B' }, { text: 'C', correct: true }],
      justify: { prompt: 'Why?', rubric },
    }),
  ];
}

function game(options: SessionOptionsInput = {}, code = CODE): GameState {
  return newGame({ code, bankId: 'store-bank', bankTitle: 'Store bank', questions: questions(), options: SessionOptions.parse(options), seed: 42, now: T0 });
}

function withSession(state: GameState, patch: Partial<SessionCore>): GameState {
  return { ...state, session: { ...state.session, ...patch } };
}

/** The state with question `index` open (one step later). */
function opened(state: GameState, index = 0): GameState {
  const q = state.questions[index]!;
  return withSession(state, {
    phase: 'open',
    step: state.session.step + 1,
    questionIndex: index,
    current: { index, questionId: q.id, openedAt: T0, durationMs: 20_000, deadline: T0 + 20_000, pausedRemainingMs: null, presented: [], skipped: false },
  });
}

function closed(state: GameState): GameState {
  return withSession(state, { phase: 'closed', step: state.session.step + 1 });
}

function player(id: string, nickname: string): Player {
  return newPlayer(id, nickname, T0);
}

function record(playerId: string, questionId: string, patch: Partial<AnswerRecord> = {}): AnswerRecord {
  return {
    playerId,
    questionId,
    answer: questionId === 'q2' ? { type: 'open', text: `text of ${playerId}` } : { type: 'single', choice: 0 },
    receivedAt: T0 + 1234,
    elapsedMs: 1234,
    correct: questionId === 'q2' ? null : true,
    fraction: questionId === 'q2' ? null : 1,
    points: questionId === 'q2' ? 0 : 969,
    streakBonus: 0,
    justification: null,
    textVersion: 1,
    grade: null,
    ...patch,
  };
}

const key = (nickname: string) => nickname.toLocaleLowerCase('en');

// ------------------------------------------------------------------ the suite

export function runStoreContract(name: string, makeStore: () => Promise<StoreHarness>, features: ContractFeatures = {}): void {
  describe(`SessionStore contract: ${name}`, () => {
    let h: StoreHarness;
    let store: SessionStore;

    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** Replaces prev by next the way the server does: lease, commit, release. */
    async function commitAs(prev: GameState, next: GameState, owner = 'setup'): Promise<void> {
      expect(await store.acquireLease(CODE, owner, T0, LEASE_MS, null)).toBe(true);
      expect(await store.commit(CODE, owner, prev, next)).toBe('ok');
      await store.releaseLease(CODE, owner);
    }

    /** A session with players p1…pn joined, and (optionally) question `open` open. */
    async function session(opts: { players?: number; open?: number; options?: SessionOptionsInput } = {}): Promise<GameState> {
      const base = game(opts.options);
      expect(await store.createSession(base, { hostTokenHash: HOST_HASH })).toBe('ok');
      for (let i = 1; i <= (opts.players ?? 0); i++) expect(await store.addPlayer(CODE, player(`p${i}`, `Player ${i}`), key(`Player ${i}`))).toBe('ok');
      if (opts.open !== undefined) await commitAs(base, opened(base, opts.open));
      return (await store.loadState(CODE))!;
    }

    function answerArgs(state: GameState, rec: AnswerRecord, patch: Partial<Parameters<SessionStore['recordAnswer']>[1]> = {}) {
      return { record: rec, step: state.session.step, acceptUntil: T0 + 20_000, now: T0 + 1234, mode: { kind: 'new' as const }, ...patch };
    }

    it('ST0 ping answers true while the store is usable', async () => {
      expect(await store.ping()).toBe(true);
      expect(store.isConnected()).toBe(true);
    });

    it('ST1 createSession stores a session, refuses a live code, keeps the host token hash and derives the gate', async () => {
      const state = game();
      expect(await store.createSession(state, { hostTokenHash: HOST_HASH })).toBe('ok');
      expect(await store.createSession(game({ maxPlayers: 3 }), { hostTokenHash: 'b'.repeat(64) })).toBe('code-taken');
      expect(await store.hostTokenHash(CODE)).toBe(HOST_HASH);
      expect(await store.gate(CODE)).toStrictEqual(gateOf(state.session));
      expect(await store.loadState(CODE)).toStrictEqual(state);
      expect(await store.hostTokenHash('NOPE')).toBeNull();
      expect(await store.gate('NOPE')).toBeNull();
      expect(await store.loadState('NOPE')).toBeNull();
    });

    it('ST2 loadState round-trips a whole GameState exactly (timestamps, fractions, unicode, empty arrays)', async () => {
      const base = game({ scoring: 'accuracy', maxPlayers: 40 });
      expect(await store.createSession(base, { hostTokenHash: HOST_HASH })).toBe('ok');
      const full: GameState = {
        ...base,
        session: {
          ...base.session,
          phase: 'closed',
          step: 7,
          questionIndex: 2,
          current: { index: 2, questionId: 'q3', openedAt: T0, durationMs: 20_000, deadline: T0 + 20_000, pausedRemainingMs: null, presented: [2, 0, 1], skipped: false },
          locked: true,
          seed: 4_294_967_295,
          spotlight: { questionId: 'q2', playerId: 'p2' },
        },
        players: {
          p1: { ...player('p1', 'Ådå ✓'), score: 1969, streak: 2, correctCount: 2, totalTimeMs: 2469, previousRank: 2 },
          p2: { ...player('p2', 'Bob "the" builder'), gradedPoints: 7, joinedAt: T0 + 1, showNameInSpotlight: true },
          p3: { ...player('p3', 'Cy'), kicked: true },
        },
        answers: {
          q1: {
            p1: record('p1', 'q1', { receivedAt: T0 + 999, elapsedMs: 1_763.5, streakBonus: 100 }),
            p2: record('p2', 'q1', { answer: { type: 'single', choice: 1 }, correct: false, fraction: 0, points: 0 }),
          },
          q2: {
            p2: record('p2', 'q2', {
              answer: { type: 'open', text: 'Ünïcödé ✓ — "quotes", \\backslashes\\ and\nnew lines 🎉' },
              textVersion: 3,
              grade: { marks: { c1: 3, c2: 1 }, comment: 'Gut – très bien 👍', points: 7, gradedAt: T0 + 60_000, grader: 'Prof. Ö', version: 2 },
            }),
          },
          q3: {
            p1: record('p1', 'q3', { answer: { type: 'multi', choices: [] }, fraction: 1 / 3, correct: false, points: 333, justification: 'Because ∑ = 1/3' }),
          },
        },
      };
      await commitAs(base, full);
      expect(await store.loadState(CODE)).toStrictEqual(full);
      expect(await store.gate(CODE)).toStrictEqual(gateOf(full.session));
    });

    it('ST3 loadSlice holds the session, all questions, one player and at most that answer; loadPlayer one player', async () => {
      const state = await session({ players: 2, open: 1 });
      const rec = record('p1', 'q2');
      expect(await store.recordAnswer(CODE, answerArgs(state, rec))).toBe('ok');

      const slice = await store.loadSlice(CODE, 'p1', 'q2');
      expect(slice).toStrictEqual({ session: state.session, questions: state.questions, players: { p1: state.players.p1 }, answers: { q2: { p1: rec } } });
      expect((await store.loadSlice(CODE, 'p2', 'q2'))!.answers).toStrictEqual({});
      expect((await store.loadSlice(CODE, 'p2', 'q2'))!.players).toStrictEqual({ p2: state.players.p2 });
      expect((await store.loadSlice(CODE, 'p1', null))!.answers).toStrictEqual({});
      expect((await store.loadSlice(CODE, 'nobody', 'q2'))!.players).toStrictEqual({});
      expect(await store.loadSlice('NOPE', 'p1', 'q2')).toBeNull();

      expect(await store.loadPlayer(CODE, 'p2')).toStrictEqual(state.players.p2);
      expect(await store.loadPlayer(CODE, 'nobody')).toBeNull();
      expect(await store.loadPlayer('NOPE', 'p1')).toBeNull();
    });

    it('ST4 a lease is exclusive until it expires or its owner releases it', async () => {
      await session();
      expect(await store.acquireLease(CODE, 'a', T0, LEASE_MS, null)).toBe(true);
      expect(await store.acquireLease(CODE, 'b', T0 + 1, LEASE_MS, null)).toBe(false);
      expect(await store.acquireLease(CODE, 'a', T0 + 2, LEASE_MS, null)).toBe(true); // the owner renews
      expect(await store.acquireLease(CODE, 'b', T0 + 2 + LEASE_MS - 1, LEASE_MS, null)).toBe(false);
      expect(await store.acquireLease(CODE, 'b', T0 + 2 + LEASE_MS, LEASE_MS, null)).toBe(true); // expired: taken over
      expect(await store.acquireLease(CODE, 'a', T0 + 3 + LEASE_MS, LEASE_MS, null)).toBe(false);
      await store.releaseLease(CODE, 'a'); // not the owner: no effect
      expect(await store.acquireLease(CODE, 'c', T0 + 4 + LEASE_MS, LEASE_MS, null)).toBe(false);
      await store.releaseLease(CODE, 'b');
      expect(await store.acquireLease(CODE, 'c', T0 + 5 + LEASE_MS, LEASE_MS, null)).toBe(true);
      expect(await store.acquireLease('NOPE', 'a', T0, LEASE_MS, null)).toBe(false);

      // concurrent contenders: exactly one wins
      await store.releaseLease(CODE, 'c');
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquireLease(CODE, `x${i}`, T0 + 10_000, LEASE_MS, null)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('ST5 commit is refused without the lease, after losing it and after releasing it; nothing is written', async () => {
      const state = await session({ players: 1 });
      const next = withSession(state, { locked: true });
      expect(await store.commit(CODE, 'a', state, next)).toBe('lost-lease');
      expect(await store.acquireLease(CODE, 'a', T0, LEASE_MS, null)).toBe(true);
      expect(await store.acquireLease(CODE, 'b', T0 + LEASE_MS, LEASE_MS, null)).toBe(true); // a's lease expired
      expect(await store.commit(CODE, 'a', state, next)).toBe('lost-lease');
      await store.releaseLease(CODE, 'b');
      expect(await store.commit(CODE, 'b', state, next)).toBe('lost-lease');
      expect(await store.loadState(CODE)).toStrictEqual(state);
      expect(await store.commit('NOPE', 'a', state, next)).toBe('lost-lease');
      // an expired lease nobody took over is still its owner's
      expect(await store.acquireLease(CODE, 'c', T0, 1, null)).toBe(true);
      expect(await store.commit(CODE, 'c', state, next)).toBe('ok');
      expect((await store.loadState(CODE))!.session.locked).toBe(true);
    });

    it('ST6 commit writes only the players and answers that changed: concurrent joins and answers survive', async () => {
      const before = await session({ players: 2, open: 0 });
      expect(await store.acquireLease(CODE, 'host', T0, LEASE_MS, null)).toBe(true);
      // meanwhile, atomic operations that need no lease:
      expect(await store.addPlayer(CODE, player('p9', 'Late'), key('Late'))).toBe('ok');
      const p2answer = record('p2', 'q1');
      expect(await store.recordAnswer(CODE, answerArgs(before, p2answer))).toBe('ok');
      // the host's command changed p1 and an answer of p1 (and nothing else)
      const p1answer = record('p1', 'q1', { streakBonus: 50 });
      const next: GameState = {
        ...before,
        session: { ...before.session, locked: true },
        players: { ...before.players, p1: { ...before.players.p1!, score: 500 } },
        answers: { ...before.answers, q1: { p1: p1answer } },
      };
      expect(await store.commit(CODE, 'host', before, next)).toBe('ok');
      await store.releaseLease(CODE, 'host');

      const after = (await store.loadState(CODE))!;
      expect(after.session.locked).toBe(true);
      expect(after.players.p1!.score).toBe(500);
      expect(after.players.p9).toStrictEqual(player('p9', 'Late'));
      expect(after.players.p2).toStrictEqual(before.players.p2);
      expect(after.answers.q1).toStrictEqual({ p1: p1answer, p2: p2answer });
      // prev may be the very state next was derived from, or a slice: new players are written too
      const p5 = player('p5', 'Five');
      await commitAs(after, { ...after, session: { ...after.session, locked: false }, players: { ...after.players, p5 } });
      expect(await store.loadPlayer(CODE, 'p5')).toStrictEqual(p5);
      expect(await store.addPlayer(CODE, player('p6', 'five'), key('five'))).toBe('nickname-taken');
    });

    it('ST7 commit re-derives the gate from the new core and clears the seal; releaseLease clears an unused seal', async () => {
      const state = await session({ players: 1, open: 0 });
      const step = state.session.step;
      expect(await store.acquireLease(CODE, 'host', T0, LEASE_MS, step)).toBe(true);
      expect((await store.gate(CODE))!.seal).toBe(step);
      await store.releaseLease(CODE, 'host');
      expect((await store.gate(CODE))!.seal).toBeNull();

      expect(await store.acquireLease(CODE, 'host', T0, LEASE_MS, step)).toBe(true);
      const next = closed(state);
      expect(await store.commit(CODE, 'host', state, next)).toBe('ok');
      expect(await store.gate(CODE)).toStrictEqual(gateOf(next.session));
      expect((await store.gate(CODE))!.seal).toBeNull();
    });

    it('ST22 a seal left by an owner whose lease expired (it died mid-command) never blocks answers: a take-over overwrites it', async () => {
      const state = await session({ players: 3, open: 0 });
      const step = state.session.step;
      // A process seals the open question for a close, then dies before commit or release.
      expect(await store.acquireLease(CODE, 'dead', T0, LEASE_MS, step)).toBe(true);
      expect(await store.recordAnswer(CODE, answerArgs(state, record('p1', 'q1')))).toBe('closed');
      // Another process takes the expired lease over for a command that does not seal (lock, kick, …).
      expect(await store.acquireLease(CODE, 'next', T0 + LEASE_MS, LEASE_MS, null)).toBe(true);
      expect((await store.gate(CODE))!.seal).toBeNull();
      expect(await store.recordAnswer(CODE, answerArgs(state, record('p1', 'q1')))).toBe('ok');
      expect(await store.commit(CODE, 'dead', state, closed(state))).toBe('lost-lease'); // the dead owner cannot score later
      await store.releaseLease(CODE, 'next');
      // A take-over that seals seals for its own step only.
      expect(await store.acquireLease(CODE, 'dead2', T0, LEASE_MS, step)).toBe(true);
      expect(await store.acquireLease(CODE, 'closer', T0 + LEASE_MS, LEASE_MS, step)).toBe(true);
      expect((await store.gate(CODE))!.seal).toBe(step);
      await store.releaseLease(CODE, 'closer');
      expect((await store.gate(CODE))!.seal).toBeNull();
    });

    it('ST23 clearExpiredSeal (the sweeper) ends an expired lease that still holds a seal, and only that', async () => {
      const state = await session({ players: 3, open: 0 });
      const step = state.session.step;
      expect(await store.clearExpiredSeal(CODE, T0)).toBe(false); // nothing to clear
      expect(await store.clearExpiredSeal('NOPE', T0)).toBe(false);
      expect(await store.acquireLease(CODE, 'dead', T0, LEASE_MS, step)).toBe(true);
      // a live owner keeps its seal
      expect(await store.clearExpiredSeal(CODE, T0 + LEASE_MS - 1)).toBe(false);
      expect((await store.gate(CODE))!.seal).toBe(step);
      expect(await store.recordAnswer(CODE, answerArgs(state, record('p1', 'q1')))).toBe('closed');
      // expired: cleared, answers flow, the lease is free, and its owner can no longer commit
      expect(await store.clearExpiredSeal(CODE, T0 + LEASE_MS)).toBe(true);
      expect(await store.gate(CODE)).toStrictEqual(gateOf(state.session));
      expect(await store.recordAnswer(CODE, answerArgs(state, record('p1', 'q1')))).toBe('ok');
      expect(await store.commit(CODE, 'dead', state, closed(state))).toBe('lost-lease');
      expect(await store.acquireLease(CODE, 'other', T0 + 1, LEASE_MS, null)).toBe(true);
      // an expired lease without a seal is left alone: its owner may still commit (ST5)
      expect(await store.clearExpiredSeal(CODE, T0 + 1 + LEASE_MS)).toBe(false);
      expect(await store.commit(CODE, 'other', state, withSession(state, { locked: true }))).toBe('ok');
      await store.releaseLease(CODE, 'other');
      expect(Object.keys((await store.loadState(CODE))!.answers.q1!)).toEqual(['p1']);
    });

    it('ST8 addPlayer: unique nickname keys (kicked players keep theirs), player ids, cap, lock, phase', async () => {
      const base = await session({ players: 1, options: { maxPlayers: 3, allowLateJoin: false } });
      expect(await store.addPlayer('NOPE', player('x', 'X'), key('X'))).toBe('no-session');
      expect(await store.addPlayer(CODE, player('p2', 'player 1'), key('player 1'))).toBe('nickname-taken');
      expect(await store.addPlayer(CODE, player('p1', 'Other'), key('Other'))).toBe('nickname-taken'); // id in use (J6)
      expect(await store.addPlayer(CODE, player('p2', 'Two'), key('Two'))).toBe('ok');
      // kick p2: the nickname stays reserved (J5)
      const s1 = (await store.loadState(CODE))!;
      await commitAs(s1, { ...s1, players: { ...s1.players, p2: { ...s1.players.p2!, kicked: true } } });
      expect(await store.addPlayer(CODE, player('p3', 'TWO'), key('TWO'))).toBe('nickname-taken');
      expect(await store.addPlayer(CODE, player('p3', 'Three'), key('Three'))).toBe('ok');
      expect(await store.addPlayer(CODE, player('p4', 'Four'), key('Four'))).toBe('full'); // kicked players count
      // locked
      const s2 = (await store.loadState(CODE))!;
      await commitAs(s2, withSession(s2, { locked: true, options: { ...s2.session.options, maxPlayers: 10 } }));
      expect(await store.addPlayer(CODE, player('p4', 'Four'), key('Four'))).toBe('locked');
      // started without late joining
      const s3 = (await store.loadState(CODE))!;
      await commitAs(s3, opened(withSession(s3, { locked: false })));
      expect(await store.addPlayer(CODE, player('p4', 'Four'), key('Four'))).toBe('started');
      // late joining allowed
      const s4 = (await store.loadState(CODE))!;
      await commitAs(s4, withSession(s4, { options: { ...s4.session.options, allowLateJoin: true } }));
      expect(await store.addPlayer(CODE, player('p4', 'Four'), key('Four'))).toBe('ok');
      // finished: never
      const s5 = (await store.loadState(CODE))!;
      await commitAs(s5, withSession(s5, { phase: 'finished', step: s5.session.step + 1, finishedAt: T0 + 1 }));
      expect(await store.addPlayer(CODE, player('p5', 'Five'), key('Five'))).toBe('finished');
      expect(Object.keys((await store.loadState(CODE))!.players).sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
      expect(base.players.p1).toStrictEqual(player('p1', 'Player 1'));
    });

    it('ST9 addPlayer is atomic under concurrency: one nickname once, never more than maxPlayers', async () => {
      await session({ options: { maxPlayers: 5 } });
      const same = await Promise.all(Array.from({ length: 20 }, (_, i) => store.addPlayer(CODE, player(`s${i}`, 'Same'), key('Same'))));
      expect(same.filter((r) => r === 'ok')).toHaveLength(1);
      expect(same.filter((r) => r === 'nickname-taken')).toHaveLength(19);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => store.addPlayer(CODE, player(`m${i}`, `M${i}`), key(`M${i}`))));
      expect(many.filter((r) => r === 'ok')).toHaveLength(4);
      expect(many.filter((r) => r === 'full')).toHaveLength(16);
      expect(Object.keys((await store.loadState(CODE))!.players)).toHaveLength(5);
    });

    it('ST10 recordAnswer stores at most one answer per player under 50 concurrent attempts', async () => {
      const state = await session({ players: 2, open: 0 });
      const attempts = Array.from({ length: 50 }, (_, i) => record('p1', 'q1', { receivedAt: T0 + i, answer: { type: 'single', choice: i % 2 } }));
      const results = await Promise.all(attempts.map((rec) => store.recordAnswer(CODE, answerArgs(state, rec))));
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'duplicate')).toHaveLength(49);
      const winner = attempts[results.indexOf('ok')]!;
      expect((await store.loadState(CODE))!.answers).toStrictEqual({ q1: { p1: winner } });
    });

    it('ST11 recordAnswer is refused when closed, for another step or question, sealed, paused, after acceptUntil', async () => {
      const lobby = await session({ players: 3 });
      const rec = record('p1', 'q1');
      expect(await store.recordAnswer('NOPE', answerArgs(lobby, rec))).toBe('no-session');
      expect(await store.recordAnswer(CODE, answerArgs(lobby, rec))).toBe('closed'); // lobby
      expect(await store.recordAnswer(CODE, answerArgs(lobby, rec, { now: T0 + 99_999 }))).toBe('closed'); // closed wins over late
      const open = opened(lobby);
      await commitAs(lobby, open);
      const step = open.session.step;
      expect(await store.recordAnswer(CODE, answerArgs(open, rec, { step: step - 1 }))).toBe('closed');
      expect(await store.recordAnswer(CODE, answerArgs(open, record('p1', 'q2')))).toBe('closed'); // not the open question
      expect(await store.recordAnswer(CODE, answerArgs(open, rec, { now: T0 + 20_001, acceptUntil: T0 + 20_000 }))).toBe('too-late');
      // sealed: a close is being computed
      expect(await store.acquireLease(CODE, 'host', T0, LEASE_MS, step)).toBe(true);
      expect(await store.recordAnswer(CODE, answerArgs(open, rec))).toBe('closed');
      await store.releaseLease(CODE, 'host'); // the close failed: answers flow again
      expect(await store.recordAnswer(CODE, answerArgs(open, rec, { now: T0 + 20_000, acceptUntil: T0 + 20_000 }))).toBe('ok'); // at acceptUntil
      // paused
      const paused = withSession(open, { step: step + 1, current: { ...open.session.current!, pausedRemainingMs: 5000 } });
      await commitAs(open, paused);
      expect(await store.recordAnswer(CODE, answerArgs(paused, record('p2', 'q1')))).toBe('closed');
      // closed
      const resumed = withSession(paused, { step: step + 2, current: { ...paused.session.current!, pausedRemainingMs: null } });
      await commitAs(paused, resumed);
      expect(await store.recordAnswer(CODE, answerArgs(resumed, record('p2', 'q1')))).toBe('ok');
      await commitAs(resumed, closed(resumed));
      expect(await store.recordAnswer(CODE, answerArgs(resumed, record('p3', 'q1')))).toBe('closed');
      expect(Object.keys((await store.loadState(CODE))!.answers.q1!).sort()).toEqual(['p1', 'p2']);
    });

    it('ST12 a replace is stored only while the stored record has the expected textVersion', async () => {
      const state = await session({ players: 2, open: 1 });
      const v1 = record('p1', 'q2');
      expect(await store.recordAnswer(CODE, answerArgs(state, v1))).toBe('ok');
      const v2 = { ...v1, answer: { type: 'open' as const, text: 'second' }, textVersion: 2 };
      expect(await store.recordAnswer(CODE, answerArgs(state, v2, { mode: { kind: 'replace', expectedTextVersion: 1 } }))).toBe('ok');
      const stale = { ...v1, answer: { type: 'open' as const, text: 'lost edit' }, textVersion: 2 };
      expect(await store.recordAnswer(CODE, answerArgs(state, stale, { mode: { kind: 'replace', expectedTextVersion: 1 } }))).toBe('conflict');
      expect(await store.recordAnswer(CODE, answerArgs(state, record('p2', 'q2'), { mode: { kind: 'replace', expectedTextVersion: 1 } }))).toBe('conflict');
      // concurrent edits from the same version: one wins
      const edits = Array.from({ length: 10 }, (_, i) => ({ ...v2, answer: { type: 'open' as const, text: `edit ${i}` }, textVersion: 3 }));
      const results = await Promise.all(edits.map((rec) => store.recordAnswer(CODE, answerArgs(state, rec, { mode: { kind: 'replace', expectedTextVersion: 2 } }))));
      expect(results.filter((r) => r === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r === 'conflict')).toHaveLength(9);
      expect((await store.loadSlice(CODE, 'p1', 'q2'))!.answers.q2!.p1).toStrictEqual(edits[results.indexOf('ok')]);
    });

    it('ST13 saveGrade increments the version and moves graded points by the difference (regrades)', async () => {
      const state = await session({ players: 2, open: 1 });
      const rec = record('p1', 'q2', { receivedAt: T0 });
      expect(await store.recordAnswer(CODE, answerArgs(state, rec))).toBe('ok');
      await commitAs(state, closed(state));
      const g = (points: number, at: number) => ({ marks: { c1: points, c2: 0 }, comment: `${points} ✓`, points, gradedAt: T0 + at, grader: 'prof' });

      expect(await store.saveGrade(CODE, 'q2', 'p1', g(2, 1))).toStrictEqual({ ...g(2, 1), version: 1 });
      expect((await store.loadPlayer(CODE, 'p1'))!.gradedPoints).toBe(2);
      expect(await store.saveGrade(CODE, 'q2', 'p1', g(3, 2))).toStrictEqual({ ...g(3, 2), version: 2 });
      expect((await store.loadPlayer(CODE, 'p1'))!.gradedPoints).toBe(3);
      expect(await store.saveGrade(CODE, 'q2', 'p1', g(0, 3))).toStrictEqual({ ...g(0, 3), version: 3 });
      const after = (await store.loadState(CODE))!;
      expect(after.players.p1!.gradedPoints).toBe(0);
      expect(after.answers.q2!.p1).toStrictEqual({ ...rec, grade: { ...g(0, 3), version: 3 } }); // timestamps exact
      expect((await store.loadSlice(CODE, 'p1', 'q2'))!.players.p1!.gradedPoints).toBe(0);

      expect(await store.saveGrade(CODE, 'q2', 'p2', g(1, 4))).toBeNull(); // no response
      expect(await store.saveGrade(CODE, 'q1', 'p1', g(1, 4))).toBeNull();
      expect(await store.saveGrade('NOPE', 'q2', 'p1', g(1, 4))).toBeNull();
    });

    it('ST14 concurrent saveGrades lose no update: different questions add up, one response ends on the last write', async () => {
      const base = await session({ players: 1 });
      const answered: GameState = {
        ...closed(opened(base, 2)),
        answers: { q2: { p1: record('p1', 'q2') }, q3: { p1: record('p1', 'q3', { justification: 'because' }) } },
      };
      await commitAs(base, answered);
      const g = (points: number) => ({ marks: { c1: points }, comment: '', points, gradedAt: T0, grader: 'prof' });
      await Promise.all([store.saveGrade(CODE, 'q2', 'p1', g(2)), store.saveGrade(CODE, 'q3', 'p1', g(5))]);
      expect((await store.loadPlayer(CODE, 'p1'))!.gradedPoints).toBe(7);

      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.saveGrade(CODE, 'q2', 'p1', g(i))));
      expect(results.map((r) => r!.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const state = (await store.loadState(CODE))!;
      const final = state.answers.q2!.p1!.grade!;
      expect(final.version).toBe(11);
      expect(state.players.p1!.gradedPoints).toBe(final.points + 5);
    });

    it('ST15 a commit carrying a stale player never undoes graded points saved meanwhile', async () => {
      const base = await session({ players: 1 });
      const answered: GameState = { ...closed(opened(base, 1)), answers: { q2: { p1: record('p1', 'q2') } } };
      await commitAs(base, answered);
      const loaded = (await store.loadState(CODE))!;
      expect(await store.acquireLease(CODE, 'host', T0, LEASE_MS, null)).toBe(true);
      await store.saveGrade(CODE, 'q2', 'p1', { marks: { c1: 3, c2: 1 }, comment: '', points: 4, gradedAt: T0, grader: 'ta' });
      const next = { ...loaded, players: { p1: { ...loaded.players.p1!, score: 100 } } }; // gradedPoints still 0 here
      expect(await store.commit(CODE, 'host', loaded, next)).toBe('ok');
      await store.releaseLease(CODE, 'host');
      expect(await store.loadPlayer(CODE, 'p1')).toMatchObject({ score: 100, gradedPoints: 4 });
      // a commit that itself changes graded points (the engine's grade command) moves them by its change
      const again = (await store.loadState(CODE))!;
      await commitAs(again, { ...again, players: { p1: { ...again.players.p1!, gradedPoints: 6 } } });
      expect((await store.loadPlayer(CODE, 'p1'))!.gradedPoints).toBe(6);
    });

    it('ST16 player tokens: put, find, several per player, revoke on kick', async () => {
      await session({ players: 2 });
      const t1 = '1'.repeat(64);
      const t2 = '2'.repeat(64);
      const t3 = '3'.repeat(64);
      await store.putPlayerToken(CODE, t1, 'p1');
      await store.putPlayerToken(CODE, t2, 'p1');
      await store.putPlayerToken(CODE, t3, 'p2');
      expect(await store.playerByToken(t1)).toStrictEqual({ code: CODE, playerId: 'p1' });
      expect(await store.playerByToken(t2)).toStrictEqual({ code: CODE, playerId: 'p1' });
      expect(await store.playerByToken(t3)).toStrictEqual({ code: CODE, playerId: 'p2' });
      expect(await store.playerByToken('f'.repeat(64))).toBeNull();
      await store.revokePlayerTokens(CODE, 'p1');
      expect(await store.playerByToken(t1)).toBeNull();
      expect(await store.playerByToken(t2)).toBeNull();
      expect(await store.playerByToken(t3)).toStrictEqual({ code: CODE, playerId: 'p2' });
      await store.revokePlayerTokens(CODE, 'p1'); // idempotent
      await store.putPlayerToken('NOPE', t1, 'p1'); // no session: no token
      expect(await store.playerByToken(t1)).toBeNull();
    });

    it('ST24 addPlayer with a token stores it with the player; a refused join stores none', async () => {
      await session({ players: 1 });
      const t1 = '4'.repeat(64);
      const t2 = '5'.repeat(64);
      expect(await store.addPlayer(CODE, player('p2', 'Two'), key('Two'), t1)).toBe('ok');
      expect(await store.playerByToken(t1)).toStrictEqual({ code: CODE, playerId: 'p2' });
      expect(await store.addPlayer(CODE, player('p3', 'two'), key('two'), t2)).toBe('nickname-taken');
      expect(await store.playerByToken(t2)).toBeNull();
      expect(await store.addPlayer('NOPE', player('p4', 'Four'), key('Four'), t2)).toBe('no-session');
      expect(await store.playerByToken(t2)).toBeNull();
      await store.putPlayerToken(CODE, t2, 'p2'); // a second token for the same player
      await store.revokePlayerTokens(CODE, 'p2'); // kick: both go
      expect(await store.playerByToken(t1)).toBeNull();
      expect(await store.playerByToken(t2)).toBeNull();
    });

    it('ST17 liveCodes lists every session the store holds', async () => {
      for (const code of ['AAA111', 'BBB222', 'CCC333']) expect(await store.createSession(game({}, code), { hostTokenHash: HOST_HASH })).toBe('ok');
      expect((await store.liveCodes()).sort()).toEqual(['AAA111', 'BBB222', 'CCC333']);
    });

    it('ST18 stored data is a copy: mutating what was passed in or read back changes nothing', async () => {
      const state = game();
      await store.createSession(state, { hostTokenHash: HOST_HASH });
      const p = player('p1', 'Ada');
      await store.addPlayer(CODE, p, key('Ada'));
      state.session.locked = true;
      state.questions[0]!.prompt = 'changed';
      p.score = 999;
      const loaded = (await store.loadState(CODE))!;
      loaded.session.phase = 'finished';
      loaded.players.p1!.nickname = 'changed';
      expect(() => loaded.questions.pop()).toThrow(TypeError); // shared and frozen (ST25)
      expect(() => (loaded.questions[0]!.prompt = 'changed')).toThrow(TypeError);
      const again = (await store.loadState(CODE))!;
      expect(again.session.locked).toBe(false);
      expect(again.session.phase).toBe('lobby');
      expect(again.questions).toHaveLength(3);
      expect(again.questions[0]!.prompt).toBe('Pick one');
      expect(again.players.p1).toStrictEqual(player('p1', 'Ada'));
      const gate = (await store.gate(CODE))!;
      gate.locked = true;
      expect((await store.gate(CODE))!.locked).toBe(false);
    });

    it('ST25 questions are fixed at creation: every read shares one frozen copy; a later session under the same code reads its own', async () => {
      const state = await session({ players: 1, open: 0 });
      const whole = (await store.loadState(CODE))!;
      const slice = (await store.loadSlice(CODE, 'p1', 'q1'))!;
      expect(whole.questions).toStrictEqual(state.questions);
      expect(slice.questions).toStrictEqual(state.questions);
      const choice = (whole.questions[0] as Extract<Question, { type: 'single' }>).choices[0]!;
      expect([Object.isFrozen(whole.questions), Object.isFrozen(whole.questions[0]), Object.isFrozen(choice), Object.isFrozen(slice.questions)]).toEqual([true, true, true, true]);

      // The code is free again; another process makes a new session with other questions under
      // it (same seed and time, too). Read first by loadState, then (a third session) by loadSlice.
      for (const [id, firstRead] of [['q8', 'state'], ['q9', 'slice']] as const) {
        await h.expireSession(CODE);
        const other = newGame({ code: CODE, bankId: id, bankTitle: 'Other', questions: [Question.parse({ id, type: 'open', prompt: 'Other', explanation: 'Because.', source, rubric })], options: SessionOptions.parse({}), seed: 42, now: T0 });
        expect(await (h.peer?.() ?? store).createSession(other, { hostTokenHash: HOST_HASH })).toBe('ok');
        const read = async (how: 'state' | 'slice') => (how === 'state' ? await store.loadState(CODE) : await store.loadSlice(CODE, 'p1', id))!;
        const first = await read(firstRead);
        expect([first.session.bankId, first.questions.map((q) => q.id)]).toEqual([id, [id]]);
        const second = await read(firstRead === 'state' ? 'slice' : 'state');
        expect([second.session.bankId, second.questions.map((q) => q.id)]).toEqual([id, [id]]);
      }
    });

    if (features.clock) it('ST19 sessions expire: live ones a day after the last commit, finished ones after their retention', async () => {
      const state = await session({ players: 1 });
      await store.putPlayerToken(CODE, 't'.repeat(64), 'p1');
      h.advanceClock!(23 * 3600_000);
      await commitAs(state, withSession(state, { locked: true })); // refreshes
      h.advanceClock!(23 * 3600_000);
      expect(await store.liveCodes()).toEqual([CODE]);
      const s2 = (await store.loadState(CODE))!;
      await commitAs(s2, withSession(s2, { phase: 'finished', step: s2.session.step + 1, finishedAt: T0 }));
      await store.setRetention(CODE, 60);
      const s3 = (await store.loadState(CODE))!;
      await commitAs(s3, withSession(s3, { spotlight: null })); // a later commit keeps the retention
      h.advanceClock!(59_000);
      expect(await store.gate(CODE)).not.toBeNull();
      h.advanceClock!(1_000);
      expect(await store.loadState(CODE)).toBeNull();
      expect(await store.gate(CODE)).toBeNull();
      expect(await store.hostTokenHash(CODE)).toBeNull();
      expect(await store.playerByToken('t'.repeat(64))).toBeNull();
      expect(await store.liveCodes()).toEqual([]);
      expect(await store.createSession(game(), { hostTokenHash: HOST_HASH })).toBe('ok'); // the code is free again
      expect((await store.loadState(CODE))!.players).toStrictEqual({});
    });

    if (features.ttl) it('ST20 every key carries a TTL: the live TTL, then the retention (checked, not waited for)', async () => {
      const state = await session({ players: 2, open: 1 });
      await store.recordAnswer(CODE, answerArgs(state, record('p1', 'q2')));
      await store.putPlayerToken(CODE, 't'.repeat(64), 'p1');
      await commitAs(state, closed(state));
      await store.saveGrade(CODE, 'q2', 'p1', { marks: { c1: 1 }, comment: '', points: 1, gradedAt: T0, grader: 'prof' });
      const day = 24 * 3600_000;
      const live = await h.sessionTtlsMs!(CODE);
      expect(Object.keys(live).length).toBeGreaterThanOrEqual(10);
      for (const [k, ttl] of Object.entries(live)) expect([k, ttl > day - 60_000 && ttl <= day]).toEqual([k, true]);

      await store.setRetention(CODE, 3600);
      const s2 = (await store.loadState(CODE))!;
      await commitAs(s2, withSession(s2, { spotlight: { questionId: 'q2', playerId: 'p1' } })); // keeps the retention
      const retained = await h.sessionTtlsMs!(CODE);
      expect(Object.keys(retained).sort()).toEqual(Object.keys(live).sort());
      for (const [k, ttl] of Object.entries(retained)) expect([k, ttl > 3600_000 - 60_000 && ttl <= 3600_000]).toEqual([k, true]);
    });

    if (features.restart) it('ST21 the data survives a restart of the store server', async () => {
      const base = await session({ players: 2, open: 1 });
      await store.recordAnswer(CODE, answerArgs(base, record('p1', 'q2')));
      await store.putPlayerToken(CODE, 't'.repeat(64), 'p2');
      const before = (await store.loadState(CODE))!;
      await h.restart!();
      expect(await store.loadState(CODE)).toStrictEqual(before);
      expect(await store.gate(CODE)).toStrictEqual(gateOf(before.session));
      expect(await store.playerByToken('t'.repeat(64))).toStrictEqual({ code: CODE, playerId: 'p2' });
      expect(await store.ping()).toBe(true);
    });
  });
}
