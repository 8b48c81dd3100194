import fc from 'fast-check';
import { Bank } from '@quizroom/shared';
import type { QuestionInput } from '@quizroom/shared';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EXPLANATION, giftToBank, slugify, stripTrailingBlanks } from './gift.ts';
import { bankToYaml, main as importMain } from './gift-import.ts';
import { checkBankSource } from './load-bank.ts';

// Line numbers matter: several tests assert them.
const GIFT = String.raw`// Quizroom GIFT import test file.
// Comment lines are ignored and never end a question.
$CATEGORY: $course$/top/Networking/Basics

::Capital of France:: [html]What is the <b>capital</b> of France? {
  =Paris # Right: since 987.
  // a comment inside a question
  ~London # No, that is the UK.
  ~Berlin
  ####Paris is the capital &amp; largest city of France.
}

::Escapes:: Which one means \{ in a regex\: a literal brace? {=\\\{ ~\= ~\~ ~\#}

::Primes:: Which of these are prime? {~%50%2 ~%50%3 ~%-100%4}

::TF:: The sun is a star.{T#No, it is a star.#Yes.}

::Moon::[markdown] The moon is a planet. {FALSE}

::Who wrote Hamlet?:: Who wrote Hamlet? {=Shakespeare =William Shakespeare =%50%Will}

::Pi:: What is pi to two decimals? {#3.14:0.005}

::Range:: Pick a number between 1 and 5. {#1..5}

::Grant:: When was Ulysses S. Grant born? {#
  =1822:0 # Exactly right
  =%50%1822:2 # Close
}

$CATEGORY: $course$/Essays

::Essay:: Explain TCP slow start. {}

Two plus two is {=four ~three ~five} in base ten.

::Capital of France:: [plain] Is Paris the capital of France? {TRUE}

An untitled true/false question. {F}
`;

const result = giftToBank(GIFT, { id: 'gift-test', title: 'GIFT test', fileName: 'test.gift' });
const questions = result.bank?.questions ?? [];
const byId = (id: string): QuestionInput => {
  const q = questions.find((x) => x.id === id);
  if (!q) throw new Error(`no question ${id}; ids: ${questions.map((x) => x.id).join(', ')}`);
  return q;
};

