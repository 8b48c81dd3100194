/**
 * Turning zod issues about a bank into messages an instructor can act on.
 *
 * zod reports issues against the parsed value with a path such as ["questions", 3, "choices"];
 * this module rewrites zod's generic messages ("Invalid input: expected array, received
 * undefined") into bank vocabulary ("missing required field "rubric"…"), splits unknown-key
 * issues into one issue per key (so each can be located at its own line), and adds the
 * cross-field checks that zod skips once an object already has a type error, so that fixing
 * one error never reveals a batch of new ones.
 */
import { Bank, QUESTION_TYPES } from '@quizroom/shared';
import type { z } from 'zod';

export type PathSegment = string | number;

export interface BankIssue {
  path: PathSegment[];
  message: string;
}

type Issue = z.core.$ZodIssue;

/** `["questions", 3, "choices"]` → `questions[3].choices`. Empty path → "" (the bank itself). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The raw value at a path, and whether the last key exists in its parent. */
function valueAt(data: unknown, path: readonly PathSegment[]): { value: unknown; exists: boolean } {
  let cur: unknown = data;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') {
      if (seg >= cur.length) return { value: undefined, exists: false };
      cur = cur[seg];
    } else if (isRecord(cur) && typeof seg === 'string') {
      if (!Object.hasOwn(cur, seg)) return { value: undefined, exists: false };
      cur = cur[seg];
    } else return { value: undefined, exists: false };
  }
  return { value: cur, exists: true };
}

/** A short, quoted rendering of a value for "got …" hints. */
export function describeValue(v: unknown): string {
  if (v === null) return 'an empty value';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (isRecord(v)) return 'a mapping (key: value pairs)';
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value pairs)',
};

const FIELD_HINTS: Record<string, string> = {
  rubric: 'a list of 1–8 criteria, each with id, label, points (1–9) and description',
  choices: 'a list of 2–8 choices, each with text (and correct: true on the right ones)',
  items: 'a list of 2–8 items in the correct order',
  accept: 'a list of accepted answers',
  source: 'a mapping with file and section',
  explanation: 'shown to everyone when the answer is revealed',
  type: `one of ${QUESTION_TYPES.join(', ')}`,
};

/** zod's built-in messages start like this; messages written in the shared schema do not. */
const ZOD_DEFAULT_MESSAGE = /^(Too (small|big)|Invalid |Unrecognized key)/;

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${n === 1 || n === 1n ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// A tiny walk over the zod schema, used to suggest the intended key for an unknown key.

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  element?: { _zod: { def: SchemaDef } };
  options?: { _zod: { def: SchemaDef } }[];
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
  values?: unknown[];
}

function unwrap(def: SchemaDef): SchemaDef {
  let d = def;
  for (let i = 0; i < 10; i++) {
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (!inner) break;
    d = inner._zod.def;
  }
  return d;
}

/** Chooses the union member whose literal `type` matches the data (discriminated unions). */
function pickOption(def: SchemaDef, data: unknown): SchemaDef | undefined {
  const t = isRecord(data) ? data.type : undefined;
  for (const o of def.options ?? []) {
    const od = unwrap(o._zod.def);
    const lit = od.shape?.type ? unwrap(od.shape.type._zod.def) : undefined;
    if (lit?.values?.includes(t)) return od;
  }
  return undefined;
}

