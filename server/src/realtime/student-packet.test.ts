/**
 * `StudentPacketEncoder` splices pre-encoded shared parts (question, solution, explanation,
 * top 10) into each student's `student:view` packet. Its contract: the output is EXACTLY the
 * string `'2' + JSON.stringify(['student:view', view])`, the packet `socket.emit('student:view',
 * view)` would send (P1: what leaves the server is the projection, nothing more and nothing
 * else). Checked on scripted games through every phase, and on seeded random games.
 *
 * The views built with `studentViewShared` (one set of shared parts for all students) must
 * also be deep-equal to the views built without it.
 */
import { isDeepStrictEqual } from 'node:util';
import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { rubricOf, type AnswerInput, type Phase, type Question, type SessionOptionsInput, type StudentView } from '@quizroom/shared';
import { computeRanking, reduce, studentView, studentViewShared, type Command, type GameState } from '../engine/index.ts';
import { answerCmd, apply, game, joinAll, orderAnswer, pid, Q, QUESTIONS, T0 } from '../engine/test-fixtures.ts';
import { makeRng, type Rng } from '../engine/test-rng.ts';
import { StudentPacketEncoder } from './student-packet.ts';

/** What `socket.emit('student:view', view)` sends: Socket.IO EVENT (2) on "/", no ack, no binary. */
const plainPacket = (view: StudentView) => '2' + JSON.stringify(['student:view', view]);

// ------------------------------------------------------------------ the check, for one state

interface Checked {
  views: number;
}

/**
 * For every player of `state` (kicked ones too): the view built with the shared parts equals
 * the view built without; and every encoder/view pairing gives exactly the plain packet.
 * One encoder per state with the shared parts (as the broadcaster uses it) and one without.
 */
function checkState(label: string, state: GameState, now: number, counts: Checked = { views: 0 }): Checked {
  const live = computeRanking(state, 'live');
  const final = state.session.phase === 'finished' ? computeRanking(state, 'final') : undefined;
  const shared = studentViewShared(state, live, final);
  const withShared = new StudentPacketEncoder(shared);
  const withoutShared = new StudentPacketEncoder();
  for (const playerId of Object.keys(state.players)) {
    const where = `${label}, player ${playerId}`;
    const viaShared = studentView(state, playerId, now, live, final, shared);
    const plain = studentView(state, playerId, now);
    if (!viaShared || !plain) throw new Error(`${where}: no view`);
    // The shared parts change nothing in the view (same values, same key order).
    if (!isDeepStrictEqual(viaShared, plain)) expect(viaShared, `${where}: view with shared parts`).toStrictEqual(plain);
    expect(JSON.stringify(viaShared), `${where}: key order with shared parts`).toBe(JSON.stringify(plain));
    // The broadcaster's pairing, and the others (a view whose parts are not the shared objects falls back to plain encoding).
    const pairs: [string, StudentPacketEncoder, StudentView][] = [
      ['shared encoder, shared view', withShared, viaShared],
      ['shared encoder, plain view', withShared, plain],
      ['plain encoder, shared view', withoutShared, viaShared],
      ['plain encoder, plain view', withoutShared, plain],
    ];
    for (const [pairing, encoder, view] of pairs) {
      const got = encoder.packet(view);
      const want = plainPacket(view);
      if (got !== want) expect(got, `${where}: ${pairing}`).toBe(want);
    }
    counts.views++;
  }
  return counts;
}

// ------------------------------------------------------------------ scripted games

const NAMES = ['Ada', 'Bob', 'Cy', 'Dee', 'Zoë', 'O"Brien \\ 👍'];
const [ADA, BOB, CY, DEE, ZOE, OBRIEN] = NAMES.map(pid) as [string, string, string, string, string, string];
/** Text that JSON must escape: quotes, backslash, controls, line separators, astral and lone surrogates. */
const TRICKY = 'He said "hi" \\ back\n\t\u0001 \u2028\u2029 </script> é 🙂 \ud800 end';

/** The fixture bank with JSON-hostile prompts, choices and explanations (the engine does not validate texts). */
function trickyQuestions(): Question[] {
  return QUESTIONS.map((q) => {
    const t = { ...q, prompt: `${q.prompt} ${TRICKY}`, explanation: `${q.explanation} ${TRICKY}` } as Question;
    if (t.type === 'single' || t.type === 'multi' || t.type === 'poll') t.choices = t.choices.map((c) => ({ ...c, text: `${c.text} "${TRICKY}"` }));
    if (t.type === 'order') t.items = t.items.map((i) => `${i} \\${TRICKY}`);
    return t;
  });
}

