/**
 * The question-bank schema: the single source of truth for what a bank file may contain.
 * Types are inferred from these zod schemas; the JSON Schema for editors is generated from
 * them too (see question-bank/tools/write-json-schema.ts), so the three never drift apart.
 */
import { z } from 'zod';

/** Stable identifiers for questions, banks and rubric criteria. */
export const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
    error: 'an id is 1–64 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
  });

const text = (max: number) => z.string().trim().min(1, { error: 'must not be empty' }).max(max);

/**
 * Rubric points per criterion are small on purpose: the instructor types one digit per
 * criterion while grading, so a criterion is worth 1 to 9 marks.
 */
export const RubricCriterion = z.strictObject({
  id: Id,
  label: text(80).describe('Short name shown on the grading card, e.g. "Names containers"'),
  points: z.number().int().min(1).max(9).describe('Marks this criterion is worth (one keypress: 1–9)'),
  description: text(500).describe('What earns the marks: what a full-marks answer names'),
});
export type RubricCriterion = z.infer<typeof RubricCriterion>;

export const Rubric = z
  .array(RubricCriterion)
  .min(1, { error: 'a rubric needs at least one criterion' })
  .max(8)
  .superRefine((criteria, ctx) => {
    const seen = new Set<string>();
    criteria.forEach((c, i) => {
      if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate criterion id "${c.id}"` });
      seen.add(c.id);
    });
  });
export type Rubric = z.infer<typeof Rubric>;

/** A justification the student adds to a choice question, scored by the instructor as a bonus. */
export const Justify = z.strictObject({
  prompt: text(300).describe('What the student is asked to justify, e.g. "Why?"'),
  maxLength: z.number().int().min(20).max(2000).default(400),
  points: z.number().int().min(0).max(10000).default(500).describe('Leaderboard points for full marks on the rubric'),
  rubric: Rubric,
});
export type Justify = z.infer<typeof Justify>;

export const Source = z.strictObject({
  file: text(200).describe('Seed file name, e.g. 000_d4021d9acab3aacc.txt'),
  section: text(200).describe('Section heading inside that file'),
});
export type Source = z.infer<typeof Source>;

export const Difficulty = z.enum(['easy', 'medium', 'hard']);
export type Difficulty = z.infer<typeof Difficulty>;

const base = {
  id: Id,
  prompt: text(500),
  timeLimit: z.number().int().min(5).max(900).default(30).describe('Seconds the question stays open'),
  points: z.number().int().min(0).max(10000).default(1000).describe('Points for a correct answer (speed scoring scales down to half)'),
  explanation: text(2000).describe('Shown to everyone at reveal: why the answer is what it is'),
  source: Source,
  tags: z.array(text(40)).max(20).default([]),
  difficulty: Difficulty.default('medium'),
  note: text(2000).optional().describe('For instructors: corrections to the seed, caveats'),
};

export const Choice = z.strictObject({
  text: text(200),
  correct: z.boolean().default(false),
});
export type Choice = z.infer<typeof Choice>;

const choices = z.array(Choice).min(2, { error: 'needs at least two choices' }).max(8);

export const SingleQuestion = z
  .strictObject({ ...base, type: z.literal('single'), choices, justify: Justify.optional() })
  .superRefine((q, ctx) => {
    const correct = q.choices.filter((c) => c.correct).length;
    if (correct !== 1)
      ctx.addIssue({ code: 'custom', path: ['choices'], message: `a single-choice question needs exactly one correct choice (found ${correct})` });
  });

export const MultiQuestion = z
  .strictObject({ ...base, type: z.literal('multi'), choices, justify: Justify.optional() })
  .superRefine((q, ctx) => {
    if (!q.choices.some((c) => c.correct))
      ctx.addIssue({ code: 'custom', path: ['choices'], message: 'a multiple-choice question needs at least one correct choice' });
  });

export const TrueFalseQuestion = z.strictObject({
  ...base,
  type: z.literal('truefalse'),
  answer: z.boolean(),
  justify: Justify.optional(),
});

export const ShortQuestion = z.strictObject({
  ...base,
  type: z.literal('short'),
  accept: z.array(text(100)).min(1, { error: 'a short-answer question needs at least one accepted answer' }).max(30),
  caseSensitive: z.boolean().default(false),
  justify: Justify.optional(),
});

export const NumericQuestion = z.strictObject({
  ...base,
  type: z.literal('numeric'),
  value: z.number().finite(),
  tolerance: z.number().finite().min(0).default(0).describe('Answers within ±tolerance earn full credit; up to 3× tolerance earn partial credit'),
  unit: text(20).optional(),
  justify: Justify.optional(),
});

export const OrderQuestion = z.strictObject({
  ...base,
  type: z.literal('order'),
  items: z.array(text(200)).min(2, { error: 'an ordering question needs at least two items' }).max(8).describe('Listed in the correct order; students see them shuffled'),
  justify: Justify.optional(),
});

export const PollQuestion = z.strictObject({
  ...base,
  type: z.literal('poll'),
  choices: z.array(z.strictObject({ text: text(200) })).min(2, { error: 'needs at least two choices' }).max(8),
  justify: Justify.optional(),
});

export const OpenQuestion = z.strictObject({
  ...base,
  type: z.literal('open'),
  timeLimit: z.number().int().min(5).max(900).default(180),
  maxLength: z.number().int().min(20).max(2000).default(800),
  rubric: Rubric,
});

export const Question = z.discriminatedUnion('type', [
  SingleQuestion,
  MultiQuestion,
  TrueFalseQuestion,
  ShortQuestion,
  NumericQuestion,
  OrderQuestion,
  PollQuestion,
  OpenQuestion,
]);
export type Question = z.infer<typeof Question>;
export type QuestionInput = z.input<typeof Question>;
export type QuestionType = Question['type'];
export const QUESTION_TYPES = ['single', 'multi', 'truefalse', 'short', 'numeric', 'order', 'poll', 'open'] as const satisfies readonly QuestionType[];
export type QuestionOf<T extends QuestionType> = Extract<Question, { type: T }>;

export const Bank = z
  .strictObject({
    $schema: z.string().optional(),
    id: Id,
    title: text(120),
    description: text(1000),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { error: 'a BCP 47 language tag, e.g. "en" or "en-GB"' }),
    questions: z.array(Question).min(1, { error: 'a bank needs at least one question' }).max(500),
  })
  .superRefine((bank, ctx) => {
    const first = new Map<string, number>();
    bank.questions.forEach((q, i) => {
      const earlier = first.get(q.id);
      if (earlier !== undefined)
        ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `duplicate question id "${q.id}" (first used by questions[${earlier}])` });
      else first.set(q.id, i);
    });
  });
export type Bank = z.infer<typeof Bank>;
export type BankInput = z.input<typeof Bank>;

/** Total rubric marks of a rubric (sum of criterion maxima). */
export function rubricMaxMarks(rubric: Rubric): number {
  return rubric.reduce((sum, c) => sum + c.points, 0);
}

/** The rubric a response to this question is graded against, if any. */
export function rubricOf(q: Question): Rubric | undefined {
  if (q.type === 'open') return q.rubric;
  return q.justify?.rubric;
}

/**
 * Normalised comparison for typed answers: Unicode NFKC, case-folded (unless the question is
 * case-sensitive), inner whitespace collapsed, surrounding whitespace and trailing punctuation
 * removed, so "Hyper-V.", " hyper-v" and "HYPER-V" all match "Hyper-V".
 */
export function normaliseShortAnswer(s: string, caseSensitive = false): string {
  let out = s.normalize('NFKC').replace(/\s+/gu, ' ').trim().replace(/[\s.,;:!?]+$/u, '');
  if (!caseSensitive) out = out.toLocaleLowerCase('en');
  return out;
}