/** The keys a strict object at `path` accepts, or undefined when unknown. */
export function knownKeysAt(path: readonly PathSegment[], data: unknown): string[] | undefined {
  let def: SchemaDef | undefined = unwrap((Bank as unknown as { _zod: { def: SchemaDef } })._zod.def);
  let cur: unknown = data;
  const step = (): void => {
    if (def?.type === 'union') def = pickOption(def, cur);
  };
  step();
  for (const seg of path) {
    if (!def) return undefined;
    if (def.type === 'object' && typeof seg === 'string') def = def.shape?.[seg] ? unwrap(def.shape[seg]._zod.def) : undefined;
    else if (def.type === 'array' && typeof seg === 'number') def = def.element ? unwrap(def.element._zod.def) : undefined;
    else return undefined;
    cur = valueAt(cur, [seg]).value;
    step();
  }
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

function suggestKey(key: string, known: string[] | undefined): string {
  if (!known) return '';
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best && bestD <= Math.max(1, Math.floor(best.length / 3))) return ` (did you mean "${best}"?)`;
  return ` (allowed here: ${known.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------

/** How many bank issues one zod issue becomes (without building their messages). */
function issueCount(issue: Issue): number {
  return issue.code === 'unrecognized_keys' ? issue.keys.length : 1;
}

function humanize(issue: Issue, data: unknown, limit = Infinity): BankIssue[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const { value, exists } = valueAt(data, path);
  const key = path[path.length - 1];
  const custom = !ZOD_DEFAULT_MESSAGE.test(issue.message);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path, data);
      return issue.keys.slice(0, limit).map((k) => ({ path: [...path, k], message: `unknown key "${k}"${suggestKey(k, known)}` }));
    }
    case 'invalid_type': {
      if (!exists && typeof key === 'string') {
        const parent = valueAt(data, path.slice(0, -1)).value;
        if (key === 'rubric' && isRecord(parent) && parent.type === 'open')
          return [{ path, message: `an open question needs a rubric: ${FIELD_HINTS.rubric}` }];
        const hint = FIELD_HINTS[key] ? ` (${FIELD_HINTS[key]})` : ` (${EXPECTED[issue.expected] ?? issue.expected})`;
        return [{ path, message: `missing required field "${key}"${hint}` }];
      }
      if (issue.expected === 'int') return [{ path, message: `must be a whole number (got ${describeValue(value)})` }];
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      let hint = '';
      if (issue.expected === 'boolean' && typeof value === 'string') hint = ' — write true or false without quotes';
      if (issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean'))
        hint = ' — put the text in quotes';
      if (issue.expected === 'number' && typeof value === 'string') {
        if (value.trim() !== '' && Number.isFinite(Number(value))) hint = ' — write the number without quotes';
        else if (/^\s*[-+]?\d+,\d+\s*$/.test(value)) hint = ` — use a dot for decimals: ${value.trim().replace(',', '.')}`;
      }
      if (value === null) hint = ' — the value after the colon is missing';
      return [{ path, message: `expected ${expected}, got ${describeValue(value)}${hint}` }];
    }
    case 'too_small': {
      if (custom) return [{ path, message: issue.message }];
      const min = issue.minimum;
      if (issue.origin === 'string') return [{ path, message: `must be at least ${plural(min, 'character')} long` }];
      if (issue.origin === 'array')
        return [{ path, message: `needs at least ${plural(min, 'item')} (found ${Array.isArray(value) ? value.length : 0})` }];
      return [{ path, message: `must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${min} (got ${describeValue(value)})` }];
    }
    case 'too_big': {
      if (custom) return [{ path, message: issue.message }];
      const max = issue.maximum;
      if (issue.origin === 'string')
        return [{ path, message: `must be at most ${plural(max, 'character')} long (found ${typeof value === 'string' ? value.length : '?'})` }];
      if (issue.origin === 'array')
        return [{ path, message: `allows at most ${plural(max, 'item')} (found ${Array.isArray(value) ? value.length : '?'})` }];
      return [{ path, message: `must be ${issue.inclusive === false ? 'less than' : 'at most'} ${max} (got ${describeValue(value)})` }];
    }
    case 'invalid_format':
      return [{ path, message: custom ? `${issue.message} (got ${describeValue(value)})` : `has the wrong format (got ${describeValue(value)})` }];
    case 'invalid_value':
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(value)})` }];
    case 'invalid_union': {
      if (issue.discriminator) {
        if (!exists) return [{ path, message: `missing required field "${issue.discriminator}" (one of ${QUESTION_TYPES.join(', ')})` }];
        return [{ path, message: `unknown question type ${describeValue(value)} (expected one of ${QUESTION_TYPES.join(', ')})` }];
      }
      return [{ path, message: custom ? issue.message : `does not match any allowed shape (got ${describeValue(value)})` }];
    }
    case 'not_multiple_of':
      return [{ path, message: `must be a multiple of ${issue.divisor} (got ${describeValue(value)})` }];
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * The checks written as refinements in the shared schema, re-run on the raw data. zod skips a
 * refinement when the object it refines already has a type error elsewhere, so without this a
 * duplicate id would only be reported after every other error in the bank is fixed.
 */