type Snapshot = { label: string; state: GameState; now: number };

/**
 * One game through every phase and every question type: answers right and wrong, a pause, a
 * skipped question, a kicked player, open and justify answers graded (before and after reveal,
 * and after the end), a spotlight, the leaderboard, the end. A snapshot after every step.
 */
function scriptedGame(opts: SessionOptionsInput, questions: Question[] = QUESTIONS): Snapshot[] {
  const snaps: Snapshot[] = [];
  let now = T0;
  let s = game(opts, { questions });
  const step = (label: string, cmd?: Command) => {
    now += 250;
    if (cmd) s = apply(s, cmd, now);
    snaps.push({ label, state: s, now });
  };
  const answer = (playerId: string, qid: string, a: AnswerInput, justification?: string) =>
    step(`${qid}: ${playerId} answers`, answerCmd(playerId, qid, a, justification === undefined ? { sentAt: now } : { sentAt: now, justification }));
  const grade = (qid: string, playerId: string, marks: Record<string, number>, comment = TRICKY) =>
    step(`${qid}: ${playerId} graded`, { type: 'grade', questionId: qid, playerId, marks, comment, grader: 'host' });

  step('lobby, nobody');
  s = joinAll(s, NAMES, now);
  step('lobby, everyone joined');
  step('start', { type: 'start' });
  // q-single: everyone, paused, resumed, closed, revealed, leaderboard.
  answer(ADA, Q.single, { type: 'single', choice: 1 });
  answer(BOB, Q.single, { type: 'single', choice: 0 });
  step('paused', { type: 'pause' });
  step('resumed', { type: 'resume' });
  answer(ZOE, Q.single, { type: 'single', choice: 1 });
  step('closed', { type: 'close' });
  step('reveal', { type: 'reveal' });
  step('leaderboard', { type: 'leaderboard' });
  // q-multi is skipped after two answers.
  step('next', { type: 'next' });
  answer(ADA, Q.multi, { type: 'multi', choices: [0, 2] });
  answer(CY, Q.multi, { type: 'multi', choices: [1] });
  step('skip', { type: 'skip' });
  // q-tf: closed by the deadline, leaderboard straight from closed.
  answer(BOB, Q.tf, { type: 'truefalse', value: true });
  answer(DEE, Q.tf, { type: 'truefalse', value: false });
  now = s.session.current!.deadline;
  step('deadline', { type: 'deadline', step: s.session.step });
  step('leaderboard from closed', { type: 'leaderboard' });
  // q-short: Dee is kicked while it is open.
  step('next', { type: 'next' });
  answer(DEE, Q.short, { type: 'short', text: 'hypervisor' });
  step('kick Dee', { type: 'kick', playerId: DEE });
  answer(OBRIEN, Q.short, { type: 'short', text: TRICKY });
  step('closed', { type: 'close' });
  step('reveal', { type: 'reveal' });
  // q-numeric, q-order, q-poll: answered, closed, revealed.
  step('next', { type: 'next' });
  answer(ADA, Q.numeric, { type: 'numeric', value: 100 });
  answer(BOB, Q.numeric, { type: 'numeric', value: -0.5 });
  step('closed', { type: 'close' });
  step('reveal', { type: 'reveal' });
  step('next', { type: 'next' });
  answer(CY, Q.order, orderAnswer(s, [0, 1, 2, 3]));
  answer(ZOE, Q.order, { type: 'order', order: [3, 2, 1, 0] });
  step('closed', { type: 'close' });
  step('reveal', { type: 'reveal' });
  step('next', { type: 'next' });
  answer(ADA, Q.poll, { type: 'poll', choices: [0, 2] });
  step('closed', { type: 'close' });
  step('reveal', { type: 'reveal' });
  // q-open: Ada graded before reveal, Bob awaiting a grade at reveal, then graded; a spotlight.
  step('next', { type: 'next' });
  answer(ADA, Q.open, { type: 'open', text: `Ada ${TRICKY}` });
  answer(BOB, Q.open, { type: 'open', text: 'no kernel to boot' });
  answer(OBRIEN, Q.open, { type: 'open', text: TRICKY });
  step('closed', { type: 'close' });
  grade(Q.open, ADA, { 'crit-kernel': 2, 'crit-boot': 1, 'crit-example': 0 });
  step('reveal', { type: 'reveal' });
  grade(Q.open, BOB, { 'crit-kernel': 2, 'crit-boot': 3, 'crit-example': 1 }, '');
  step('spotlight', { type: 'spotlight', questionId: Q.open, playerId: ADA });
  step('consent', { type: 'spotlight-consent', playerId: ADA, allow: true });
  step('leaderboard', { type: 'leaderboard' });
  // q-justify: justifications written and replaced, one graded; the session ends while it is revealed.
  step('next', { type: 'next' });
  answer(ADA, Q.justify, { type: 'single', choice: 1 }, 'no handshake');
  answer(BOB, Q.justify, { type: 'single', choice: 0 });
  step('Bob justifies', { type: 'justify', playerId: BOB, questionId: Q.justify, text: TRICKY.slice(0, 40) });
  answer(CY, Q.justify, { type: 'single', choice: 1 }, 'datagrams');
  step('closed', { type: 'close' });
  grade(Q.justify, CY, { 'crit-handshake': 1, 'crit-datagram': 1 });
  step('reveal', { type: 'reveal' });
  step('end', { type: 'end' });
  // Grades after the end change the final results (P5).
  grade(Q.justify, ADA, { 'crit-handshake': 2, 'crit-datagram': 1 });
  grade(Q.open, OBRIEN, { 'crit-kernel': 1, 'crit-boot': 0, 'crit-example': 1 });
  return snaps;
}

