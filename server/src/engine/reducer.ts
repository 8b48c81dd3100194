/**
 * The quiz engine: (state, command, now) → { state, events } | { error }.
 * Pure: no sockets, no store, no clock, no randomness (the shuffle is seeded from the
 * state). Rule ids (G…, J…, A…, SC…, R…) refer to docs/SPEC.md.
 *
 * The input state is never mutated; untouched parts are shared with the result. A caller
 * may pass a state that holds only the players and answers a command touches (the server
 * does that for answers), since student commands never look at other players.
 */
import { checkNickname, containsProfanity, nicknameKey, rubricOf, type AppError, type ErrorCode, type Question } from '@quizroom/shared';
import type { Command, GameEvent, HostCommand, StudentCommand } from './commands.ts';
import { presentationOrder } from './rng.ts';
import { computeRanking } from './ranking.ts';
import { assess, autoPoints, compensatedElapsed, latencyGrace, rubricPoints, streakBonus } from './scoring.ts';
import { newPlayer, type AnswerRecord, type GameState, type Player, type SessionCore } from './state.ts';

export type EngineResult = { ok: true; state: GameState; events: GameEvent[] } | { ok: false; error: AppError };

const fail = (code: ErrorCode, message: string): EngineResult => ({ ok: false, error: { code, message } });
/** Own entries only: ids come from clients, and "constructor" or "__proto__" must not reach Object.prototype. */
const own = <T>(record: Record<string, T> | undefined, key: string): T | undefined => (record && Object.hasOwn(record, key) ? record[key] : undefined);
const done = (state: GameState, ...events: GameEvent[]): EngineResult => ({ ok: true, state, events });

export function reduce(state: GameState, command: Command, now: number): EngineResult {
  if ('step' in command && command.step !== undefined && command.step !== state.session.step) {
    return fail('STALE', `this command was for step ${command.step}; the game is at step ${state.session.step}`); // G8, G9
  }
  if (state.session.phase === 'finished' && !['grade', 'spotlight', 'spotlight-clear', 'spotlight-consent'].includes(command.type)) {
    return fail(command.type === 'deadline' ? 'STALE' : 'BAD_PHASE', 'the session has ended'); // G11 (a late timer is STALE, G9)
  }
  switch (command.type) {
    case 'join':
    case 'answer':
    case 'justify':
    case 'spotlight-consent':
      return reduceStudent(state, command, now);
    case 'deadline':
      return deadlineReached(state, now);
    default:
      return reduceHost(state, command, now);
  }
}

// ---------------------------------------------------------------- host commands