function crossFieldChecks(data: unknown): BankIssue[] {
  const out: BankIssue[] = [];
  if (!isRecord(data) || !Array.isArray(data.questions)) return out;
  const first = new Map<string, number>();
  data.questions.forEach((q: unknown, i) => {
    if (!isRecord(q)) return;
    if (typeof q.id === 'string') {
      const earlier = first.get(q.id);
      if (earlier !== undefined)
        out.push({ path: ['questions', i, 'id'], message: `duplicate question id "${q.id}" (first used by questions[${earlier}])` });
      else first.set(q.id, i);
    }
    if ((q.type === 'single' || q.type === 'multi') && Array.isArray(q.choices)) {
      const correct = q.choices.filter((c: unknown) => isRecord(c) && c.correct === true).length;
      if (q.type === 'single' && correct !== 1)
        out.push({ path: ['questions', i, 'choices'], message: `a single-choice question needs exactly one correct choice (found ${correct})` });
      if (q.type === 'multi' && correct === 0)
        out.push({ path: ['questions', i, 'choices'], message: 'a multiple-choice question needs at least one correct choice' });
    }
    const rubrics: [PathSegment[], unknown][] = [
      [['questions', i, 'rubric'], q.rubric],
      [['questions', i, 'justify', 'rubric'], isRecord(q.justify) ? q.justify.rubric : undefined],
    ];
    for (const [p, rubric] of rubrics) {
      if (!Array.isArray(rubric)) continue;
      const seen = new Set<string>();
      rubric.forEach((c: unknown, j) => {
        if (!isRecord(c) || typeof c.id !== 'string') return;
        if (seen.has(c.id)) out.push({ path: [...p, j, 'id'], message: `duplicate criterion id "${c.id}"` });
        seen.add(c.id);
      });
    }
  });
  return out;
}

/**
 * Validates `data` against the shared `Bank` schema and returns its problems, in bank
 * vocabulary, or the parsed bank (defaults applied) when there is none.
 *
 * `maxIssues` bounds the issues whose messages are built (each unknown key's suggestion costs
 * an edit distance per allowed key, and aliases multiply issues: 10 kB of YAML can hold 99 000);
 * `total` always counts them all.
 */
export function validateBankData(data: unknown, maxIssues = Infinity): { bank?: Bank; issues: BankIssue[]; total: number } {
  const result = Bank.safeParse(data);
  if (result.success) return { bank: result.data, issues: [], total: 0 };
  const issues: BankIssue[] = [];
  let total = 0;
  for (const i of result.error.issues) {
    total += issueCount(i);
    if (issues.length < maxIssues) issues.push(...humanize(i, data, maxIssues - issues.length));
  }
  // Add cross-field issues zod skipped; a refinement issue zod did report is not repeated,
  // whatever its wording (custom issues at the same path are the same check).
  const customAt = new Set(
    result.error.issues.filter((i) => i.code === 'custom').map((i) => formatPath(i.path.filter((p): p is PathSegment => typeof p !== 'symbol'))),
  );
  for (const extra of crossFieldChecks(data)) {
    if (customAt.has(formatPath(extra.path))) continue;
    total++;
    if (issues.length < maxIssues) issues.push(extra);
  }
  return { issues, total };
}