/** A game ended while a question is open, and one ended in the lobby. */
function endedEarly(): Snapshot[] {
  let s = joinAll(game(), ['Ada', 'Bob']);
  s = apply(s, { type: 'start' }, T0 + 1);
  s = apply(s, answerCmd(pid('Ada'), Q.single, { type: 'single', choice: 1 }), T0 + 2);
  const open = s;
  s = apply(s, { type: 'end' }, T0 + 3);
  const fromLobby = apply(joinAll(game(), ['Ada']), { type: 'end' }, T0 + 4);
  return [
    { label: 'ended while open', state: s, now: T0 + 5 },
    { label: 'open before the end', state: open, now: T0 + 5 },
    { label: 'ended in the lobby', state: fromLobby, now: T0 + 5 },
  ];
}

const SCRIPTS: [string, () => Snapshot[]][] = [
  ['default options', () => scriptedGame({})],
  ['accuracy scoring, graded points live, no streak', () => scriptedGame({ scoring: 'accuracy', gradedPointsLive: true, streak: false })],
  ['JSON-hostile question texts', () => scriptedGame({ gradedPointsLive: true }, trickyQuestions())],
  ['games ended early', endedEarly],
];

describe('StudentPacketEncoder: the packet is exactly 2 + JSON.stringify(["student:view", view]) (P1)', () => {
  it('is the packet socket.io-parser encodes for emit("student:view", view), and decodes back to the view', () => {
    const snaps = scriptedGame({});
    const { state, now } = snaps.find((x) => x.state.session.phase === 'reveal' && x.state.session.current?.questionId === Q.open)!;
    const live = computeRanking(state, 'live');
    const shared = studentViewShared(state, live);
    const view = studentView(state, ADA, now, live, undefined, shared)!;
    const packet = new StudentPacketEncoder(shared).packet(view);
    expect(new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['student:view', view] })).toEqual([packet]);
    const decoder = new Decoder();
    let decoded: unknown;
    decoder.on('decoded', (p: unknown) => (decoded = p));
    decoder.add(packet);
    expect(decoded).toEqual({ type: PacketType.EVENT, nsp: '/', data: ['student:view', JSON.parse(JSON.stringify(view))] });
  });

  for (const [name, build] of SCRIPTS) {
    it(`every phase, every player (kicked included), with and without shared parts: ${name}`, () => {
      const snaps = build();
      let views = 0;
      for (const snap of snaps) views += checkState(`${name} / ${snap.label} (${snap.state.session.phase})`, snap.state, snap.now).views;
      expect(views).toBeGreaterThan(snaps.length);
    });
  }

  it('the scripted games cover every phase, pause, skip, kick, grades and a spotlight', () => {
    const states = SCRIPTS.flatMap(([, build]) => build().map((x) => x.state));
    const phases = new Set(states.map((s) => s.session.phase));
    expect([...phases].sort()).toEqual((['lobby', 'open', 'closed', 'reveal', 'leaderboard', 'finished'] satisfies Phase[]).sort());
    expect(states.some((s) => s.session.current?.pausedRemainingMs != null)).toBe(true);
    expect(states.some((s) => s.session.skippedQuestionIds.length > 0)).toBe(true);
    expect(states.some((s) => Object.values(s.players).some((p) => p.kicked))).toBe(true);
    expect(states.some((s) => s.session.spotlight !== null)).toBe(true);
    // Views carry grades of both kinds, and a result awaiting its grade.
    const last = scriptedGame({}).at(-1)!;
    const views = Object.keys(last.state.players).map((id) => studentView(last.state, id, last.now)!);
    expect(new Set(views.flatMap((v) => v.grades.map((g) => g.kind)))).toEqual(new Set(['open', 'justify']));
    const revealOpen = scriptedGame({}).find((x) => x.state.session.phase === 'reveal' && x.state.session.current?.questionId === Q.open)!;
    expect(studentView(revealOpen.state, BOB, revealOpen.now)!.reveal!.result.awaitingGrade).toBe(true);
  });
});

