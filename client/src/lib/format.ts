import type { AnswerInput, PublicQuestion, Solution } from '@quizroom/shared';
import { choiceStyle } from './choices.ts';

/** Limits mirrored from `@quizroom/shared` (importing its runtime pulls zod into the phone bundle). */
export const NICKNAME_MAX = 20;
export const MAX_SHORT_ANSWER = 200;
export const MAX_OPEN_TEXT = 2000;
export const CODE_PATTERN = /^\d{6}$/;

export function ordinal(n: number): string {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] ?? s[v] ?? s[0]}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function formatPoints(n: number): string {
  return n.toLocaleString('en');
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' });
}

export function choiceLabel(q: Pick<PublicQuestion, 'choices'>, i: number): string {
  return `${choiceStyle(i).letter}. ${q.choices?.[i] ?? ''}`;
}

/** A submitted answer as a sentence fragment, e.g. "B. Containers" or "42 ms". */
export function describeAnswer(q: PublicQuestion, a: AnswerInput | null | undefined): string {
  if (!a) return 'No answer';
  switch (a.type) {
    case 'single':
      return choiceLabel(q, a.choice);
    case 'multi':
    case 'poll':
      return a.choices.map((i) => choiceLabel(q, i)).join(', ');
    case 'truefalse':
      return a.value ? 'True' : 'False';
    case 'short':
    case 'open':
      return a.text;
    case 'numeric':
      return q.unit ? `${a.value} ${q.unit}` : String(a.value);
    case 'order':
      return a.order.map((i, n) => `${n + 1}. ${q.items?.[i] ?? ''}`).join('  ');
  }
}

/** The correct answer in words (never colour alone). */
export function describeSolution(q: Pick<PublicQuestion, 'choices'>, s: Solution): string {
  switch (s.type) {
    case 'single':
    case 'multi':
      return s.correct.map((i) => choiceLabel(q, i)).join(', ');
    case 'truefalse':
      return s.answer ? 'True' : 'False';
    case 'short':
      return s.accept.join(' / ');
    case 'numeric':
      return `${s.value}${s.tolerance ? ` ± ${s.tolerance}` : ''}${s.unit ? ` ${s.unit}` : ''}`;
    case 'order':
      return s.items.map((t, n) => `${n + 1}. ${t}`).join('  ');
    case 'poll':
      return 'No correct answer (poll)';
    case 'open':
      return 'Scored by the instructor';
  }
}

export const TYPE_LABEL: Record<PublicQuestion['type'], string> = {
  single: 'Single choice',
  multi: 'Multiple choice',
  truefalse: 'True or false',
  short: 'Short answer',
  numeric: 'Number',
  order: 'Put in order',
  poll: 'Poll',
  open: 'Open answer',
};

/** Is choice `i` one of the correct ones in this solution? (true/false: 0 = True, 1 = False) */
export function isCorrectOption(s: Solution | null | undefined, i: number): boolean {
  if (!s) return false;
  if (s.type === 'single' || s.type === 'multi') return s.correct.includes(i);
  if (s.type === 'truefalse') return (i === 0) === s.answer;
  return false;
}
