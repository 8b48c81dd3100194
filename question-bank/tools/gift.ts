/**
 * GIFT (Moodle's plain-text quiz format) → Quizroom bank.
 *
 * Supported: `//` comment lines, `::title::`, `[html]`/`[markdown]`/`[plain]`/`[moodle]` format
 * markers, escapes (`\~ \= \# \{ \} \: \\ \n`), multiple choice (`=` right, `~` wrong,
 * `~%50%` weighted → several correct answers make a `multi`), answer feedback (`#…`) and
 * general feedback (`####…`) → explanation, true/false (`{T}` `{F}` `{TRUE}` `{FALSE}`), short
 * answer (`{=a =b}`), numeric (`{#3.14:0.01}`, `{#1..5}`, `{#=3.14:0.01 =%50%3:1}`), essay (`{}`
 * → open question with a placeholder rubric, and a warning), missing word (text after the
 * answer section → "___" in the prompt) and `$CATEGORY:` lines (→ tags and source section).
 * Matching questions (`{=a -> b}`) cannot be expressed in Quizroom and are reported as errors.
 *
 * Questions are separated by blank lines, as in Moodle.
 */
import path from 'node:path';
import type { BankInput, QuestionInput } from '@quizroom/shared';
import { formatPath, validateBankData } from './issues.ts';
import type { PathSegment } from './issues.ts';
import { capErrors, MAX_BANK_BYTES } from './load-bank.ts';
import type { BankError } from './load-bank.ts';

export interface GiftOptions {
  /** Bank id; default: derived from the file name. */
  id?: string;
  /** Bank title; default: the file name without extension. */
  title?: string;
  /** Used in error messages and as `source.file` of every question. */
  fileName: string;
  description?: string;
  /** BCP 47 tag; default "en". */
  language?: string;
}

export interface GiftResult {
  /** The converted bank (zod input shape: defaults not applied); present only when there are no errors. */
  bank?: BankInput;
  errors: BankError[];
  /** Conversions an instructor should review (placeholder rubrics, dropped partial-credit answers…). */
  warnings: BankError[];
}

export const DEFAULT_EXPLANATION = '(no explanation in the GIFT file)';
export const DEFAULT_SECTION = 'GIFT import';
export const DEFAULT_TIME_LIMIT = 30;
export const PLACEHOLDER_RUBRIC = [
  {
    id: 'quality',
    label: 'Quality',
    points: 5,
    description: 'Placeholder created by the GIFT import: replace it with real criteria before using this question.',
  },
];

// ---------------------------------------------------------------------------------------------
// Escapes. `\X` is replaced by two characters (a private-use character standing for X, then a
// filler) so that offsets, and therefore line numbers, stay those of the original text.

const ESCAPABLE = '~=#{}:\\n';
const PUA_BASE = 0xe000;
const FILLER = '\ue0ff';

