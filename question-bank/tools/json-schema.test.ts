import { readFileSync } from 'node:fs';
import { QUESTION_TYPES } from '@quizroom/shared';
import { describe, expect, it } from 'vitest';
import { BANK_SCHEMA_ID, bankJsonSchema, bankJsonSchemaText, bankSchemaFile } from './write-json-schema.ts';

describe('question-bank/schema/bank.schema.json', () => {
  it('is up to date with the zod Bank schema (run `npm run bank:schema` after changing shared/src/question.ts)', () => {
    const committed = readFileSync(bankSchemaFile, 'utf8');
    expect(committed, 'bank.schema.json is stale: run `npm run bank:schema`').toBe(bankJsonSchemaText());
  });

  it('is a draft 2020-12 schema with an $id and a title, describing the input side of a bank', () => {
    const schema = bankJsonSchema() as {
      $schema: string;
      $id: string;
      title: string;
      required: string[];
      additionalProperties: boolean;
      properties: { questions: { items: { oneOf: { properties: { type: { const: string } }; required: string[] }[] } } };
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(BANK_SCHEMA_ID);
    expect(schema.title).toBe('Quizroom question bank');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required.sort()).toEqual(['description', 'id', 'language', 'questions', 'title']);
    const variants = schema.properties.questions.items.oneOf;
    expect(variants.map((v) => v.properties.type.const)).toEqual([...QUESTION_TYPES]);
    // io: 'input' — fields with a default (timeLimit, points, tags…) are optional for authors.
    for (const v of variants) expect(v.required).not.toContain('timeLimit');
  });
});
