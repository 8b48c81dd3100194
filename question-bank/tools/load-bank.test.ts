import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BankLoadError,
  bundledBanksDir,
  checkBankSource,
  formatBankError,
  loadBankFile,
  loadBundledBanks,
  MAX_BANK_BYTES,
  MAX_REPORTED_ERRORS,
} from './load-bank.ts';
import type { BankError } from './load-bank.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../fixtures');
const fixture = (name: string): string => path.join(fixtures, name);
const read = (name: string): string => readFileSync(fixture(name), 'utf8');

const tmp = mkdtempSync(path.join(tmpdir(), 'quizroom-bank-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error at `path`, failing with the full list when there is none. */
function errorAt(errors: BankError[], p: string): BankError {
  const found = errors.find((e) => e.path === p);
  if (!found) throw new Error(`no error at ${p}; got:\n${errors.map(formatBankError).join('\n')}`);
  return found;
}

const minimalBank = (questions: string): string => `id: t
title: T
description: D
language: en
questions:
${questions}`;

describe('checkBankSource: valid banks', () => {
  it('accepts the valid fixture, one question of each type, with defaults applied', () => {
    const { bank, errors, warnings } = checkBankSource(read('valid.yaml'), 'valid.yaml');
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(bank?.id).toBe('fixture-valid');
    expect(bank?.questions.map((q) => q.type).sort()).toEqual(
      ['multi', 'numeric', 'open', 'order', 'poll', 'short', 'single', 'truefalse'],
    );
    const single = bank?.questions.find((q) => q.type === 'single');
    expect(single?.timeLimit).toBe(30); // default
    expect(single?.justify?.maxLength).toBe(400); // default inside justify
    const open = bank?.questions.find((q) => q.type === 'open');
    expect(open?.timeLimit).toBe(180); // open questions default to 3 minutes
  });

  it('accepts JSON banks (with $schema) as well', () => {
    const json = JSON.stringify({
      $schema: '../schema/bank.schema.json',
      id: 'j',
      title: 'J',
      description: 'D',
      language: 'en-GB',
      questions: [{ id: 'q', type: 'truefalse', prompt: 'P', answer: true, explanation: 'E', source: { file: 'f', section: 's' } }],
    }, null, '\t');
    const { bank, errors } = checkBankSource(json, 'bank.json');
    expect(errors).toEqual([]);
    expect(bank?.language).toBe('en-GB');
  });

  it('allows anchors and aliases in reasonable numbers (a shared rubric)', () => {
    const questions = Array.from({ length: 30 }, (_, i) =>
      i === 0
        ? `  - { id: q0, type: open, prompt: P, explanation: E, source: { file: f, section: s }, rubric: &r [{ id: a, label: A, points: 3, description: D }] }`
        : `  - { id: q${i}, type: open, prompt: P, explanation: E, source: { file: f, section: s }, rubric: *r }`,
    ).join('\n');
    const { bank, errors } = checkBankSource(minimalBank(questions), 'aliases.yaml');
    expect(errors).toEqual([]);
    expect(bank?.questions).toHaveLength(30);
  });
});

describe('checkBankSource: broken.yaml reports every error at its line', () => {
  const { bank, errors } = checkBankSource(read('broken.yaml'), 'question-bank/fixtures/broken.yaml');

  it('returns no bank and all the errors, sorted by line', () => {
    expect(bank).toBeUndefined();
    expect(errors).toHaveLength(8);
    const lines = errors.map((e) => e.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    for (const e of errors) expect(e.file).toBe('question-bank/fixtures/broken.yaml');
  });

  it.each([
    ['questions[1].id', 13, 5, 'duplicate question id "dup" (first used by questions[0])'],
    ['questions[2].choices', 22, 5, 'a single-choice question needs exactly one correct choice (found 2)'],
    ['questions[3].choices', 30, 5, 'a single-choice question needs exactly one correct choice (found 0)'],
    ['questions[4].items', 38, 5, 'an ordering question needs at least two items'],
    ['questions[5].rubric', 44, 5, 'a rubric needs at least one criterion'],
    // missing key: located at the nearest existing node, the question itself
    ['questions[6].rubric', 47, 5, 'an open question needs a rubric: a list of 1–8 criteria, each with id, label, points (1–9) and description'],
    ['questions[7].explanaton', 56, 5, 'unknown key "explanaton" (did you mean "explanation"?)'],
    ['questions[8].timeLimit', 63, 5, 'expected a number, got "thirty"'],
  ])('%s at line %i', (p, line, column, message) => {
    expect(errorAt(errors, p)).toEqual({ file: 'question-bank/fixtures/broken.yaml', line, column, path: p, message });
  });

  it('formats errors as file:line:col path: message', () => {
    expect(formatBankError(errorAt(errors, 'questions[2].choices'))).toBe(
      'question-bank/fixtures/broken.yaml:22:5 questions[2].choices: a single-choice question needs exactly one correct choice (found 2)',
    );
    expect(formatBankError({ file: 'a.yaml', line: 1, column: 1, path: '', message: 'the file is empty' })).toBe('a.yaml:1:1 the file is empty');
  });
});

describe('checkBankSource: other errors', () => {
  it('reports YAML syntax errors with their position', () => {
    const { bank, errors } = checkBankSource(read('syntax-error.yaml'), 'syntax-error.yaml');
    expect(bank).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ line: 9, column: 5, path: '' });
    expect(errors[0]!.message).toMatch(/^YAML syntax error: .*Flow sequence/);
  });

  it('reports JSON syntax errors with line and column, in JSON terms', () => {
    const { errors } = checkBankSource(read('syntax-error.json'), 'syntax-error.json');
    expect(errors).toEqual([
      {
        file: 'syntax-error.json',
        line: 5,
        column: 19,
        path: '',
        message: 'JSON syntax error: missing "," after this value (the next property starts on the following line)',
      },
    ]);
    const trailing = checkBankSource('{\n  "id": "x",\n  "questions": [1, 2,]\n}', 'x.json').errors;
    expect(trailing).toMatchObject([{ line: 3, column: 22, message: 'JSON syntax error: trailing comma before "]" (JSON does not allow one)' }]);
    const single = checkBankSource("{'id': 1}", 'x.json').errors;
    expect(single).toMatchObject([{ line: 1, column: 2 }]);
  });

  it('maps zod issues in JSON files to their line', () => {
    const { errors } = checkBankSource(read('broken.json'), 'broken.json');
    expect(errors).toEqual([
      { file: 'broken.json', line: 12, column: 7, path: 'questions[0].answer', message: 'expected true or false, got "yes" — write true or false without quotes' },
    ]);
  });

  it('reports duplicate keys', () => {
    const { errors } = checkBankSource('id: a\ntitle: T\nid: b\n', 'dup.yaml');
    expect(errors).toMatchObject([{ line: 3, column: 1, message: 'duplicate key "id": a key may appear only once in a mapping' }]);
    const json = checkBankSource('{\n  "id": "a",\n  "title": "T",\n  "id": "b"\n}', 'dup.json').errors;
    expect(json).toMatchObject([{ line: 4, column: 3, message: 'duplicate key "id": a key may appear only once in a mapping' }]);
  });

  it('reports an empty file clearly', () => {
    expect(checkBankSource('# nothing\n', 'empty.yaml').errors[0]?.message).toMatch(/^the file is empty/);
  });

  it('reports missing top-level fields at the top of the file and unknown top-level keys at their line', () => {
    const { errors } = checkBankSource('id: x\nlanguage: english\nextra: 1\nquestions: []\n', 'top.yaml');
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [1, 'title', 'missing required field "title" (text)'],
      [1, 'description', 'missing required field "description" (text)'],
      [2, 'language', 'a BCP 47 language tag, e.g. "en" or "en-GB" (got "english")'],
      [3, 'extra', 'unknown key "extra" (allowed here: $schema, id, title, description, language, questions)'],
      [4, 'questions', 'a bank needs at least one question'],
    ]);
  });

  it('still reports refinements zod skips when the same question has a type error', () => {
    const text = minimalBank(`  - id: q1
    type: single
    prompt: P
    points: "1000"
    choices: [{ text: a, correct: true }, { text: b, correct: true }]
    explanation: E
    source: { file: f, section: s }
  - id: q1
    type: truefalse
    prompt: P
    answer: maybe
    explanation: E
    source: { file: f, section: s }
`);
    const { errors } = checkBankSource(text, 'mixed.yaml');
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [9, 'questions[0].points', 'expected a number, got "1000" — write the number without quotes'],
      [10, 'questions[0].choices', 'a single-choice question needs exactly one correct choice (found 2)'],
      [13, 'questions[1].id', 'duplicate question id "q1" (first used by questions[0])'],
      [16, 'questions[1].answer', 'expected true or false, got "maybe" — write true or false without quotes'],
    ]);
  });

  it('explains unknown question types, missing types, bad ids and out-of-range rubric points', () => {
    const text = minimalBank(`  - id: Bad Id
    type: essay
    prompt: P
  - prompt: no type
  - id: o
    type: open
    prompt: P
    explanation: E
    source: { file: f, section: s }
    rubric:
      - { id: a, label: A, points: 12, description: D }
      - { id: a, label: A, points: 2.5, description: D }
`);
    const { errors } = checkBankSource(text, 'types.yaml');
    expect(errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [7, 'questions[0].type', 'unknown question type "essay" (expected one of single, multi, truefalse, short, numeric, order, poll, open)'],
      [9, 'questions[1].type', 'missing required field "type" (one of single, multi, truefalse, short, numeric, order, poll, open)'],
      [16, 'questions[2].rubric[0].points', 'must be at most 9 (got 12)'],
      [17, 'questions[2].rubric[1].id', 'duplicate criterion id "a"'],
      [17, 'questions[2].rubric[1].points', 'must be a whole number (got 2.5)'],
    ]);
  });
});

