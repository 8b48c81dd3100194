/**
 * Grading-queue helpers: normalising responses so identical and near-identical answers
 * ("Containers share the host kernel." / "containers share the host kernel") form one group
 * that the instructor can score at once.
 */
import type { GradingItem } from '@quizroom/shared';

export type GradingFilter = 'ungraded' | 'graded' | 'flagged' | 'all';

export interface GradingGroup {
  key: string;
  questionId: string;
  kind: GradingItem['kind'];
  /** Text of the first response (what the card shows). */
  text: string;
  answerSummary: string | null;
  items: GradingItem[];
  gradedCount: number;
}

export function itemKey(item: Pick<GradingItem, 'questionId' | 'playerId'>): string {
  return `${item.questionId}:${item.playerId}`;
}

/** Lowercase, Unicode-normalise, strip punctuation and symbols, collapse whitespace. */
export function normaliseResponse(text: string): string {
  return text
    .normalize('NFKC')
    .toLocaleLowerCase('en')
    .replace(/[\p{P}\p{S}]+/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * Group responses of the same question (and, for justifications, the same chosen answer) whose
 * normalised text is equal. Groups keep the order in which their first member appears.
 */
export function groupResponses(items: readonly GradingItem[], similar = true): GradingGroup[] {
  const groups = new Map<string, GradingGroup>();
  for (const item of items) {
    const norm = similar ? normaliseResponse(item.text) : `${item.playerId}`;
    const key = [item.questionId, item.kind, similar ? normaliseResponse(item.answerSummary ?? '') : '', norm || item.playerId].join('\u0000');
    let g = groups.get(key);
    if (!g) {
      g = { key, questionId: item.questionId, kind: item.kind, text: item.text, answerSummary: item.answerSummary, items: [], gradedCount: 0 };
      groups.set(key, g);
    }
    g.items.push(item);
    if (item.grade) g.gradedCount++;
  }
  return [...groups.values()];
}

export function matchesFilter(item: GradingItem, filter: GradingFilter, flagged: ReadonlySet<string>): boolean {
  switch (filter) {
    case 'ungraded':
      return item.grade === null;
    case 'graded':
      return item.grade !== null;
    case 'flagged':
      return flagged.has(itemKey(item));
    case 'all':
      return true;
  }
}

/** Marks shared by every graded member of a group, if they agree (prefills a regrade). */
export function commonMarks(group: GradingGroup): Record<string, number> | null {
  const graded = group.items.filter((i) => i.grade);
  if (graded.length === 0) return null;
  const sig = (m: Record<string, number>) => JSON.stringify(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  const first = sig(graded[0]!.grade!.marks);
  return graded.every((i) => sig(i.grade!.marks) === first) ? { ...graded[0]!.grade!.marks } : null;
}
