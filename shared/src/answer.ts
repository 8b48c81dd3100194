/**
 * What a student submits for each question type. Choice and order answers refer to the
 * positions the student was shown (order items are presented shuffled), never to ids that
 * would hint at the correct answer.
 */
import { z } from 'zod';

const index = z.number().int().min(0).max(7);
const uniqueIndexes = z
  .array(index)
  .max(8)
  .refine((xs) => new Set(xs).size === xs.length, { error: 'choices must not repeat' });

export const MAX_SHORT_ANSWER = 200;
export const MAX_OPEN_TEXT = 2000;

export const AnswerInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('single'), choice: index }),
  z.strictObject({ type: z.literal('multi'), choices: uniqueIndexes.min(1, { error: 'pick at least one choice' }) }),
  z.strictObject({ type: z.literal('truefalse'), value: z.boolean() }),
  z.strictObject({ type: z.literal('short'), text: z.string().trim().min(1).max(MAX_SHORT_ANSWER) }),
  z.strictObject({ type: z.literal('numeric'), value: z.number().finite() }),
  z.strictObject({ type: z.literal('order'), order: uniqueIndexes.min(2) }),
  z.strictObject({ type: z.literal('poll'), choices: uniqueIndexes.min(1, { error: 'pick at least one choice' }) }),
  z.strictObject({ type: z.literal('open'), text: z.string().trim().min(1).max(MAX_OPEN_TEXT) }),
]);
export type AnswerInput = z.infer<typeof AnswerInput>;
