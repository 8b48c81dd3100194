/**
 * One projection per audience (SPEC P1–P5), as pure functions of the state. These are the
 * only shapes that leave the server: what is not copied here is never sent.
 */
import {
  normaliseShortAnswer,
  rubricMaxMarks,
  rubricOf,
  type Distribution,
  type DisplayView,
  type GradeView,
  type HostSpotlightView,
  type HostView,
  type LeaderboardEntry,
  type MyResult,
  type PublicQuestion,
  type Question,
  type Solution,
  type SpotlightView,
  type StudentView,
} from '@quizroom/shared';
import { computeRanking, type Ranking } from './ranking.ts';
import { responseText } from './reducer.ts';
import type { AnswerRecord, CurrentQuestion, GameState, Grade, Player, SessionCore } from './state.ts';

const REVEALED_PHASES = new Set(['reveal', 'leaderboard', 'finished']);
const LEADERBOARD_SIZE = 10;
const RECENT_NICKNAMES = 40;

export function isRevealed(state: GameState): boolean {
  return REVEALED_PHASES.has(state.session.phase) && state.session.current !== null && !state.session.current.skipped;
}

/** The open question without anything that hints at its answer (P1). */
export function publicQuestion(state: GameState): PublicQuestion | null {
  const cur = state.session.current;
  const q = cur ? state.questions[cur.index] : undefined;
  if (!cur || !q) return null;
  const pub: PublicQuestion = {
    id: q.id,
    index: cur.index,
    total: state.questions.length,
    type: q.type,
    prompt: q.prompt,
    timeLimitMs: cur.durationMs,
    points: q.points,
    difficulty: q.difficulty,
  };
  if (q.type === 'single' || q.type === 'multi' || q.type === 'poll') pub.choices = q.choices.map((c) => c.text);
  if (q.type === 'order') pub.items = cur.presented.map((i) => q.items[i]!);
  if (q.type === 'numeric' && q.unit) pub.unit = q.unit;
  if (q.type === 'open') pub.maxLength = q.maxLength;
  if (q.type !== 'open' && q.justify) pub.justify = { prompt: q.justify.prompt, maxLength: q.justify.maxLength };
  return pub;
}

export function solutionOf(q: Question): Solution {
  switch (q.type) {
    case 'single':
    case 'multi':
      return { type: q.type, correct: q.choices.flatMap((c, i) => (c.correct ? [i] : [])) };
    case 'truefalse':
      return { type: 'truefalse', answer: q.answer };
    case 'short':
      return { type: 'short', accept: q.accept };
    case 'numeric':
      return q.unit ? { type: 'numeric', value: q.value, tolerance: q.tolerance, unit: q.unit } : { type: 'numeric', value: q.value, tolerance: q.tolerance };
    case 'order':
      return { type: 'order', items: q.items };
    case 'poll':
      return { type: 'poll' };
    case 'open':
      return { type: 'open' };
  }
}

/** Answer counts for the current question (host: live; display: after close). */
export function distributionOf(state: GameState): Distribution | null {
  const cur = state.session.current;
  const q = cur ? state.questions[cur.index] : undefined;
  if (!cur || !q) return null;
  const records = Object.values(state.answers[q.id] ?? {}).filter((r) => !state.players[r.playerId]?.kicked);
  const eligible = Object.values(state.players).filter((p) => !p.kicked).length;
  const dist: Distribution = { answered: records.length, eligible };
  if (q.type !== 'poll' && q.type !== 'open') dist.correctCount = records.filter((r) => r.correct).length;
  switch (q.type) {
    case 'single':
    case 'multi':
    case 'poll': {
      const counts = q.choices.map(() => 0);
      for (const r of records) {
        const picked = r.answer.type === 'single' ? [r.answer.choice] : r.answer.type === 'multi' || r.answer.type === 'poll' ? r.answer.choices : [];
        for (const i of picked) if (counts[i] !== undefined) counts[i]++;
      }
      dist.counts = counts;
      break;
    }
    case 'truefalse': {
      const yes = records.filter((r) => r.answer.type === 'truefalse' && r.answer.value).length;
      dist.counts = [yes, records.length - yes];
      break;
    }
    case 'short':
    case 'numeric': {
      const tally = new Map<string, { count: number; correct: boolean }>();
      for (const r of records) {
        const key = r.answer.type === 'short' ? normaliseShortAnswer(r.answer.text) : r.answer.type === 'numeric' ? String(r.answer.value) : '';
        const t = tally.get(key) ?? { count: 0, correct: r.correct === true };
        t.count++;
        tally.set(key, t);
      }
      dist.top = [...tally].map(([value, t]) => ({ value, ...t })).sort((a, b) => b.count - a.count).slice(0, 8);
      break;
    }
    default:
      break;
  }
  return dist;
}