function reduceHost(state: GameState, cmd: HostCommand, now: number): EngineResult {
  const { phase } = state.session;
  switch (cmd.type) {
    case 'start':
      if (phase !== 'lobby') return fail('BAD_PHASE', 'the session has already started');
      if (activePlayers(state).length === 0) return fail('BAD_PHASE', 'nobody has joined yet');
      return openQuestion(state, 0, now); // G1
    case 'next':
      if (phase !== 'closed' && phase !== 'reveal' && phase !== 'leaderboard')
        return fail('BAD_PHASE', phase === 'lobby' ? 'start the session first' : 'close the question first');
      return advance(state, now); // G2
    case 'close':
      if (phase !== 'open') return fail('BAD_PHASE', 'no question is open');
      return closeQuestion(state, false); // G3
    case 'skip': {
      if (phase !== 'open') return fail('BAD_PHASE', 'no question is open');
      const closed = closeQuestion(state, true); // G4
      if (!closed.ok) return closed;
      const next = advance(closed.state, now);
      // One phase change (open → next question or finished): one step (G10).
      return next.ok ? done(withSession(next.state, { step: state.session.step + 1 }), ...closed.events, ...next.events) : next;
    }
    case 'reveal':
      if (phase !== 'closed') return fail('BAD_PHASE', 'close the question before revealing it');
      return done(transition(state, { phase: 'reveal' }), questionEvent(state, 'question-revealed')); // G5
    case 'leaderboard':
      if (phase !== 'closed' && phase !== 'reveal') return fail('BAD_PHASE', 'the leaderboard follows a closed question');
      return done(transition(state, { phase: 'leaderboard' }), { type: 'leaderboard-shown' }); // G5
    case 'pause': {
      const cur = state.session.current;
      if (phase !== 'open' || !cur) return fail('BAD_PHASE', 'no question is open');
      if (cur.pausedRemainingMs !== null) return fail('BAD_PHASE', 'the question is already paused');
      const remaining = Math.max(0, cur.deadline - now);
      return done(transition(state, { current: { ...cur, pausedRemainingMs: remaining } }), { type: 'question-paused', questionId: cur.questionId }); // G6
    }
    case 'resume': {
      const cur = state.session.current;
      if (phase !== 'open' || !cur || cur.pausedRemainingMs === null) return fail('BAD_PHASE', 'the question is not paused');
      // Time spent paused does not count against anyone (SC3): the question is treated as
      // having opened that much later, so its full duration still runs from openedAt.
      const remaining = cur.pausedRemainingMs;
      const current = { ...cur, openedAt: now - (cur.durationMs - remaining), deadline: now + remaining, pausedRemainingMs: null };
      return done(transition(state, { current }), { type: 'question-resumed', questionId: cur.questionId }); // G6
    }
    case 'end': {
      let s = state;
      const events: GameEvent[] = [];
      if (phase === 'open') {
        const closed = closeQuestion(s, false); // G7
        if (!closed.ok) return closed;
        s = closed.state;
        events.push(...closed.events);
      }
      // One phase change (→ finished), even when an open question is closed on the way: one step (G10).
      return done(withSession(s, { phase: 'finished', finishedAt: now, step: state.session.step + 1 }), ...events, { type: 'session-finished' });
    }
    case 'kick': {
      const player = own(state.players, cmd.playerId);
      if (!player) return fail('NOT_FOUND', 'no such player');
      if (player.kicked) return fail('BAD_PHASE', 'that player was already removed');
      return done(withPlayer(state, { ...player, kicked: true }), { type: 'player-kicked', playerId: player.id }); // K1
    }
    case 'lock':
    case 'unlock': {
      const locked = cmd.type === 'lock';
      if (state.session.locked === locked) return fail('BAD_PHASE', locked ? 'the room is already locked' : 'the room is not locked');
      return done(withSession(state, { locked }), { type: 'room-locked', locked }); // L1
    }
    case 'grade':
      return grade(state, cmd, now);
    case 'spotlight': {
      const record = own(own(state.answers, cmd.questionId), cmd.playerId);
      if (!record || responseText(record) === null) return fail('NOT_FOUND', 'no written response to spotlight');
      if (isOpenQuestion(state, cmd.questionId)) return fail('BAD_PHASE', 'spotlight a response once its question has closed');
      if (state.session.skippedQuestionIds.includes(cmd.questionId)) return fail('BAD_PHASE', 'the question was skipped');
      return done(withSession(state, { spotlight: { questionId: cmd.questionId, playerId: cmd.playerId } }), { type: 'spotlight-changed' }); // SP1
    }
    case 'spotlight-clear':
      if (!state.session.spotlight) return fail('BAD_PHASE', 'nothing is spotlighted');
      return done(withSession(state, { spotlight: null }), { type: 'spotlight-changed' });
  }
}

function deadlineReached(state: GameState, now: number): EngineResult {
  const cur = state.session.current;
  if (state.session.phase !== 'open' || !cur) return fail('STALE', 'no question is open');
  if (cur.pausedRemainingMs !== null) return fail('STALE', 'the question is paused'); // G9
  if (now < cur.deadline) return fail('STALE', 'the deadline has not been reached'); // G9
  return closeQuestion(state, false);
}

/** Opens question `index` (G1, G2, G10). */
function openQuestion(state: GameState, index: number, now: number): EngineResult {
  const question = state.questions[index];
  if (!question) return fail('NOT_FOUND', 'no such question');
  const durationMs = Math.round(question.timeLimit * 1000 * state.session.options.timeMultiplier);
  const presented = question.type === 'order' ? presentationOrder(question.items.length, state.session.seed, index) : [];
  const next = transition(state, {
    phase: 'open',
    questionIndex: index,
    current: { index, questionId: question.id, openedAt: now, durationMs, deadline: now + durationMs, pausedRemainingMs: null, presented, skipped: false },
    spotlight: null,
  });
  return done(next, { type: 'question-opened', index, questionId: question.id });
}

function advance(state: GameState, now: number): EngineResult {
  const nextIndex = state.session.questionIndex + 1;
  if (nextIndex >= state.questions.length) {
    return done(transition(state, { phase: 'finished', finishedAt: now, current: state.session.current }), { type: 'session-finished' });
  }
  return openQuestion(state, nextIndex, now);
}

