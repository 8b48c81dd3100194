import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUESTION_TYPES } from '@quizroom/shared';
import { describe, expect, it } from 'vitest';
import { checkBankSource, formatBankError } from './load-bank.ts';

const docsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/banks.md');

describe('docs/banks.md', () => {
  it('the example bank is valid and shows every question type and justify', () => {
    const markdown = readFileSync(docsFile, 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(markdown)?.[1];
    expect(example).toBeDefined();
    const { bank, errors } = checkBankSource(example!, 'docs/banks.md (example)');
    expect(errors.map(formatBankError)).toEqual([]);
    expect(new Set(bank!.questions.map((q) => q.type))).toEqual(new Set(QUESTION_TYPES));
    expect(bank!.questions.some((q) => q.type !== 'open' && q.justify)).toBe(true);
  });
});