function encodeEscapes(s: string): string {
  return s.replace(/\\([~=#{}:\\n])/g, (_, c: string) => String.fromCharCode(PUA_BASE + ESCAPABLE.indexOf(c)) + FILLER);
}

function decodeEscapes(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === FILLER) continue;
    const k = ch.charCodeAt(0) - PUA_BASE;
    if (k >= 0 && k < ESCAPABLE.length) out += ESCAPABLE[k] === 'n' ? '\n' : ESCAPABLE[k];
    else out += ch;
  }
  return out;
}

/**
 * Removes the blanks (spaces, tabs) at the end of every line. Written as a loop: a regex such
 * as /[ \t]+\n/g or /[ \t]+$/gm backtracks quadratically over a long run of blanks that is not
 * at the end of a line (300 k blanks: minutes of a blocked event loop).
 */
export function stripTrailingBlanks(s: string): string {
  const lines = s.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let end = line.length;
    while (end > 0 && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
    if (end < line.length) lines[i] = line.slice(0, end);
  }
  return lines.join('\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

function htmlToText(s: string): string {
  return s
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p[^>]*>/gi, '\n\n')
    // [^<>]: a tag never contains "<", so a long run of "<" (no ">") fails at once instead of
    // each "<" scanning to the end of the text (quadratic).
    .replace(/<[^<>]+>/g, '')
    .replace(/&(#?\w+);/g, (m, name: string) => {
      if (ENTITIES[name]) return ENTITIES[name];
      const code = /^#x([0-9a-f]+)$/i.exec(name)?.[1] ?? /^#(\d+)$/.exec(name)?.[1];
      if (code === undefined) return m;
      const n = name.startsWith('#x') || name.startsWith('#X') ? parseInt(code, 16) : parseInt(code, 10);
      return Number.isFinite(n) && n <= 0x10ffff ? String.fromCodePoint(n) : m;
    });
}

/** Lowercase, ASCII, dash-separated; "" when nothing usable remains. */
export function slugify(s: string, max = 60): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

// ---------------------------------------------------------------------------------------------

interface Line {
  no: number;
  text: string;
}

interface Block {
  lines: Line[];
  /** Encoded text of the block (escapes replaced, comment lines removed). */
  text: string;
  /** Offset in `text` where each line starts. */
  starts: number[];
}

function makeBlock(lines: Line[]): Block {
  const starts: number[] = [];
  let off = 0;
  for (const l of lines) {
    starts.push(off);
    off += l.text.length + 1;
  }
  return { lines, starts, text: encodeEscapes(lines.map((l) => l.text).join('\n')) };
}

/** 1-based line and column of an offset inside a block. */
function posIn(block: Block, offset: number): { line: number; column: number } {
  let i = 0;
  while (i + 1 < block.starts.length && block.starts[i + 1]! <= offset) i++;
  return { line: block.lines[i]?.no ?? 1, column: offset - (block.starts[i] ?? 0) + 1 };
}

interface Answer {
  marker: '=' | '~';
  weight?: number;
  text: string;
  feedback?: string;
  /** Offset of the marker in the block text. */
  offset: number;
}

class GiftError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const NUM_TOL = new RegExp(String.raw`^\s*(${NUM})\s*(?::\s*(${NUM}))?\s*$`);
const NUM_RANGE = new RegExp(String.raw`^\s*(${NUM})\s*\.\.\s*(${NUM})\s*$`);

const tidy = (n: number): number => Number(n.toPrecision(12));

function parseNumeric(expr: string, offset: number): { value: number; tolerance: number } {
  const range = NUM_RANGE.exec(expr);
  if (range) {
    let lo = Number(range[1]);
    let hi = Number(range[2]);
    if (lo > hi) [lo, hi] = [hi, lo];
    return { value: tidy((lo + hi) / 2), tolerance: tidy((hi - lo) / 2) };
  }
  const tol = NUM_TOL.exec(expr);
  if (tol) return { value: Number(tol[1]), tolerance: tol[2] === undefined ? 0 : Math.abs(Number(tol[2])) };
  throw new GiftError(`invalid numeric answer "${decodeEscapes(expr).trim()}" (expected a number, number:tolerance or min..max)`, offset);
}

/** Splits the inside of `{…}` into answers starting with `=` or `~`. */
function splitAnswers(content: string, base: number): Answer[] {
  const answers: Answer[] = [];
  const markers: number[] = [];
  for (let i = 0; i < content.length; i++) if (content[i] === '=' || content[i] === '~') markers.push(i);
  const lead = content.slice(0, markers[0] ?? content.length);
  if (lead.trim() !== '')
    throw new GiftError(
      `unexpected text "${decodeEscapes(lead).trim().slice(0, 40)}" in the answer section: answers start with = (right) or ~ (wrong); escape a literal = or ~ as \\= or \\~`,
      base + content.indexOf(lead.trim()),
    );
  markers.forEach((m, k) => {
    let body = content.slice(m + 1, markers[k + 1] ?? content.length);
    let weight: number | undefined;
    const w = /^\s*%(-?\d+(?:\.\d+)?)%/.exec(body);
    if (w) {
      weight = Number(w[1]);
      body = body.slice(w[0].length);
    }
    const hash = body.indexOf('#');
    const answer: Answer = { marker: content[m] as '=' | '~', text: hash === -1 ? body : body.slice(0, hash), offset: base + m };
    if (weight !== undefined) answer.weight = weight;
    if (hash !== -1) answer.feedback = body.slice(hash + 1);
    answers.push(answer);
  });
  return answers;
}

interface Converted {
  question: QuestionInput;
  warnings: { message: string; offset: number }[];
  /** Block offsets of the choices / accepted answers, for locating validation errors. */
  answerOffsets: number[];
}

function convertBlock(block: Block, ctx: { category: string | undefined; fileName: string }): Converted | undefined {
  let text = block.text;
  let cursor = 0;
  const warnings: Converted['warnings'] = [];

  // ::title::
  let title: string | undefined;
  const t = /^\s*::([\s\S]*?)::/.exec(text);
  if (t) {
    title = decodeEscapes(t[1]!).trim();
    cursor = t[0].length;
  }

  const open = text.indexOf('{', cursor);
  if (open === -1) return undefined; // a "description" item: no answers
  const close = text.indexOf('}', open + 1);
  if (close === -1)
    throw new GiftError('the answer section "{" is never closed with "}" (a blank line ends a question; escape a literal brace as \\{)', open);
  const again = text.indexOf('{', close + 1);
  if (again !== -1)
    throw new GiftError('a question can have only one {…} answer section (escape literal braces as \\{ and \\})', again);

  // Format marker, at the start of the question text.
  let before = text.slice(cursor, open);
  let format = 'moodle';
  const fm = /^\s*\[(html|markdown|plain|moodle)\]/i.exec(before);
  if (fm) {
    format = fm[1]!.toLowerCase();
    before = before.slice(fm[0].length);
  }
  const clean = (s: string): string => {
    const decoded = decodeEscapes(s);
    return stripTrailingBlanks(format === 'html' ? htmlToText(decoded) : decoded).trim();
  };

  const after = text.slice(close + 1);
  const prompt = after.trim() === '' ? clean(before) : clean(`${before}___${after}`);

  // Answer section.
  let content = text.slice(open + 1, close);
  const base = open + 1;
  let general: string | undefined;
  const gi = content.indexOf('####');
  if (gi !== -1) {
    general = clean(content.slice(gi + 4));
    content = content.slice(0, gi);
  }
  const feedbackLines: string[] = [];
  const explanation = (): string => {
    const parts = [general, ...feedbackLines].filter((p): p is string => !!p);
    return parts.length > 0 ? parts.join('\n') : DEFAULT_EXPLANATION;
  };
  const common = {
    prompt,
    source: { file: path.basename(ctx.fileName), section: ctx.category ? ctx.category : DEFAULT_SECTION },
    timeLimit: DEFAULT_TIME_LIMIT,
    ...(ctx.category ? { tags: categoryTags(ctx.category) } : {}),
  };
  const id = title ?? '';
  const trimmed = content.trim();
  let question: QuestionInput;
  const answerOffsets: number[] = [];

  if (trimmed === '') {
    // Essay.
    const { timeLimit: _unused, ...rest } = common;
    question = {
      id,
      type: 'open',
      ...rest,
      explanation: explanation(),
      rubric: PLACEHOLDER_RUBRIC.map((c) => ({ ...c })),
      note: 'Imported from a GIFT essay question: the rubric is a placeholder.',
    };
    warnings.push({
      message: 'essay question converted to an open question with a placeholder rubric (one criterion "Quality", 5 points): write a real rubric (3–5 criteria) before using it',
      offset: open,
    });
  } else if (trimmed.startsWith('#')) {
    // Numeric.
    const hashAt = content.indexOf('#');
    const body = content.slice(hashAt + 1);
    let expr: string;
    let exprOffset = base + hashAt + 1;
    if (/[=~]/.test(body)) {
      const answers = splitAnswers(body, base + hashAt + 1);
      const full = answers.find((a) => a.marker === '=' && (a.weight === undefined || a.weight === 100));
      if (!full) throw new GiftError('numeric question without a full-credit answer (write {#=value:tolerance})', base + hashAt);
      expr = full.text;
      exprOffset = full.offset;
      for (const a of answers) if (a.feedback?.trim()) feedbackLines.push(`${clean(a.text)} — ${clean(a.feedback)}`);
      if (answers.length > 1)
        warnings.push({
          message: `numeric question with ${answers.length} answers: only the first full-credit one (${clean(full.text)}) is kept`,
          offset: base + hashAt,
        });
    } else {
      const fb = body.indexOf('#');
      expr = fb === -1 ? body : body.slice(0, fb);
      if (fb !== -1 && body.slice(fb + 1).trim()) feedbackLines.push(clean(body.slice(fb + 1)));
    }
    const { value, tolerance } = parseNumeric(expr, exprOffset);
    question = { id, type: 'numeric', ...common, value, tolerance, explanation: explanation() };
  } else if (/^(T|F|TRUE|FALSE)\s*(#|$)/i.test(trimmed)) {
    // True / false: {T#feedback for a wrong answer#feedback for a right answer}.
    const [head, ...fbs] = trimmed.split('#');
    const answer = /^t/i.test(head!.trim());
    const [wrongFb, rightFb] = fbs.map((f) => clean(f));
    const trueFb = answer ? rightFb : wrongFb;
    const falseFb = answer ? wrongFb : rightFb;
    if (trueFb) feedbackLines.push(`True: ${trueFb}`);
    if (falseFb) feedbackLines.push(`False: ${falseFb}`);
    question = { id, type: 'truefalse', ...common, answer, explanation: explanation() };
  } else {
    const answers = splitAnswers(content, base);
    // Moodle's matching syntax: every answer is `=left -> right`.
    const matching = answers.every((a) => a.marker === '=' && a.text.includes('->')) ? answers[0] : undefined;
    if (matching)
      throw new GiftError(
        'matching questions are not supported (Quizroom has no matching type): rewrite it as several single-choice questions or as an order question',
        matching.offset,
      );
    for (const a of answers) {
      if (clean(a.text) === '') throw new GiftError(`empty answer after "${a.marker}"`, a.offset);
      if (a.feedback?.trim()) feedbackLines.push(`${clean(a.text)} — ${clean(a.feedback)}`);
    }
    if (answers.every((a) => a.marker === '=')) {
      // Short answer: every full-credit answer is accepted; partial credit does not exist here.
      const accepted = answers.filter((a) => a.weight === undefined || a.weight >= 100);
      const dropped = answers.length - accepted.length;
      if (accepted.length === 0) throw new GiftError('short-answer question without a full-credit answer', base);
      if (dropped > 0)
        warnings.push({ message: `${dropped} partial-credit answer${dropped === 1 ? '' : 's'} dropped (Quizroom short answers are right or wrong)`, offset: base });
      answerOffsets.push(...accepted.map((a) => a.offset));
      question = { id, type: 'short', ...common, accept: accepted.map((a) => clean(a.text)), explanation: explanation() };
    } else {
      const isCorrect = (a: Answer): boolean => (a.weight !== undefined ? a.weight > 0 : a.marker === '=');
      const correct = answers.filter(isCorrect).length;
      if (correct === 0)
        throw new GiftError('multiple-choice question without a correct answer (mark it with = or a positive %weight%)', base);
      answerOffsets.push(...answers.map((a) => a.offset));
      question = {
        id,
        type: correct === 1 ? 'single' : 'multi',
        ...common,
        choices: answers.map((a) => (isCorrect(a) ? { text: clean(a.text), correct: true } : { text: clean(a.text) })),
        explanation: explanation(),
      };
    }
  }
  return { question: ordered(question), warnings, answerOffsets };
}

/** Key order for readable output: what the question is first, bookkeeping last. */
const KEY_ORDER = ['id', 'type', 'prompt', 'choices', 'answer', 'accept', 'value', 'tolerance', 'rubric', 'explanation'];

function ordered(q: QuestionInput): QuestionInput {
  const entries = Object.entries(q);
  const rank = (k: string): number => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
  return Object.fromEntries(entries.sort(([a], [b]) => rank(a) - rank(b))) as QuestionInput;
}

const MOODLE_CATEGORY_MARKERS = /^(\$\w+\$|top)$/i;

function cleanCategory(raw: string): string {
  return raw
    .split('/')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !MOODLE_CATEGORY_MARKERS.test(s))
    .join(' / ')
    .slice(0, 200);
}

function categoryTags(category: string): string[] {
  return category
    .split(' / ')
    .map((s) => s.slice(0, 40).trim())
    .filter(Boolean)
    .slice(0, 20);
}

/**
 * Converts GIFT text to a bank. Every problem is reported with its line; the bank is returned
 * only when there is no error (it then also passes `Bank.safeParse`).
 */
export function giftToBank(text: string, options: GiftOptions): GiftResult {
  const file = options.fileName;
  const errors: BankError[] = [];
  const warnings: BankError[] = [];
  const err = (message: string, line = 1, column = 1, p = ''): BankError => ({ file, line, column, path: p, message });

  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BANK_BYTES)
    return { errors: [err(`refused: the file is ${(bytes / 1024 / 1024).toFixed(1)} MB; GIFT files are limited to ${MAX_BANK_BYTES / 1024 / 1024} MB`)], warnings };

  // Split into blocks at blank lines; comment lines are dropped without ending a block.
  const rawLines = text.replace(/^\ufeff/, '').split(/\r\n|\r|\n/);
  type Item = { kind: 'category'; line: number; value: string } | { kind: 'block'; block: Block };
  const items: Item[] = [];
  let current: Line[] = [];
  const flush = (): void => {
    if (current.length > 0) items.push({ kind: 'block', block: makeBlock(current) });
    current = [];
  };
  rawLines.forEach((textLine, i) => {
    const trimmed = textLine.trim();
    if (trimmed.startsWith('//')) return;
    if (trimmed === '') return flush();
    const cat = /^\$CATEGORY:\s*(.*)$/i.exec(trimmed);
    if (cat && current.length === 0) {
      items.push({ kind: 'category', line: i + 1, value: cat[1]! });
      return;
    }
    current.push({ no: i + 1, text: textLine });
  });
  flush();

  const baseName = path.basename(file).replace(/\.[^.]*$/, '');
  const questions: QuestionInput[] = [];
  /** For each question of the output, its GIFT ordinal (0-based), block and answer offsets. */
  const origin: { ordinal: number; block: Block; answerOffsets: number[] }[] = [];
  const usedIds = new Set<string>();
  const idFor = (title: string, ordinal: number): string => {
    let id = slugify(title) || `q${ordinal + 1}`;
    if (usedIds.has(id)) {
      let n = 2;
      while (usedIds.has(`${id}-${n}`)) n++;
      id = `${id}-${n}`;
    }
    usedIds.add(id);
    return id;
  };

  let category: string | undefined;
  let ordinal = 0;
  for (const item of items) {
    if (item.kind === 'category') {
      category = cleanCategory(item.value) || undefined;
      continue;
    }
    const { block } = item;
    const qPath = formatPath(['questions', ordinal]);
    try {
      const converted = convertBlock(block, { category, fileName: file });
      if (!converted) {
        const pos = posIn(block, 0);
        warnings.push(err('no answer section {…}: treated as a description and skipped', pos.line, pos.column));
        continue;
      }
      converted.question.id = idFor(converted.question.id, ordinal);
      for (const w of converted.warnings) {
        const pos = posIn(block, w.offset);
        warnings.push(err(w.message, pos.line, pos.column, qPath));
      }
      questions.push(converted.question);
      origin.push({ ordinal, block, answerOffsets: converted.answerOffsets });
    } catch (e) {
      if (!(e instanceof GiftError)) throw e;
      const pos = posIn(block, e.offset);
      errors.push(err(e.message, pos.line, pos.column, qPath));
    }
    ordinal++;
  }

  const bank: BankInput = {
    id: options.id ?? (slugify(baseName, 64) || 'gift-import'),
    title: options.title ?? (baseName || 'GIFT import'),
    description: options.description ?? `Imported from the GIFT file ${path.basename(file)}.`,
    language: options.language ?? 'en',
    questions,
  };

  // Validate the result against the bank schema and locate each issue in the GIFT file.
  const { issues } = validateBankData(bank);
  const conversionFailed = errors.length > 0;
  for (const issue of issues) {
    // "a bank needs at least one question" says nothing new when every question failed to convert.
    if (conversionFailed && formatPath(issue.path) === 'questions') continue;
    const [head, index, field, sub] = issue.path;
    const o = head === 'questions' && typeof index === 'number' ? origin[index] : undefined;
    if (!o) {
      // A bank-level problem (id, title, no questions at all…): about the file as a whole.
      const hint = issue.path[0] === 'id' && !options.id ? ' — pass --id to choose the bank id' : '';
      errors.push(err(`${issue.message}${hint}`, 1, 1, formatPath(issue.path)));
      continue;
    }
    let offset = 0;
    if ((field === 'choices' || field === 'accept') && typeof sub === 'number') offset = o.answerOffsets[sub] ?? 0;
    const pos = posIn(o.block, offset);
    const p: PathSegment[] = ['questions', o.ordinal, ...issue.path.slice(2)];
    errors.push(err(issue.message, pos.line, pos.column, formatPath(p)));
  }

  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  warnings.sort((a, b) => a.line - b.line || a.column - b.column);
  return errors.length > 0 ? { errors: capErrors(errors, file), warnings: capErrors(warnings, file) } : { bank, errors, warnings: capErrors(warnings, file) };
}
