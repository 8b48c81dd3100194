/**
 * Loading and checking bank files (YAML, or JSON — which is also YAML).
 *
 * Every problem is reported, each at the line and column of the YAML node it is about: the
 * document is parsed with positions (`parseDocument` + `LineCounter`), validated against the
 * shared zod `Bank` schema, and each issue's path (e.g. `questions[3].choices`) is walked back
 * through the document to find the node. When the node does not exist (a missing key) the
 * nearest existing parent is used.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document, Pair, YAMLMap } from 'yaml';
import type { Bank } from '@quizroom/shared';
import { formatPath, validateBankData } from './issues.ts';
import type { PathSegment } from './issues.ts';
import { findJsonSyntaxError } from './json-syntax.ts';

export interface BankError {
  /** The file name as given to the checker (usually relative to the working directory). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the bank, e.g. `questions[3].choices`; "" for the file as a whole. */
  path: string;
  message: string;
}

export interface BankCheckResult {
  /** The parsed bank, defaults applied; present only when there are no errors. */
  bank?: Bank;
  errors: BankError[];
  /** Not fatal: things worth a look (YAML warnings, GIFT conversions that need a human). */
  warnings: BankError[];
}

/** Bank files larger than this are refused before parsing. */
export const MAX_BANK_BYTES = 1024 * 1024;
/** Passed to yaml's `toJS`: caps alias expansion, so a "billion laughs" file fails fast. */
export const MAX_ALIAS_COUNT = 100;
/**
 * At most this many errors (and warnings) are listed, then one "… more" line. Aliases multiply
 * issues (one anchored question with 1 000 unknown keys, aliased 98 times, is 99 000 issues in
 * 10 kB): listing them all would block the server for a minute and answer with megabytes.
 */
export const MAX_REPORTED_ERRORS = 100;

/** Absolute path of question-bank/banks, where the bundled banks live. */
export const bundledBanksDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../banks');

/** File extensions of bank files (GIFT files are handled by bank-check through gift.ts). */
export const BANK_FILE_RE = /\.(ya?ml|json)$/i;
/** JSON files that are never banks even when they sit next to banks. */
export const NOT_A_BANK_RE = /^(package(-lock)?\.json|tsconfig.*\.json|.*\.schema\.json)$/i;