/**
 * Closes the open question (G3, G4). Scoring happens here, once per question, so an answer
 * costs O(1) while the question is open (SC8): streaks, streak bonuses and totals.
 */
function closeQuestion(state: GameState, skipped: boolean): EngineResult {
  const cur = state.session.current;
  const question = cur ? state.questions[cur.index] : undefined;
  if (!cur || !question) return fail('BAD_PHASE', 'no question is open');
  const closedCur = { ...cur, skipped, pausedRemainingMs: null };
  const skippedQuestionIds = skipped ? [...state.session.skippedQuestionIds, cur.questionId] : state.session.skippedQuestionIds;
  let next = transition(state, { phase: 'closed', current: closedCur, skippedQuestionIds });
  if (!skipped) next = scoreQuestion(next, question);
  return done(next, { type: 'question-closed', index: cur.index, questionId: cur.questionId, skipped });
}

function scoreQuestion(state: GameState, question: Question): GameState {
  const ranking = computeRanking(state, 'live');
  // Before anyone has a point everyone shares rank 1: movement from that board would show
  // arrows down for all but the winner, so the first board that separates players has none (SC12).
  const rankedBefore = ranking.entries.some((e) => e.score !== 0);
  const answers = state.answers[question.id] ?? {};
  const affectsStreak = question.type !== 'poll' && question.type !== 'open';
  const players: Record<string, Player> = {};
  const scoredAnswers: Record<string, AnswerRecord> = { ...answers };
  for (const player of Object.values(state.players)) {
    const record = answers[player.id];
    let { streak, score, correctCount, totalTimeMs } = player;
    if (affectsStreak && !player.kicked) {
      const correct = record?.correct === true;
      streak = correct ? streak + 1 : 0;
      if (correct) {
        correctCount += 1;
        totalTimeMs += record!.elapsedMs;
      }
    }
    if (record && !player.kicked) {
      const bonus = record.correct === true ? streakBonus(streak, state.session.options) : 0;
      score += record.points + bonus;
      scoredAnswers[player.id] = { ...record, streakBonus: bonus };
    }
    players[player.id] = { ...player, streak, score, correctCount, totalTimeMs, previousRank: rankedBefore ? (ranking.rankOf.get(player.id) ?? null) : null };
  }
  return { ...state, players, answers: { ...state.answers, [question.id]: scoredAnswers } };
}

function grade(state: GameState, cmd: Extract<HostCommand, { type: 'grade' }>, now: number): EngineResult {
  const question = state.questions.find((q) => q.id === cmd.questionId);
  if (!question) return fail('NOT_FOUND', 'no such question');
  const rubric = rubricOf(question);
  if (!rubric) return fail('NOT_GRADABLE', 'this question has no rubric');
  if (isOpenQuestion(state, question.id)) return fail('NOT_GRADABLE', 'grade a response once its question has closed'); // R1
  const record = own(state.answers[question.id], cmd.playerId);
  if (!record || responseText(record) === null) return fail('NOT_GRADABLE', 'this student wrote nothing to grade');
  if (state.session.skippedQuestionIds.includes(question.id)) return fail('NOT_GRADABLE', 'the question was skipped');
  for (const key of Object.keys(cmd.marks)) {
    if (!rubric.some((c) => c.id === key)) return fail('INVALID_GRADE', `"${key}" is not a criterion of this rubric`);
  }
  for (const c of rubric) {
    const m = cmd.marks[c.id];
    if (m === undefined || !Number.isInteger(m) || m < 0 || m > c.points)
      return fail('INVALID_GRADE', `"${c.label}" needs whole marks from 0 to ${c.points}`);
  }
  const fullPoints = question.type === 'open' ? question.points : (question.justify?.points ?? 0);
  const points = rubricPoints(rubric, cmd.marks, fullPoints);
  const previous = record.grade;
  const player = own(state.players, cmd.playerId);
  if (!player) return fail('NOT_FOUND', 'no such player');
  const gradeRecord = { marks: { ...cmd.marks }, comment: cmd.comment, points, gradedAt: now, grader: cmd.grader, version: (previous?.version ?? 0) + 1 };
  let next = withAnswer(state, { ...record, grade: gradeRecord }); // R2: last write wins
  next = withPlayer(next, { ...player, gradedPoints: player.gradedPoints - (previous?.points ?? 0) + points });
  return done(next, { type: 'graded', playerId: cmd.playerId, questionId: question.id, version: gradeRecord.version });
}