// ------------------------------------------------------------------ seeded random games


const FUZZ_NICKNAMES = ['Ada', 'Bob', 'Cy', 'Dee', 'Eve', 'Zoë', '👍', 'Grace  Hopper', 'O"Brien', 'back\\slash', 'x'.repeat(20), 'Mallory'];
const ALPHABET = ['a', 'b', ' ', 'é', '🙂', '"', '\\', '\n', '\u2028', '<', '\ud800', 'Z'];
const randomText = (rng: Rng, max: number) => Array.from({ length: rng.int(0, max) }, () => rng.pick(ALPHABET)).join('');

/** A valid-looking answer for q (the engine refuses the broken ones; refused commands are dropped). */
function randomAnswer(rng: Rng, s: GameState, q: Question): AnswerInput {
  switch (q.type) {
    case 'single':
      return { type: 'single', choice: rng.int(0, q.choices.length - 1) };
    case 'multi':
    case 'poll': {
      const picked = q.choices.map((_, i) => i).filter(() => rng.chance(0.5));
      const choices = picked.length > 0 ? picked : [0];
      return q.type === 'multi' ? { type: 'multi', choices } : { type: 'poll', choices };
    }
    case 'truefalse':
      return { type: 'truefalse', value: rng.chance(0.5) };
    case 'short':
      return { type: 'short', text: rng.pick(['Hypervisor', ' vmm. ', 'kernel', randomText(rng, 12)]) };
    case 'numeric':
      return { type: 'numeric', value: q.value + rng.int(-10, 10) * rng.pick([0.25, 1]) };
    case 'order':
      return rng.chance(0.3) ? orderAnswer(s, [0, 1, 2, 3].slice(0, q.items.length)) : { type: 'order', order: rng.shuffle(q.items.map((_, i) => i)) };
    case 'open':
      return { type: 'open', text: randomText(rng, 60) };
  }
}

const PHASE_MOVES: Record<Phase, Command['type'][]> = {
  lobby: ['start'],
  open: ['close', 'skip', 'pause', 'resume', 'end'],
  closed: ['next', 'reveal', 'leaderboard', 'end'],
  reveal: ['next', 'leaderboard', 'end'],
  leaderboard: ['next', 'end'],
  finished: [],
};

/** A small version of the engine fuzz's command generator, biased towards commands the engine accepts. */
function randomCommand(rng: Rng, s: GameState, nextId: () => string): Command {
  const ids = Object.keys(s.players);
  const active = ids.filter((id) => !s.players[id]!.kicked);
  const cur = s.session.current;
  const phase = s.session.phase;
  const roll = rng.int(0, 99);
  if (roll < (phase === 'lobby' ? 50 : 6) || ids.length === 0) {
    return { type: 'join', playerId: nextId(), nickname: rng.chance(0.6) ? rng.pick(FUZZ_NICKNAMES) : randomText(rng, 16) };
  }
  if (roll < 50 && cur && phase === 'open') {
    const q = s.questions[cur.index]!;
    const fresh = active.filter((id) => !s.answers[q.id]?.[id]);
    const playerId = fresh.length > 0 ? rng.pick(fresh) : rng.pick(ids);
    const cmd = answerCmd(playerId, q.id, randomAnswer(rng, s, q), { sentAt: cur.openedAt });
    if (q.type !== 'open' && q.justify && rng.chance(0.6)) return { ...cmd, justification: randomText(rng, 50) } as Command;
    return cmd;
  }
  if (roll < 55 && cur) return { type: 'justify', playerId: rng.pick(ids), questionId: cur.questionId, text: randomText(rng, 50) };
  if (roll < 75) {
    const moves = PHASE_MOVES[phase].filter((m) => m !== 'end' || rng.chance(0.05));
    if (moves.length > 0) return { type: rng.pick(moves) } as Command;
  }
  if (roll < 78 && active.length > 2) return { type: 'kick', playerId: rng.pick(active) };
  if (roll < 92) {
    const written = Object.values(s.answers).flatMap((byPlayer) => Object.values(byPlayer).filter((r) => r.answer.type === 'open' || r.justification !== null));
    if (written.length > 0) {
      const r = rng.pick(written);
      const q = s.questions.find((x) => x.id === r.questionId)!;
      const marks = Object.fromEntries(rubricOf(q)!.map((c) => [c.id, rng.int(0, c.points)]));
      if (rng.chance(0.15)) return { type: 'spotlight', questionId: q.id, playerId: r.playerId };
      return { type: 'grade', questionId: q.id, playerId: r.playerId, marks, comment: randomText(rng, 20), grader: rng.pick(['host', 'ta']) };
    }
  }
  if (roll < 96 && ids.length > 0) return { type: 'spotlight-consent', playerId: rng.pick(ids), allow: rng.chance(0.5) };
  return { type: 'deadline', step: s.session.step };
}

