import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expandArgs, main } from './bank-check.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const fixtures = path.resolve(here, '../fixtures');

const tmp = mkdtempSync(path.join(tmpdir(), 'quizroom-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in-process from `cwd`, collecting its output. */
function run(args: string[], cwd = repoRoot): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd });
  return { code, out, err };
}

describe('bank-check CLI', () => {
  it('exits 0 on the valid fixture and prints a one-line summary with counts per type', () => {
    const { code, out, err } = run(['question-bank/fixtures/valid.yaml']);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toEqual([
      'OK  question-bank/fixtures/valid.yaml  fixture-valid "Fixture — one question of each type": 8 questions (1 single, 1 multi, 1 truefalse, 1 short, 1 numeric, 1 order, 1 poll, 1 open)',
      'all 1 file valid',
    ]);
  });

  it('exits 1 on broken.yaml and prints every error as file:line:col  path  message', () => {
    const { code, err } = run(['question-bank/fixtures/broken.yaml']);
    expect(code).toBe(1);
    expect(err).toEqual([
      'question-bank/fixtures/broken.yaml:13:5  questions[1].id  duplicate question id "dup" (first used by questions[0])',
      'question-bank/fixtures/broken.yaml:22:5  questions[2].choices  a single-choice question needs exactly one correct choice (found 2)',
      'question-bank/fixtures/broken.yaml:30:5  questions[3].choices  a single-choice question needs exactly one correct choice (found 0)',
      'question-bank/fixtures/broken.yaml:38:5  questions[4].items  an ordering question needs at least two items',
      'question-bank/fixtures/broken.yaml:44:5  questions[5].rubric  a rubric needs at least one criterion',
      'question-bank/fixtures/broken.yaml:47:5  questions[6].rubric  an open question needs a rubric: a list of 1–8 criteria, each with id, label, points (1–9) and description',
      'question-bank/fixtures/broken.yaml:56:5  questions[7].explanaton  unknown key "explanaton" (did you mean "explanation"?)',
      'question-bank/fixtures/broken.yaml:63:5  questions[8].timeLimit  expected a number, got "thirty"',
      '8 errors in 1 of 1 file',
    ]);
  });

  it.each([
    ['syntax-error.yaml', /^question-bank\/fixtures\/syntax-error\.yaml:9:5  YAML syntax error: /],
    ['syntax-error.json', /^question-bank\/fixtures\/syntax-error\.json:5:19  JSON syntax error: missing ","/],
    ['broken.json', /^question-bank\/fixtures\/broken\.json:12:7  questions\[0\]\.answer  expected true or false/],
    ['bomb.yaml', /^question-bank\/fixtures\/bomb\.yaml:1:1  refused: .*billion laughs/],
  ])('exits 1 on %s', (name, expected) => {
    const { code, err } = run([`question-bank/fixtures/${name}`]);
    expect(code).toBe(1);
    expect(err[0]).toMatch(expected);
  });

  it('checks several files, valid and broken, and fails if any is broken', () => {
    const { code, out, err } = run(['question-bank/fixtures/valid.yaml', 'question-bank/fixtures/broken.json']);
    expect(code).toBe(1);
    expect(out[0]).toMatch(/^OK  question-bank\/fixtures\/valid\.yaml/);
    expect(err.at(-1)).toBe('1 error in 1 of 2 files');
  });

  it('fails on a missing file', () => {
    const { code, err } = run(['question-bank/fixtures/nope.yaml']);
    expect(code).toBe(1);
    expect(err[0]).toBe('question-bank/fixtures/nope.yaml: no such file or directory');
  });

  it('refuses an oversized file', () => {
    const big = path.join(tmp, 'big.yaml');
    writeFileSync(big, `# ${'z'.repeat(1024 * 1024)}\n`);
    const { code, err } = run([big]);
    expect(code).toBe(1);
    expect(err[0]).toMatch(/big\.yaml:1:1  refused: the file is 1\.0 MB; bank files are limited to 1 MB/);
  });

  it('imports and checks GIFT files (.gift, .txt)', () => {
    const good = path.join(tmp, 'quiz.gift');
    writeFileSync(good, '::Q1:: 2 + 2 = ? {=4 ~3 ~5}\n\n::Q2:: Explain. {}\n');
    const ok = run([good], tmp);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('OK  quiz.gift  quiz "quiz": 2 questions (1 single, 1 open)');
    expect(ok.out.some((l) => /^quiz\.gift:3:\d+  questions\[1\]  warning: essay question/.test(l))).toBe(true);

    const bad = path.join(tmp, 'match.txt');
    writeFileSync(bad, '// matching\n::M:: Match {\n=a -> b\n=c -> d\n}\n');
    const ko = run([bad], tmp);
    expect(ko.code).toBe(1);
    expect(ko.err[0]).toBe('match.txt:3:1  questions[0]  matching questions are not supported (Quizroom has no matching type): rewrite it as several single-choice questions or as an order question');
  });

  it('expands a shell glob like question-bank/* : checks only bank files directly in bank directories', () => {
    // A copy of the question-bank layout: banks/ with a valid bank, plus everything that must be skipped.
    const qb = path.join(tmp, 'question-bank');
    for (const d of ['banks', 'fixtures', 'schema', 'tools', 'node_modules/yaml', 'empty', '.hidden']) mkdirSync(path.join(qb, d), { recursive: true });
    copyFileSync(path.join(fixtures, 'valid.yaml'), path.join(qb, 'banks/valid.yaml'));
    copyFileSync(path.join(fixtures, 'broken.yaml'), path.join(qb, 'fixtures/broken.yaml'));
    copyFileSync(path.join(fixtures, 'broken.yaml'), path.join(qb, '.hidden/broken.yaml'));
    writeFileSync(path.join(qb, 'banks/notes.md'), '# notes');
    writeFileSync(path.join(qb, 'banks/tsconfig.json'), '{}');
    writeFileSync(path.join(qb, 'schema/bank.schema.json'), '{}');
    writeFileSync(path.join(qb, 'tools/bank-check.ts'), '');
    writeFileSync(path.join(qb, 'tools/data.json'), '{}');
    writeFileSync(path.join(qb, 'node_modules/yaml/package.json'), '{}');
    writeFileSync(path.join(qb, 'empty/readme.txt'), 'not GIFT');
    writeFileSync(path.join(qb, 'package.json'), '{"name": "@quizroom/question-bank"}');
    writeFileSync(path.join(qb, 'README.md'), '# question bank');

    const glob = readdirSync(qb).filter((n) => !n.startsWith('.')).sort().map((n) => `question-bank/${n}`);
    expect(expandArgs(glob, tmp).files).toEqual([path.join(qb, 'banks/valid.yaml')]);
    const { code, out, err } = run(glob, tmp);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toContain('skipped question-bank/package.json: not a bank file');
    expect(out.filter((l) => l.startsWith('OK'))).toEqual([expect.stringMatching(/^OK  question-bank\/banks\/valid\.yaml  fixture-valid /)]);

    // Named explicitly, a fixture is checked (and fails).
    expect(run(['question-bank/fixtures/broken.yaml'], tmp).code).toBe(1);
    // With nothing to check, the checker says so and fails rather than passing silently.
    const none = run(['question-bank/tools'], tmp);
    expect(none.code).toBe(1);
    expect(none.err[0]).toBe('no bank files found in question-bank/tools');
  });

  it('runs as a real process with the right exit codes', () => {
    const cli = (file: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'question-bank/tools/bank-check.ts', file], { cwd: repoRoot, encoding: 'utf8' });
    const ok = cli('question-bank/fixtures/valid.yaml');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK  question-bank\/fixtures\/valid\.yaml/);
    const ko = cli('question-bank/fixtures/broken.yaml');
    expect(ko.status).toBe(1);
    expect(ko.stderr).toContain('question-bank/fixtures/broken.yaml:22:5  questions[2].choices  a single-choice question needs exactly one correct choice (found 2)');
  });
});