// ---------------------------------------------------------------- student commands

function reduceStudent(state: GameState, cmd: StudentCommand, now: number): EngineResult {
  if (cmd.type === 'join') return join(state, cmd, now);
  const player = own(state.players, cmd.playerId);
  if (!player) return fail('NOT_FOUND', 'no such player');
  if (player.kicked) return fail('KICKED', 'the instructor removed you from this session'); // A6
  if (cmd.type === 'spotlight-consent') {
    return done(withPlayer(state, { ...player, showNameInSpotlight: cmd.allow }), { type: 'consent-changed', playerId: player.id });
  }
  const { session } = state;
  const cur = session.current;
  if (session.phase !== 'open' || !cur) return fail(session.phase === 'lobby' ? 'BAD_PHASE' : 'TOO_LATE', 'no question is open'); // A1
  if (cmd.questionId !== cur.questionId) return fail('WRONG_QUESTION', 'that question is not the open one');
  if (cur.pausedRemainingMs !== null) return fail('PAUSED', 'the question is paused');
  const question = state.questions[cur.index]!;
  const rtt = cmd.type === 'answer' ? cmd.timing.rttMs : (cmd.rttMs ?? 0);
  if (now > cur.deadline + latencyGrace(rtt, session.options.maxLatencyCompensationMs)) return fail('TOO_LATE', 'time is up for this question'); // A2
  const existing = state.answers[question.id]?.[player.id];
  return cmd.type === 'answer' ? answer(state, cmd, question, existing, now) : justify(state, cmd, question, existing);
}

function join(state: GameState, cmd: Extract<StudentCommand, { type: 'join' }>, now: number): EngineResult {
  const { session } = state;
  if (session.phase !== 'lobby' && !session.options.allowLateJoin) return fail('BAD_PHASE', 'this session has already started'); // J1
  if (session.locked) return fail('LOCKED', 'the room is locked'); // J2
  if (own(state.players, cmd.playerId)) return fail('BAD_REQUEST', 'that player id is taken'); // J6
  const checked = checkNickname(cmd.nickname); // J3
  if (!checked.ok) return fail('NICKNAME_INVALID', checked.message);
  if (session.options.nicknamePolicy === 'generated' && !(cmd.offered ?? []).includes(checked.nickname))
    return fail('NICKNAME_INVALID', 'pick one of the suggested names'); // J7
  if (session.options.profanityFilter && containsProfanity(checked.nickname)) return fail('NICKNAME_INVALID', 'choose a different nickname'); // J8
  const key = nicknameKey(checked.nickname);
  const players = Object.values(state.players);
  if (players.some((p) => nicknameKey(p.nickname) === key)) return fail('NICKNAME_TAKEN', `"${checked.nickname}" is taken: choose another nickname`);
  if (players.length >= session.options.maxPlayers) return fail('ROOM_FULL', 'the room is full'); // J4
  return done(withPlayer(state, newPlayer(cmd.playerId, checked.nickname, now)), { type: 'player-joined', playerId: cmd.playerId });
}

function answer(
  state: GameState,
  cmd: Extract<StudentCommand, { type: 'answer' }>,
  question: Question,
  existing: AnswerRecord | undefined,
  now: number,
): EngineResult {
  const cur = state.session.current!;
  const invalid = answerProblem(question, cmd.answer, cur.presented.length);
  if (invalid) return fail('INVALID_ANSWER', invalid); // A4
  const replacesText = question.type === 'open' && existing !== undefined; // A5
  if (existing && !replacesText) return fail('ALREADY_ANSWERED', 'you have already answered this question'); // A3
  const justification = cmd.justification?.trim() || null;
  if (justification !== null) {
    if (!('justify' in question) || !question.justify) return fail('INVALID_ANSWER', 'this question takes no justification');
    if ([...justification].length > question.justify.maxLength) return fail('INVALID_ANSWER', `a justification has at most ${question.justify.maxLength} characters`);
  }
  if (question.type === 'open' && cmd.answer.type === 'open' && [...cmd.answer.text].length > question.maxLength)
    return fail('INVALID_ANSWER', `an answer has at most ${question.maxLength} characters`);
  if (existing && replacesText) {
    const record: AnswerRecord = { ...existing, answer: cmd.answer, textVersion: existing.textVersion + 1 };
    return done(withAnswer(state, record), { type: 'answer-recorded', playerId: cmd.playerId, questionId: question.id, replaced: true });
  }
  const { options } = state.session;
  const elapsedMs = compensatedElapsed({
    receivedAt: now,
    sentAt: cmd.timing.sentAt,
    openedAt: cur.openedAt,
    rttMs: cmd.timing.rttMs,
    maxCompensationMs: options.maxLatencyCompensationMs,
    durationMs: cur.durationMs,
  });
  const { correct, fraction } = assess(question, cmd.answer, cur.presented);
  const points = autoPoints({ points: question.points, fraction, elapsedMs, durationMs: cur.durationMs, scoring: options.scoring });
  const record: AnswerRecord = {
    playerId: cmd.playerId,
    questionId: question.id,
    answer: cmd.answer,
    receivedAt: now,
    elapsedMs,
    correct,
    fraction,
    points,
    streakBonus: 0,
    justification,
    textVersion: 1,
    grade: null,
  };
  return done(withAnswer(state, record), { type: 'answer-recorded', playerId: cmd.playerId, questionId: question.id, replaced: false });
}