describe('resource limits', () => {
  it('refuses a YAML bomb (billion laughs) quickly with a clear error', () => {
    const start = performance.now();
    const { bank, errors } = checkBankSource(read('bomb.yaml'), 'bomb.yaml');
    expect(performance.now() - start).toBeLessThan(2000);
    expect(bank).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/aliases.*billion laughs/);
  });

  it('refuses a bomb hidden inside a bank', () => {
    const levels = ['  - &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) levels.push(`  - &${'abcdefgh'[i]} [${Array(10).fill(`*${'abcdefgh'[i - 1]}`).join(', ')}]`);
    const text = `id: b\ntitle: B\ndescription: D\nlanguage: en\nquestions: []\nx:\n${levels.join('\n')}\n`;
    const start = performance.now();
    const { errors } = checkBankSource(text, 'hidden-bomb.yaml');
    expect(performance.now() - start).toBeLessThan(2000);
    expect(errors[0]!.message).toMatch(/billion laughs/);
  });

  it('finds duplicate keys in nested block and flow mappings, in linear time (40 k keys)', () => {
    const q = `  - id: q1\n    type: truefalse\n    prompt: P\n    answer: true\n    prompt: again\n    explanation: E\n    source: {file: f, section: s, file: g}\n`;
    const { errors } = checkBankSource(minimalBank(q), 'dup-nested.yaml');
    expect(errors.map((e) => [e.line, e.column, e.message])).toEqual([
      [10, 5, 'duplicate key "prompt": a key may appear only once in a mapping'],
      [12, 35, 'duplicate key "file": a key may appear only once in a mapping'],
    ]);
    // yaml's own uniqueKeys check compared each key with every earlier one (40 k keys: 13 s)
    const wide = `${Array.from({ length: 40_000 }, (_, i) => `k${i}: v`).join('\n')}\nk7: again\n`;
    const start = performance.now();
    const result = checkBankSource(wide, 'wide.yaml');
    expect(performance.now() - start).toBeLessThan(5000);
    expect(result.errors).toEqual([{ file: 'wide.yaml', line: 40_001, column: 1, path: '', message: 'duplicate key "k7": a key may appear only once in a mapping' }]);
  });

  it(`lists at most ${MAX_REPORTED_ERRORS} errors, then says how many more there are`, () => {
    const keys = Array.from({ length: 150 }, (_, i) => `    extra${i}: 1`).join('\n');
    const q = `  - id: q1\n    type: truefalse\n    prompt: P\n    answer: true\n    explanation: E\n    source: {file: f, section: s}\n${keys}\n`;
    const { bank, errors } = checkBankSource(minimalBank(q), 'many.yaml');
    expect(bank).toBeUndefined();
    expect(errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(errors.slice(0, MAX_REPORTED_ERRORS).map((e) => e.line)).toEqual(Array.from({ length: MAX_REPORTED_ERRORS }, (_, i) => 12 + i));
    expect(errors.at(-1)).toEqual({
      file: 'many.yaml',
      line: 12 + MAX_REPORTED_ERRORS,
      column: 5,
      path: `questions[0].extra${MAX_REPORTED_ERRORS}`,
      message: `… and 50 more problems not listed (only the first ${MAX_REPORTED_ERRORS} are): fix these and check again`,
    });
  });

  it('aliases cannot multiply the error list: 99 000 issues in 10 kB are counted, not described', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}: 1`).join(', ');
    const text = minimalBank(`  - &m {id: q, type: truefalse, prompt: p, answer: true, explanation: e, source: {file: f, section: s}, ${keys}}\n${'  - *m\n'.repeat(98)}`);
    const start = performance.now();
    const { errors } = checkBankSource(text, 'amp.yaml');
    expect(performance.now() - start).toBeLessThan(2000);
    expect(errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(errors.at(-1)!.message).toMatch(/^… and 98\d{3} more problems not listed/);
  });

  it('refuses text over 1 MB without parsing it', () => {
    const text = `# ${'x'.repeat(MAX_BANK_BYTES)}\n`;
    const { errors } = checkBankSource(text, 'big.yaml');
    expect(errors).toEqual([{ file: 'big.yaml', line: 1, column: 1, path: '', message: expect.stringMatching(/^refused: the file is 1\.0 MB; bank files are limited to 1 MB/) }]);
  });

  it('refuses an oversized file before reading it', () => {
    const file = path.join(tmp, 'big.yaml');
    writeFileSync(file, `# ${'y'.repeat(MAX_BANK_BYTES + 10)}\n`);
    expect(loadBankFile(file, 'big.yaml').errors[0]?.message).toMatch(/limited to 1 MB/);
  });
});