describe('giftToBank', () => {
  it('converts the whole file without errors, and the bank validates', () => {
    expect(result.errors).toEqual([]);
    expect(result.bank).toBeDefined();
    const parsed = Bank.safeParse(result.bank);
    expect(parsed.success).toBe(true);
    expect(result.bank).toMatchObject({ id: 'gift-test', title: 'GIFT test', language: 'en', description: 'Imported from the GIFT file test.gift.' });
  });

  it('derives ids from titles (slugified, deduplicated) and falls back to q<n>', () => {
    expect(questions.map((q) => q.id)).toEqual([
      'capital-of-france',
      'escapes',
      'primes',
      'tf',
      'moon',
      'who-wrote-hamlet',
      'pi',
      'range',
      'grant',
      'essay',
      'q11',
      'capital-of-france-2',
      'q13',
    ]);
  });

  it('multiple choice: = right, ~ wrong, format marker and HTML stripped, feedback collected into the explanation', () => {
    expect(byId('capital-of-france')).toEqual({
      id: 'capital-of-france',
      type: 'single',
      prompt: 'What is the capital of France?',
      choices: [{ text: 'Paris', correct: true }, { text: 'London' }, { text: 'Berlin' }],
      explanation: 'Paris is the capital & largest city of France.\nParis — Right: since 987.\nLondon — No, that is the UK.',
      source: { file: 'test.gift', section: 'Networking / Basics' },
      timeLimit: 30,
      tags: ['Networking', 'Basics'],
    });
  });

  it('escapes: \\{ \\} \\: \\= \\~ \\# and \\\\ are literal', () => {
    const q = byId('escapes');
    expect(q.prompt).toBe('Which one means { in a regex: a literal brace?');
    expect(q.type === 'single' && q.choices.map((c) => c.text)).toEqual(['\\{', '=', '~', '#']);
    expect(q.explanation).toBe(DEFAULT_EXPLANATION);
  });

  it('weighted answers: several positive weights make a multi question', () => {
    const q = byId('primes');
    expect(q.type).toBe('multi');
    expect(q.type === 'multi' && q.choices).toEqual([{ text: '2', correct: true }, { text: '3', correct: true }, { text: '4' }]);
  });

  it('true/false with feedback for the wrong and the right answer', () => {
    expect(byId('tf')).toMatchObject({ type: 'truefalse', answer: true, prompt: 'The sun is a star.', explanation: 'True: Yes.\nFalse: No, it is a star.' });
    expect(byId('moon')).toMatchObject({ type: 'truefalse', answer: false, prompt: 'The moon is a planet.' });
    expect(byId('capital-of-france-2')).toMatchObject({ type: 'truefalse', answer: true });
    expect(byId('q13')).toMatchObject({ type: 'truefalse', answer: false, prompt: 'An untitled true/false question.' });
  });

  it('short answer: every full-credit = answer is accepted, partial credit dropped with a warning', () => {
    expect(byId('who-wrote-hamlet')).toMatchObject({ type: 'short', accept: ['Shakespeare', 'William Shakespeare'] });
    expect(result.warnings).toContainEqual({
      file: 'test.gift',
      line: 21,
      column: 42,
      path: 'questions[5]',
      message: '1 partial-credit answer dropped (Quizroom short answers are right or wrong)',
    });
  });

  it('numeric: value:tolerance, min..max range (midpoint ± half range), first full-credit of several answers', () => {
    expect(byId('pi')).toMatchObject({ type: 'numeric', value: 3.14, tolerance: 0.005 });
    expect(byId('range')).toMatchObject({ type: 'numeric', value: 3, tolerance: 2 });
    expect(byId('grant')).toMatchObject({ type: 'numeric', value: 1822, tolerance: 0, explanation: '1822:0 — Exactly right\n1822:2 — Close' });
    expect(result.warnings.some((w) => w.path === 'questions[8]' && w.line === 27 && /only the first full-credit one/.test(w.message))).toBe(true);
  });

  it('essay: open question with a placeholder rubric and a warning (not an error)', () => {
    const q = byId('essay');
    expect(q).toMatchObject({
      type: 'open',
      prompt: 'Explain TCP slow start.',
      rubric: [{ id: 'quality', label: 'Quality', points: 5 }],
      source: { file: 'test.gift', section: 'Essays' },
      tags: ['Essays'],
    });
    expect(result.warnings).toContainEqual(
      expect.objectContaining({ line: 34, path: 'questions[9]', message: expect.stringMatching(/^essay question converted to an open question with a placeholder rubric/) }),
    );
  });

  it('missing word: the answer section becomes ___ in the prompt', () => {
    expect(byId('q11')).toMatchObject({ type: 'single', prompt: 'Two plus two is ___ in base ten.', choices: [{ text: 'four', correct: true }, { text: 'three' }, { text: 'five' }] });
  });

  it('uses the defaults: source section "GIFT import" without a category, timeLimit 30', () => {
    const r = giftToBank('Q? {=a ~b}', { fileName: 'dir/plain.gift' });
    expect(r.errors).toEqual([]);
    expect(r.bank).toMatchObject({ id: 'plain', title: 'plain' });
    expect(r.bank?.questions[0]).toMatchObject({ id: 'q1', source: { file: 'plain.gift', section: 'GIFT import' }, timeLimit: 30, explanation: DEFAULT_EXPLANATION });
    expect(r.bank?.questions[0]).not.toHaveProperty('tags');
  });

  it('round-trips: the YAML written by the importer passes bank-check', () => {
    const yaml = bankToYaml(result.bank);
    expect(yaml.startsWith('# yaml-language-server: $schema=../schema/bank.schema.json\n')).toBe(true);
    const checked = checkBankSource(yaml, 'imported.yaml');
    expect(checked.errors).toEqual([]);
    expect(checked.bank?.questions).toHaveLength(13);
  });
});

describe('giftToBank errors, located by line', () => {
  it('refuses matching questions, naming the line of the first pair', () => {
    const text = '::Q1:: Fine {T}\n\n// matching below\n::Match:: Match the capitals. {\n  =France -> Paris\n  =Italy -> Rome\n}\n';
    const r = giftToBank(text, { fileName: 'm.gift' });
    expect(r.bank).toBeUndefined();
    expect(r.errors).toEqual([
      {
        file: 'm.gift',
        line: 5,
        column: 3,
        path: 'questions[1]',
        message: 'matching questions are not supported (Quizroom has no matching type): rewrite it as several single-choice questions or as an order question',
      },
    ]);
  });

  it('reports every problem, each with its line', () => {
    const text = [
      '::A:: No correct answer {~a ~b}', // 1
      '', // 2
      '::B:: Unclosed {=a ~b', // 3
      '', // 4
      '::C:: Bad number {#abc}', // 5
      '', // 6
      '::D:: Too many choices {=1 ~2 ~3 ~4 ~5 ~6 ~7 ~8 ~9}', // 7
      '', // 8
      '::E:: Two sections {=a} and {=b}', // 9
      '', // 10
      '::F:: {=answer without a question}', // 11
      '', // 12
      'A description without any answer section.', // 13
    ].join('\n');
    const r = giftToBank(text, { fileName: 'e.gift' });
    expect(r.bank).toBeUndefined();
    expect(r.errors.map((e) => [e.line, e.path, e.message])).toEqual([
      [1, 'questions[0]', 'multiple-choice question without a correct answer (mark it with = or a positive %weight%)'],
      [3, 'questions[1]', 'the answer section "{" is never closed with "}" (a blank line ends a question; escape a literal brace as \\{)'],
      [5, 'questions[2]', 'invalid numeric answer "abc" (expected a number, number:tolerance or min..max)'],
      [7, 'questions[3].choices', 'allows at most 8 items (found 9)'],
      [9, 'questions[4]', 'a question can have only one {…} answer section (escape literal braces as \\{ and \\})'],
      [11, 'questions[5].prompt', 'must not be empty'],
    ]);
    expect(r.warnings).toMatchObject([{ line: 13, message: 'no answer section {…}: treated as a description and skipped' }]);
  });

  it('reports an invalid bank id from the options at line 1', () => {
    const r = giftToBank('Q? {T}', { fileName: 'x.gift', id: 'Not An Id' });
    expect(r.errors).toMatchObject([{ line: 1, path: 'id', message: expect.stringMatching(/^an id is 1–64 characters/) }]);
  });

  it('handles Windows line endings', () => {
    const r = giftToBank('::A:: Q1 {T}\r\n\r\n::B:: Q2 {=x}\r\n', { fileName: 'w.gift' });
    expect(r.errors).toEqual([]);
    expect(r.bank?.questions.map((q) => q.id)).toEqual(['a', 'b']);
  });
});

