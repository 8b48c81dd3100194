/**
 * `npm run bank:schema` — writes question-bank/schema/bank.schema.json from the zod `Bank`
 * schema in shared/src/question.ts, for editor autocomplete and validation (VS Code YAML
 * extension: `# yaml-language-server: $schema=../schema/bank.schema.json`).
 *
 * The file is committed; a test regenerates it and fails when it is out of date, so run this
 * after every change to the bank schema.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { Bank } from '@quizroom/shared';

export const BANK_SCHEMA_ID = 'urn:quizroom:question-bank:bank-schema';
export const BANK_SCHEMA_TITLE = 'Quizroom question bank';

/** Absolute path of the committed schema file. */
export const bankSchemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema/bank.schema.json');

/** The JSON Schema (draft 2020-12) of a bank file, input side (fields with defaults are optional). */
export function bankJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(Bank, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: BANK_SCHEMA_ID,
    title: BANK_SCHEMA_TITLE,
    description:
      'A Quizroom question bank (generated from shared/src/question.ts by `npm run bank:schema`; do not edit by hand).',
    ...rest,
  };
}

/** The exact text written to bank.schema.json. */
export function bankJsonSchemaText(): string {
  return `${JSON.stringify(bankJsonSchema(), null, 2)}\n`;
}

/** Writes the schema file; returns true when its content changed. */
export function writeBankJsonSchema(file: string = bankSchemaFile): boolean {
  const text = bankJsonSchemaText();
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const changed = writeBankJsonSchema();
  console.log(`${path.relative(process.cwd(), bankSchemaFile)} ${changed ? 'written' : 'already up to date'}`);
}