describe('loadBankFile / loadBundledBanks', () => {
  it('loads a file, naming it as given', () => {
    expect(loadBankFile(fixture('valid.yaml')).bank?.id).toBe('fixture-valid');
    expect(loadBankFile(fixture('broken.yaml'), 'x/broken.yaml').errors[0]?.file).toBe('x/broken.yaml');
    expect(loadBankFile(path.join(tmp, 'nope.yaml')).errors[0]?.message).toMatch(/^cannot read the file/);
  });

  it('returns the banks of a directory sorted by id, ignoring non-bank files', () => {
    const dir = path.join(tmp, 'banks-ok');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.yaml'), read('valid.yaml').replace('id: fixture-valid', 'id: zeta'));
    writeFileSync(path.join(dir, 'b.yml'), read('valid.yaml').replace('id: fixture-valid', 'id: alpha'));
    writeFileSync(path.join(dir, 'c.json'), read('broken.json').replace('"yes"', 'true'));
    writeFileSync(path.join(dir, 'package.json'), '{"name": "x"}');
    writeFileSync(path.join(dir, 'notes.md'), '# not a bank');
    expect(loadBundledBanks(dir).map((b) => b.id)).toEqual(['alpha', 'fixture-broken-json', 'zeta']);
  });

  it('throws with every error of every file, and on duplicate bank ids', () => {
    const dir = path.join(tmp, 'banks-bad');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.yaml'), read('valid.yaml'));
    writeFileSync(path.join(dir, 'b.yaml'), read('valid.yaml'));
    writeFileSync(path.join(dir, 'c.yaml'), read('broken.yaml'));
    let thrown: unknown;
    try {
      loadBundledBanks(dir);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BankLoadError);
    const errors = (thrown as BankLoadError).errors;
    expect(errors).toHaveLength(9);
    expect(errors.find((e) => e.file.endsWith('b.yaml'))).toMatchObject({ line: 3, path: 'id', message: expect.stringMatching(/^duplicate bank id "fixture-valid" \(also used by .*a\.yaml\)$/) });
    expect((thrown as Error).message).toContain('c.yaml:22:5 questions[2].choices: a single-choice question needs exactly one correct choice (found 2)');
  });

  it('points at question-bank/banks by default', () => {
    expect(bundledBanksDir).toBe(path.resolve(here, '../banks'));
    expect(() => loadBundledBanks(path.join(tmp, 'missing'))).toThrow(/bank directory not found/);
  });
});