/** `file:line:col path: message` (the path is left out when the error is about the whole file). */
export function formatBankError(e: BankError): string {
  return `${e.file}:${e.line}:${e.column} ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

function sortErrors(errors: BankError[]): BankError[] {
  return errors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/**
 * The first `MAX_REPORTED_ERRORS` of a sorted list, then one line that says how many more
 * there are (at the position of the first one left out).
 */
export function capErrors(errors: BankError[], file: string): BankError[] {
  if (errors.length <= MAX_REPORTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_REPORTED_ERRORS), notListed(file, errors.length - MAX_REPORTED_ERRORS, errors[MAX_REPORTED_ERRORS]!)];
}

function notListed(file: string, more: number, next: BankError): BankError {
  const message = `… and ${more} more problem${more === 1 ? '' : 's'} not listed (only the first ${MAX_REPORTED_ERRORS} are): fix these and check again`;
  return fileError(file, message, next.line, next.column, next.path);
}

/** A map key as text (how `toJS` names the property). */
function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Duplicate keys, found with one Set per mapping (linear). yaml's own `uniqueKeys` check
 * compares every key with every earlier key of its mapping: 40 k keys took 13 s. Aliases are
 * not followed (each mapping is checked once, where it is written).
 */
function duplicateKeys(doc: Document): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (pair.key !== null && typeof pair.key === 'object' && !isScalar(pair.key)) continue; // a collection as a key: never equal
        const key = keyText(pair.key);
        if (seen.has(key)) found.push({ key, offset: (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0 });
        else seen.add(key);
      }
    },
  });
  return found;
}

/** Per mapping, its pairs by key (the first pair of each key), built on first use. */
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairByKey(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items as Pair[]) {
      const k = keyText(pair.key);
      if (!index.has(k)) index.set(k, pair);
    }
    pairIndexes.set(map, index);
  }
  return index.get(key);
}

/** The offset of the node at `path`, or of its nearest existing ancestor. Map entries point at the key. */
function offsetOf(doc: Document, path: readonly PathSegment[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0] ?? 0;
  for (const seg of path) {
    for (let hops = 0; isAlias(node) && hops < 10; hops++) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = pairByKey(node as YAMLMap, String(seg));
      if (!pair) break;
      const key = pair.key as { range?: [number, number, number] } | null;
      if (key?.range) offset = key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      if (item.range) offset = item.range[0];
      node = item;
    } else break;
  }
  return offset;
}

function fileError(file: string, message: string, line = 1, column = 1, p = ''): BankError {
  return { file, line, column, path: p, message };
}

/**
 * Checks the text of a bank file. `fileName` is used in the error messages and to recognise
 * JSON (`.json`), whose syntax errors get JSON wording.
 */
export function checkBankSource(text: string, fileName: string): BankCheckResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BANK_BYTES) return { errors: [tooLarge(fileName, bytes)], warnings: [] };

  const lineCounter = new LineCounter();
  const isJson = /\.json$/i.test(fileName);
  const errors: BankError[] = [];
  let warnings: BankError[] = [];
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);

  if (isJson) {
    const syntax = findJsonSyntaxError(text);
    if (syntax) {
      const lc = new LineCounter();
      lc.addNewLine(0);
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
      const pos = lc.linePos(syntax.offset);
      return { errors: [fileError(fileName, syntax.message, pos.line, pos.col)], warnings };
    }
  }

  // uniqueKeys: false — duplicate keys are found below, in linear time.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  let positions = true;
  for (const e of doc.errors) {
    const pos = at(e.pos[0]);
    if (!isJson) {
      errors.push(fileError(fileName, `YAML syntax error: ${e.message}`, pos.line, pos.col));
    } else positions = false; // valid JSON the YAML parser dislikes: validate without positions
  }
  for (const { key, offset } of duplicateKeys(doc)) {
    const pos = at(offset);
    errors.push(fileError(fileName, `duplicate key "${key}": a key may appear only once in a mapping`, pos.line, pos.col));
  }
  for (const w of doc.warnings) {
    const pos = at(w.pos[0]);
    warnings.push(fileError(fileName, `YAML: ${w.message}`, pos.line, pos.col));
  }
  if (errors.length > 0) return { errors: capErrors(sortErrors(errors), fileName), warnings: capErrors(sortErrors(warnings), fileName) };

  let data: unknown;
  try {
    data = positions ? doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) : JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const message = /alias count/i.test(msg)
      ? `refused: the file expands aliases (*name) more than ${MAX_ALIAS_COUNT} times, which looks like a "billion laughs" YAML bomb; repeat the content instead of aliasing it`
      : `could not read the YAML: ${msg}`;
    return { errors: [fileError(fileName, message)], warnings };
  }

  if (data === null || data === undefined)
    return {
      errors: [fileError(fileName, 'the file is empty: a bank is a mapping with id, title, description, language and questions')],
      warnings,
    };

  // Only as many issues as are listed (plus the first one left out) are described and located.
  const { bank, issues, total } = validateBankData(data, MAX_REPORTED_ERRORS + 1);
  for (const issue of issues) {
    const pos = positions ? at(offsetOf(doc, issue.path)) : { line: 1, col: 1 };
    errors.push(fileError(fileName, issue.message, pos.line, pos.col, formatPath(issue.path)));
  }
  warnings = capErrors(sortErrors(warnings), fileName);
  if (total > MAX_REPORTED_ERRORS) {
    const listed = sortErrors(errors.slice(0, MAX_REPORTED_ERRORS));
    return { errors: [...listed, notListed(fileName, total - MAX_REPORTED_ERRORS, errors[MAX_REPORTED_ERRORS]!)], warnings };
  }
  if (errors.length > 0) return { errors: sortErrors(errors), warnings };
  return { bank, errors: [], warnings };
}

function tooLarge(file: string, bytes: number): BankError {
  return fileError(
    file,
    `refused: the file is ${(bytes / 1024 / 1024).toFixed(1)} MB; bank files are limited to ${MAX_BANK_BYTES / 1024 / 1024} MB (split it into several banks)`,
  );
}

/** A display name for a path: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Reads and checks one bank file. The size limit is applied before the file is read. */
export function loadBankFile(filePath: string, displayName: string = displayPath(filePath)): BankCheckResult {
  let size: number;
  try {
    size = statSync(filePath).size;
  } catch (e) {
    return { errors: [fileError(displayName, `cannot read the file: ${(e as Error).message}`)], warnings: [] };
  }
  if (size > MAX_BANK_BYTES) return { errors: [tooLarge(displayName, size)], warnings: [] };
  return checkBankSource(readFileSync(filePath, 'utf8'), displayName);
}

/** Thrown by `loadBundledBanks`; `errors` holds every problem found in every file. */
export class BankLoadError extends Error {
  constructor(readonly errors: BankError[]) {
    super(`invalid question bank${errors.length === 1 ? '' : 's'}:\n${errors.map((e) => `  ${formatBankError(e)}`).join('\n')}`);
    this.name = 'BankLoadError';
  }
}

/** The bank files (YAML/JSON) directly inside `dir`, sorted by name. */
export function bankFilesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && BANK_FILE_RE.test(d.name) && !NOT_A_BANK_RE.test(d.name))
    .map((d) => path.join(dir, d.name))
    .sort();
}

/**
 * Loads every .yaml/.yml/.json bank directly inside `dir` (default: question-bank/banks).
 * Throws a `BankLoadError` listing all errors of all files if any file is invalid or two
 * banks share an id. Returns the banks sorted by id.
 */
export function loadBundledBanks(dir: string = bundledBanksDir): Bank[] {
  if (!existsSync(dir)) throw new Error(`bank directory not found: ${dir}`);
  const errors: BankError[] = [];
  const banks: { bank: Bank; file: string }[] = [];
  for (const file of bankFilesIn(dir)) {
    const result = loadBankFile(file);
    errors.push(...result.errors);
    if (result.bank) {
      const display = displayPath(file);
      const clash = banks.find((b) => b.bank.id === result.bank!.id);
      if (clash) {
        const text = readFileSync(file, 'utf8');
        const idLine = text.split('\n').findIndex((l) => /^id\s*:/.test(l));
        errors.push(fileError(display, `duplicate bank id "${result.bank.id}" (also used by ${clash.file})`, idLine + 1 || 1, 1, 'id'));
      } else banks.push({ bank: result.bank, file: display });
    }
  }
  if (errors.length > 0) throw new BankLoadError(errors);
  return banks.map((b) => b.bank).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