function justify(state: GameState, cmd: Extract<StudentCommand, { type: 'justify' }>, question: Question, existing: AnswerRecord | undefined): EngineResult {
  if (question.type === 'open' || !question.justify) return fail('INVALID_ANSWER', 'this question takes no justification'); // A7
  if (!existing) return fail('BAD_PHASE', 'answer the question before justifying it');
  const text = cmd.text.trim();
  if (text.length === 0) return fail('INVALID_ANSWER', 'write a justification');
  if ([...text].length > question.justify.maxLength) return fail('INVALID_ANSWER', `a justification has at most ${question.justify.maxLength} characters`);
  const record: AnswerRecord = { ...existing, justification: text, textVersion: existing.textVersion + 1 }; // A5
  return done(withAnswer(state, record), { type: 'justification-recorded', playerId: cmd.playerId, questionId: question.id });
}

/** A4: the answer must be of the question's type and refer only to what the student was shown. */
export function answerProblem(question: Question, answer: StudentAnswer, presentedCount: number): string | null {
  if (answer.type !== question.type) return `this is a ${question.type} question, not ${answer.type}`;
  const inRange = (i: number, n: number) => Number.isInteger(i) && i >= 0 && i < n;
  const distinct = (xs: number[]) => new Set(xs).size === xs.length;
  switch (answer.type) {
    case 'single':
      return inRange(answer.choice, choiceCount(question)) ? null : 'no such choice';
    case 'multi':
    case 'poll':
      return answer.choices.length > 0 && distinct(answer.choices) && answer.choices.every((i) => inRange(i, choiceCount(question))) ? null : 'no such choice';
    case 'order': {
      const n = presentedCount;
      const isPermutation = answer.order.length === n && distinct(answer.order) && answer.order.every((i) => inRange(i, n));
      return isPermutation ? null : `put all ${n} items in order`;
    }
    default:
      return null;
  }
}
type StudentAnswer = Extract<StudentCommand, { type: 'answer' }>['answer'];

function choiceCount(q: Question): number {
  return q.type === 'single' || q.type === 'multi' || q.type === 'poll' ? q.choices.length : 0;
}

// ---------------------------------------------------------------- helpers

export function activePlayers(state: GameState): Player[] {
  return Object.values(state.players).filter((p) => !p.kicked);
}

export function responseText(record: AnswerRecord): string | null {
  if (record.answer.type === 'open') return record.answer.text;
  return record.justification;
}

function isOpenQuestion(state: GameState, questionId: string): boolean {
  return state.session.phase === 'open' && state.session.current?.questionId === questionId;
}

/** A phase change: bumps the step (G10). */
function transition(state: GameState, patch: Partial<SessionCore>): GameState {
  return withSession(state, { ...patch, step: state.session.step + 1 });
}

function withSession(state: GameState, patch: Partial<SessionCore>): GameState {
  return { ...state, session: { ...state.session, ...patch } };
}

function withPlayer(state: GameState, player: Player): GameState {
  return { ...state, players: { ...state.players, [player.id]: player } };
}

function withAnswer(state: GameState, record: AnswerRecord): GameState {
  const forQuestion = { ...state.answers[record.questionId], [record.playerId]: record };
  return { ...state, answers: { ...state.answers, [record.questionId]: forQuestion } };
}

function questionEvent(state: GameState, type: 'question-revealed'): GameEvent {
  const cur = state.session.current!;
  return { type, index: cur.index, questionId: cur.questionId };
}