function gradeView(grade: Grade | null, q: Question): GradeView | null {
  const rubric = rubricOf(q);
  if (!grade || !rubric) return null;
  return gradeOf(grade, rubricMaxMarks(rubric));
}

function gradeOf(grade: Grade, maxMarks: number): GradeView {
  return { marks: grade.marks, maxMarks, points: grade.points, comment: grade.comment, gradedAt: grade.gradedAt, grader: grade.grader };
}

function timing(cur: CurrentQuestion | null, phase: string) {
  if (!cur || phase !== 'open') return { deadline: null, pausedRemainingMs: null };
  return cur.pausedRemainingMs !== null ? { deadline: null, pausedRemainingMs: cur.pausedRemainingMs } : { deadline: cur.deadline, pausedRemainingMs: null };
}

function myResult(q: Question, record: AnswerRecord | undefined, streak: number): MyResult {
  const gradable = rubricOf(q) !== undefined && record !== undefined && responseText(record) !== null;
  const grade = gradable ? gradeView(record!.grade, q) : undefined;
  return {
    questionId: q.id,
    answered: record !== undefined,
    correct: record?.correct ?? null,
    fraction: record?.fraction ?? null,
    points: record?.points ?? 0,
    streakBonus: record?.streakBonus ?? 0,
    streak,
    ...(gradable ? { grade } : {}),
    awaitingGrade: gradable && !record!.grade,
  };
}

/**
 * What every student's view of one state has in common: built once per broadcast and shared by
 * reference, so a caller building thousands of views copies the question once, and its
 * encoder (`realtime/student-packet.ts`) JSON-encodes it once.
 */
export interface StudentViewShared {
  question: PublicQuestion | null;
  solution: Solution | null;
  leaderboard: LeaderboardEntry[] | null;
}

export function studentViewShared(state: GameState, ranking: Ranking, finalRanking?: Ranking): StudentViewShared {
  const { session } = state;
  const cur = session.current;
  const q = cur ? state.questions[cur.index] : undefined;
  const finished = session.phase === 'finished';
  const shown = finished ? (finalRanking ?? computeRanking(state, 'final')) : ranking;
  return {
    question: session.phase === 'lobby' ? null : publicQuestion(state),
    solution: q && isRevealed(state) ? solutionOf(q) : null,
    leaderboard: session.phase === 'leaderboard' || finished ? shown.entries.slice(0, LEADERBOARD_SIZE) : null,
  };
}

/**
 * P1: a student's view carries their own data, the public question and, after reveal, the
 * solution.
 *
 * `ranking` (live) and `finalRanking` (used once the session is finished) may be passed in so
 * a caller building many views of one state ranks everyone once, not once per view; `state`
 * then only needs this player and their answers (O(questions) per view). `shared` (from
 * `studentViewShared` of the same state and rankings) saves rebuilding the common parts. A
 * caller building every student's view of one state uses `StudentViews` directly.
 */
export function studentView(
  state: GameState,
  playerId: string,
  now: number,
  ranking: Ranking = computeRanking(state, 'live'),
  finalRanking?: Ranking,
  shared?: StudentViewShared,
): StudentView | null {
  return new StudentViews(state, now, ranking, finalRanking, shared).viewOf(playerId);
}

/** A question whose rubric may give a student a grade, with what every grade of it shows. */
interface GradableQuestion {
  question: Question;
  answers: Record<string, AnswerRecord> | undefined;
  maxMarks: number;
  kind: 'open' | 'justify';
}

/**
 * Every student's view of one state (P1), in two halves: what is the same for all of them is
 * worked out once, here; `viewOf` then adds one student's own data, reading nothing but this
 * object and that student's records.
 *
 * Why a class: at a reveal this runs for every student of a lecture hall. The state objects
 * differ in shape from one phase to the next (loaded from the store, or the cached state with
 * a new core), and a per-student function that read them was deoptimised by V8 at nearly
 * every phase change and ran unoptimised through the next broadcast (docs/performance.md,
 * round 5). An instance of this class always has the same shape.
 */