function randomOptions(rng: Rng): SessionOptionsInput {
  return {
    scoring: rng.pick(['speed', 'accuracy'] as const),
    streak: rng.chance(0.7),
    timeMultiplier: rng.pick([0.25, 1, 2]),
    allowLateJoin: rng.chance(0.7),
    gradedPointsLive: rng.chance(0.5),
  };
}

const generated = new Map<string, Snapshot[]>();
/** The states of one seeded game series (memoised: the tests below share them). */
function randomStates(seed: number, count: number, every: number): Snapshot[] {
  const key = `${seed}/${count}/${every}`;
  let snaps = generated.get(key);
  if (!snaps) generated.set(key, (snaps = generateStates(seed, count, every)));
  return snaps;
}

/** Every `every`-th accepted state of one seeded game series, `count` of them. */
function generateStates(seed: number, count: number, every: number): Snapshot[] {
  const rng = makeRng(seed);
  let id = 0;
  const nextId = () => `p${id++}`;
  const newGame = () => game(randomOptions(rng), { questions: rng.shuffle(rng.chance(0.3) ? trickyQuestions() : QUESTIONS).slice(0, rng.int(3, QUESTIONS.length)), seed: rng.int(0, 2 ** 31) });
  let s = newGame();
  let now = T0;
  let accepted = 0;
  const out: Snapshot[] = [];
  let guard = 0;
  while (out.length < count) {
    if (++guard > count * every * 50) throw new Error(`seed ${seed}: the generator stalls`);
    if (s.session.phase === 'finished' && rng.chance(0.1)) s = newGame();
    now += rng.chance(0.9) ? rng.int(0, 500) : rng.int(0, 30_000);
    const cmd = randomCommand(rng, s, nextId);
    const r = reduce(s, cmd, now);
    if (!r.ok) continue;
    s = r.state;
    if (++accepted % every === 0) out.push({ label: `seed ${seed}, accepted #${accepted} (${cmd.type})`, state: s, now });
  }
  return out;
}

const SEEDS = [1, 7, 42, 1337, 2024, 31337];
const STATES_PER_SEED = 60;

describe('seeded fuzz: the packet is exactly 2 + JSON.stringify(["student:view", view]), shared parts change nothing (P1)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${STATES_PER_SEED} random states, every player`, () => {
      const snaps = randomStates(seed, STATES_PER_SEED, 3);
      let views = 0;
      for (const snap of snaps) views += checkState(snap.label, snap.state, snap.now).views;
      expect(views).toBeGreaterThan(STATES_PER_SEED);
    });
  }

  it('the seeds reach every phase, pauses, skips, kicks, grades and revealed graded results', () => {
    const states = SEEDS.flatMap((seed) => randomStates(seed, STATES_PER_SEED, 3).map((x) => x.state));
    expect(new Set(states.map((s) => s.session.phase))).toEqual(new Set(['lobby', 'open', 'closed', 'reveal', 'leaderboard', 'finished']));
    expect(states.some((s) => s.session.phase === 'open' && s.session.current?.pausedRemainingMs != null)).toBe(true);
    expect(states.some((s) => s.session.skippedQuestionIds.length > 0)).toBe(true);
    expect(states.some((s) => Object.values(s.players).some((p) => p.kicked))).toBe(true);
    const graded = states.filter((s) => Object.values(s.answers).some((byPlayer) => Object.values(byPlayer).some((r) => r.grade !== null)));
    expect(graded.length).toBeGreaterThan(10);
    expect(graded.some((s) => s.session.phase === 'reveal' && s.session.current && rubricOf(s.questions[s.session.current.index]!))).toBe(true);
  });

  it('a seed replays the same states', () => {
    expect(generateStates(99, 20, 3)).toEqual(generateStates(99, 20, 3));
  });
});