describe('GIFT escapes (property)', () => {
  const escapeGift = (s: string): string => s.replace(/[\\~=#{}:]/g, (c) => `\\${c}`);
  it('any escaped answer text comes back verbatim', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== '' && !/[\r\n]/.test(s) && !/\\n/.test(s) && !s.includes('->') && s === s.trim() && !s.startsWith('%') && !s.startsWith('//')),
        (answer) => {
          const r = giftToBank(`Type it: {=${escapeGift(answer)}}`, { fileName: 'p.gift' });
          expect(r.errors).toEqual([]);
          expect(r.bank?.questions[0]).toMatchObject({ type: 'short', accept: [answer] });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('pathological text is handled in linear time', () => {
  it('strips blanks at line ends without a backtracking regex (300 k blanks mid-line)', () => {
    expect(stripTrailingBlanks('a \t \nb\t\n  c  ')).toBe('a\nb\n  c');
    const start = performance.now();
    const { errors } = giftToBank(`Q${' '.repeat(300_000)}x {T}`, { fileName: 'blanks.gift' });
    expect(performance.now() - start).toBeLessThan(2000); // was minutes: /[ \t]+\n/g backtracked
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([expect.stringMatching(/^questions\[0\]\.prompt: must be at most \d+ characters long \(found 300002\)$/)]);
  });

  it('strips HTML tags, never text between a stray "<" and a tag; a run of "<" is quick', () => {
    const { bank } = giftToBank('[html]Is 1 < 2 <b>true</b>? {T}', { fileName: 'lt.gift' });
    expect(bank?.questions[0]?.prompt).toBe('Is 1 < 2 true?');
    const start = performance.now();
    const result = giftToBank(`[html]${'<'.repeat(300_000)}{T}`, { fileName: 'lts.gift' });
    expect(performance.now() - start).toBeLessThan(2000); // was minutes: /<[^>]+>/g backtracked
    expect(result.errors.length + (result.bank ? 1 : 0)).toBeGreaterThan(0);
  });
});

describe('slugify', () => {
  it('makes ids out of titles', () => {
    expect(slugify('Qu’est-ce que le café ?')).toBe('qu-est-ce-que-le-cafe');
    expect(slugify('  --  ')).toBe('');
  });
});

describe('gift-import CLI', () => {
  it('prints YAML, or errors with lines and exit code 1', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'quizroom-gift-'));
    try {
      writeFileSync(path.join(dir, 'in.gift'), GIFT);
      writeFileSync(path.join(dir, 'bad.gift'), '::M:: {=a -> b =c -> d}\n');
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (l: string) => err.push(l), cwd: dir };
      expect(importMain(['in.gift', '--id', 'net-basics', '--title', 'Networking basics'], io)).toBe(0);
      const printed = checkBankSource(out.join(''), 'printed.yaml');
      expect(printed.errors).toEqual([]);
      expect(printed.bank).toMatchObject({ id: 'net-basics', title: 'Networking basics' });
      expect(err.some((l) => l.startsWith('in.gift:34:') && l.includes('warning: essay question'))).toBe(true);

      expect(importMain(['in.gift', '--out', 'out/../out.yaml'], io)).toBe(0);
      const written = readFileSync(path.join(dir, 'out.yaml'), 'utf8');
      expect(written.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*question-bank\/schema\/bank\.schema\.json$/);
      expect(checkBankSource(written, 'out.yaml').errors).toEqual([]);

      err.length = 0;
      expect(importMain(['bad.gift'], io)).toBe(1);
      expect(err[0]).toMatch(/^bad\.gift:1:8  questions\[0\]  matching questions are not supported/);
      expect(importMain([], io)).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