export class StudentViews {
  private readonly players: Record<string, Player>;
  private readonly code: string;
  private readonly phase: SessionCore['phase'];
  private readonly step: number;
  private readonly finished: boolean;
  private readonly live: Ranking;
  private readonly shown: Ranking;
  private readonly common: StudentViewShared;
  private readonly deadline: number | null;
  private readonly pausedRemainingMs: number | null;
  /** The current question, and this question's answers by player. */
  private readonly question: Question | undefined;
  private readonly answers: Record<string, AnswerRecord> | undefined;
  private readonly gradable: GradableQuestion[];
  private readonly now: number;

  constructor(state: GameState, now: number, ranking: Ranking = computeRanking(state, 'live'), finalRanking?: Ranking, shared?: StudentViewShared) {
    const { session } = state;
    const cur = session.current;
    this.players = state.players;
    this.code = session.code;
    this.phase = session.phase;
    this.step = session.step;
    this.finished = session.phase === 'finished';
    this.live = ranking;
    this.shown = this.finished ? (finalRanking ?? computeRanking(state, 'final')) : ranking;
    this.common = shared ?? studentViewShared(state, ranking, this.shown);
    const t = timing(cur, session.phase);
    this.deadline = t.deadline;
    this.pausedRemainingMs = t.pausedRemainingMs;
    this.question = cur ? state.questions[cur.index] : undefined;
    this.answers = this.question ? state.answers[this.question.id] : undefined;
    // Only a question with a rubric can give a grade (gradeView): the others are skipped per student.
    this.gradable = [];
    for (const question of state.questions) {
      const rubric = rubricOf(question);
      if (rubric) this.gradable.push({ question, answers: state.answers[question.id], maxMarks: rubricMaxMarks(rubric), kind: question.type === 'open' ? 'open' : 'justify' });
    }
    this.now = now;
  }

  viewOf(playerId: string): StudentView | null {
    const player = Object.hasOwn(this.players, playerId) ? this.players[playerId] : undefined;
    if (!player) return null;
    const q = this.question;
    const record = this.answers?.[playerId];
    const shown = this.shown;
    const common = this.common;
    const grades: StudentView['grades'] = [];
    for (const g of this.gradable) {
      const grade = g.answers?.[playerId]?.grade;
      if (grade) grades.push({ questionId: g.question.id, prompt: g.question.prompt, grade: gradeOf(grade, g.maxMarks), kind: g.kind });
    }
    return {
      role: 'student',
      code: this.code,
      phase: this.phase,
      step: this.step,
      me: { playerId, nickname: player.nickname, score: shown.totalOf.get(playerId) ?? player.score, rank: shown.rankOf.get(playerId) ?? null, streak: player.streak, consent: player.showNameInSpotlight },
      playerCount: this.live.entries.length,
      question: common.question,
      deadline: this.deadline,
      pausedRemainingMs: this.pausedRemainingMs,
      myAnswer: record ? { answer: record.answer, justification: record.justification } : null,
      reveal: q && common.solution ? { solution: common.solution, explanation: q.explanation, result: myResult(q, record, player.streak) } : null,
      grades,
      leaderboard: common.leaderboard,
      final: this.finished ? { rank: shown.rankOf.get(playerId) ?? 0, score: shown.totalOf.get(playerId) ?? 0, players: shown.entries.length } : null,
      serverNow: this.now,
    };
  }
}

/** P2: the projector: public question, aggregate counts, leaderboard; no individual answers but the spotlight. */
export function displayView(state: GameState, now: number, ranking: Ranking = computeRanking(state, 'live')): DisplayView {
  const { session } = state;
  const cur = session.current;
  const q = cur ? state.questions[cur.index] : undefined;
  const revealed = isRevealed(state);
  const closed = session.phase === 'closed' || revealed;
  const finished = session.phase === 'finished';
  const finalRanking = finished ? computeRanking(state, 'final') : ranking;
  const recent = newestPlayers(state, RECENT_NICKNAMES).map((p) => p.nickname);
  return {
    role: 'display',
    code: session.code,
    phase: session.phase,
    step: session.step,
    locked: session.locked,
    playerCount: ranking.entries.length,
    recentNicknames: recent,
    question: session.phase === 'lobby' ? null : publicQuestion(state),
    ...timing(cur, session.phase),
    answeredCount: q ? Object.keys(state.answers[q.id] ?? {}).filter((id) => !state.players[id]?.kicked).length : 0, // K1
    distribution: closed && !finished ? displayDistribution(state, revealed) : null,
    solution: q && revealed ? solutionOf(q) : null,
    explanation: q && revealed ? q.explanation : null,
    leaderboard: session.phase === 'leaderboard' || finished ? finalRanking.entries.slice(0, LEADERBOARD_SIZE) : null,
    podium: finished ? finalRanking.entries.filter((e) => e.rank <= 3) : null,
    spotlight: spotlightView(state),
    serverNow: now,
  };
}

