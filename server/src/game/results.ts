/** Results export (CSV and JSON): one row per student and question, graded points included (P5). */
import type { Question } from '@quizroom/shared';
import { computeRanking, presentationOrder, type AnswerRecord, type GameState } from '../engine/index.ts';

/** The answer as a human reads it ("B: Containers", "3.5 GB", "VM > Hypervisor > Host"). */
export function answerSummary(q: Question, record: AnswerRecord, presented?: number[]): string {
  const a = record.answer;
  const letter = (i: number) => String.fromCharCode(65 + i);
  switch (a.type) {
    case 'single':
      return q.type === 'single' ? `${letter(a.choice)}: ${q.choices[a.choice]?.text ?? '?'}` : '';
    case 'multi':
    case 'poll':
      return q.type === 'multi' || q.type === 'poll' ? a.choices.map((i) => `${letter(i)}: ${q.choices[i]?.text ?? '?'}`).join(' | ') : '';
    case 'truefalse':
      return a.value ? 'True' : 'False';
    case 'short':
    case 'open':
      return a.text;
    case 'numeric':
      return q.type === 'numeric' && q.unit ? `${a.value} ${q.unit}` : String(a.value);
    case 'order': {
      if (q.type !== 'order') return '';
      const shown = presented ?? [];
      return a.order.map((p) => q.items[shown[p] ?? -1] ?? '?').join(' > ');
    }
  }
}

export interface ResultRow {
  playerId: string;
  nickname: string;
  rank: number;
  total: number;
  questionIndex: number;
  questionId: string;
  type: Question['type'];
  answered: boolean;
  answer: string;
  correct: boolean | null;
  fraction: number | null;
  points: number;
  streakBonus: number;
  responseMs: number | null;
  justification: string | null;
  rubricMarks: Record<string, number> | null;
  rubricPoints: number | null;
  comment: string | null;
  grader: string | null;
  gradedAt: string | null;
}

export interface Results {
  code: string;
  bankId: string;
  bankTitle: string;
  phase: string;
  exportedAt: string;
  players: { playerId: string; nickname: string; rank: number; total: number; autoPoints: number; gradedPoints: number }[];
  rows: ResultRow[];
}

export function buildResults(state: GameState, now: number): Results {
  const ranking = computeRanking(state, 'final');
  const players = ranking.entries.map((e) => {
    const p = state.players[e.playerId]!;
    return { playerId: e.playerId, nickname: e.nickname, rank: e.rank, total: e.score, autoPoints: p.score, gradedPoints: p.gradedPoints };
  });
  const rows: ResultRow[] = [];
  for (const p of players) {
    state.questions.forEach((q, index) => {
      const r = state.answers[q.id]?.[p.playerId];
      const presented = q.type === 'order' ? presentationOrder(q.items.length, state.session.seed, index) : undefined;
      rows.push({
        playerId: p.playerId,
        nickname: p.nickname,
        rank: p.rank,
        total: p.total,
        questionIndex: index + 1,
        questionId: q.id,
        type: q.type,
        answered: r !== undefined,
        answer: r ? answerSummary(q, r, presented) : '',
        correct: r?.correct ?? null,
        fraction: r?.fraction ?? null,
        points: r?.points ?? 0,
        streakBonus: r?.streakBonus ?? 0,
        responseMs: r ? r.elapsedMs : null,
        justification: r?.justification ?? null,
        rubricMarks: r?.grade?.marks ?? null,
        rubricPoints: r?.grade?.points ?? null,
        comment: r?.grade?.comment ?? null,
        grader: r?.grade?.grader ?? null,
        gradedAt: r?.grade ? new Date(r.grade.gradedAt).toISOString() : null,
      });
    });
  }
  return { code: state.session.code, bankId: state.session.bankId, bankTitle: state.session.bankTitle, phase: state.session.phase, exportedAt: new Date(now).toISOString(), players, rows };
}

const CSV_COLUMNS: (keyof ResultRow)[] = [
  'nickname', 'rank', 'total', 'questionIndex', 'questionId', 'type', 'answered', 'answer', 'correct', 'fraction',
  'points', 'streakBonus', 'responseMs', 'justification', 'rubricMarks', 'rubricPoints', 'comment', 'grader', 'gradedAt', 'playerId',
];

export function resultsCsv(results: Results): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of results.rows) lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** RFC 4180 quoting, plus a guard against spreadsheet formula injection from student text. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'object' ? Object.entries(value as Record<string, number>).map(([k, v]) => `${k}=${v}`).join(';') : String(value);
  if (/^[=+\-@\t\r]/.test(s) && typeof value === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