/**
 * The `k` players (kicked ones excluded) who joined last, newest first; players who joined at
 * the same time keep the order of `state.players`. Same result as sorting every player by
 * join time, in O(N·k) worst case and O(N) typically, instead of O(N log N) on every refresh.
 */
export function newestPlayers(state: GameState, k: number): Player[] {
  const top: Player[] = [];
  if (k <= 0) return top;
  for (const p of Object.values(state.players)) {
    if (p.kicked) continue;
    if (top.length === k && p.joinedAt <= top[k - 1]!.joinedAt) continue;
    let pos = top.length;
    while (pos > 0 && top[pos - 1]!.joinedAt < p.joinedAt) pos--;
    top.splice(pos, 0, p);
    if (top.length > k) top.pop();
  }
  return top;
}

/** P2: before reveal the display gets counts only; which answers are right is part of the solution. */
function displayDistribution(state: GameState, revealed: boolean): Distribution | null {
  const dist = distributionOf(state);
  if (!dist) return dist;
  // A typed answer only one student gave is that student's answer: the projector shows only
  // answers shared by several (P2); the host sees them all.
  if (revealed) return dist.top ? { ...dist, top: dist.top.filter((t) => t.count >= 2) } : dist;
  const { answered, eligible, counts } = dist;
  return counts ? { answered, eligible, counts } : { answered, eligible };
}

/** P4: a spotlighted response shows its author only if the student allowed it. */
export function spotlightView(state: GameState): SpotlightView | null {
  const s = state.session.spotlight;
  if (!s) return null;
  const q = state.questions.find((x) => x.id === s.questionId);
  const record = state.answers[s.questionId]?.[s.playerId];
  const player = state.players[s.playerId];
  const text = record ? responseText(record) : null;
  if (!q || !record || !player || text === null) return null;
  return { questionId: q.id, prompt: q.type === 'open' ? q.prompt : (q.justify?.prompt ?? q.prompt), text, author: player.showNameInSpotlight ? player.nickname : null, grade: gradeView(record.grade, q) };
}

/** P3: the host's spotlight also says whose response it is (the console marks it in the queue). */
export function hostSpotlightView(state: GameState): HostSpotlightView | null {
  const view = spotlightView(state);
  return view && state.session.spotlight ? { ...view, playerId: state.session.spotlight.playerId } : null;
}

/** P3: the instructor sees everything about the session, including live answer counts. */
export function hostView(
  state: GameState,
  now: number,
  isConnected: (playerId: string) => boolean = () => false,
  ranking: Ranking = computeRanking(state, 'live'),
): HostView {
  const { session } = state;
  const cur = session.current;
  const q = cur ? state.questions[cur.index] : undefined;
  const pub = publicQuestion(state);
  const answers = q ? (state.answers[q.id] ?? {}) : {};
  return {
    role: 'host',
    code: session.code,
    bankId: session.bankId,
    bankTitle: session.bankTitle,
    phase: session.phase,
    step: session.step,
    locked: session.locked,
    options: {
      scoring: session.options.scoring,
      streak: session.options.streak,
      timeMultiplier: session.options.timeMultiplier,
      allowLateJoin: session.options.allowLateJoin,
      gradedPointsLive: session.options.gradedPointsLive,
      nicknamePolicy: session.options.nicknamePolicy,
    },
    players: Object.values(state.players)
      .filter((p) => !p.kicked)
      .sort((a, b) => a.joinedAt - b.joinedAt)
      .map((p) => ({ playerId: p.id, nickname: p.nickname, score: p.score, gradedPoints: p.gradedPoints, streak: p.streak, connected: isConnected(p.id), answeredCurrent: answers[p.id] !== undefined })),
    questions: state.questions.map((x, index) => ({ id: x.id, index, type: x.type, prompt: x.prompt, hasRubric: rubricOf(x) !== undefined, rubric: rubricOf(x) ?? null })),
    questionIndex: session.questionIndex,
    question: q && pub ? { ...pub, explanation: q.explanation, solution: solutionOf(q), rubric: rubricOf(q) ?? null } : null,
    ...timing(cur, session.phase),
    distribution: distributionOf(state),
    leaderboard: (session.phase === 'finished' ? computeRanking(state, 'final') : ranking).entries,
    spotlight: hostSpotlightView(state),
    serverNow: now,
  };
}
