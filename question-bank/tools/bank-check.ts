/**
 * `npm run bank:check [files or directories...]`
 *
 * Checks bank files (.yaml, .yml, .json) and GIFT files (.gift, .txt: converted, then checked).
 * Without arguments, checks every bank in question-bank/banks. Prints every error as
 * `file:line:col  path  message`, a one-line summary per valid file, and exits with 1 if any
 * file has an error.
 *
 * Directories are expanded to the bank files directly inside them, so a shell glob such as
 * `npm run bank:check question-bank/*` works: directories named fixtures, tools, schema,
 * node_modules (and hidden ones) are skipped, as are package.json, tsconfig*.json and
 * *.schema.json. A file named explicitly is always checked (e.g. a fixture).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bank, QUESTION_TYPES } from '@quizroom/shared';
import { giftToBank } from './gift.ts';
import { BANK_FILE_RE, bundledBanksDir, displayPath, loadBankFile, MAX_BANK_BYTES, NOT_A_BANK_RE } from './load-bank.ts';
import type { BankCheckResult, BankError } from './load-bank.ts';

export interface CheckIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Directory relative arguments are resolved against (default: process.cwd()). */
  cwd?: string;
}

const consoleIo: CheckIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

const GIFT_RE = /\.(gift|txt)$/i;
/** In directories, .txt is too generic to be taken for GIFT: only .gift is picked up. */
const DIR_FILE_RE = /\.(ya?ml|json|gift)$/i;
const SKIPPED_DIRS = new Set(['fixtures', 'tools', 'schema', 'node_modules', 'dist', 'coverage']);

/** `file:line:col  path  message` — the CLI's error line. */
export function formatCliError(e: BankError, kind: 'error' | 'warning' = 'error'): string {
  const where = `${e.file}:${e.line}:${e.column}`;
  const msg = kind === 'warning' ? `warning: ${e.message}` : e.message;
  return e.path ? `${where}  ${e.path}  ${msg}` : `${where}  ${msg}`;
}

/** Checks a GIFT file: converts it, then validates the result like any bank. */
export function checkGiftFile(file: string, display: string = displayPath(file)): BankCheckResult {
  const size = statSync(file).size;
  if (size > MAX_BANK_BYTES)
    return {
      errors: [{ file: display, line: 1, column: 1, path: '', message: `refused: the file is ${(size / 1024 / 1024).toFixed(1)} MB; GIFT files are limited to 1 MB` }],
      warnings: [],
    };
  const { bank, errors, warnings } = giftToBank(readFileSync(file, 'utf8'), { fileName: display });
  if (!bank) return { errors, warnings };
  const parsed = Bank.safeParse(bank); // giftToBank already validated; this applies the defaults
  return parsed.success ? { bank: parsed.data, errors, warnings } : { errors, warnings };
}

function summary(display: string, bank: Bank): string {
  const counts = QUESTION_TYPES.map((t) => [t, bank.questions.filter((q) => q.type === t).length] as const)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${n} ${t}`);
  const total = bank.questions.length;
  return `OK  ${display}  ${bank.id} "${bank.title}": ${total} question${total === 1 ? '' : 's'} (${counts.join(', ')})`;
}

/** Expands arguments to the list of files to check; reports arguments that do not exist. */
export function expandArgs(args: string[], cwd: string): { files: string[]; notes: string[]; missing: string[] } {
  const files: string[] = [];
  const notes: string[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    const abs = path.resolve(cwd, arg);
    let stat;
    try {
      stat = statSync(abs);
    } catch {
      missing.push(arg);
      continue;
    }
    const name = path.basename(abs);
    if (stat.isDirectory()) {
      if (SKIPPED_DIRS.has(name) || name.startsWith('.')) continue;
      for (const d of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
        if (d.isFile() && DIR_FILE_RE.test(d.name) && !NOT_A_BANK_RE.test(d.name)) files.push(path.join(abs, d.name));
    } else if (NOT_A_BANK_RE.test(name)) {
      notes.push(`skipped ${arg}: not a bank file`);
    } else if (BANK_FILE_RE.test(name) || GIFT_RE.test(name)) {
      files.push(abs);
    } else {
      notes.push(`skipped ${arg}: not a bank file (.yaml, .yml, .json, .gift or .txt)`);
    }
  }
  return { files: [...new Set(files)], notes, missing };
}

/** Runs the checker; returns the exit code (0: every file valid, 1: otherwise). */
export function main(argv: string[], io: CheckIo = consoleIo): number {
  const cwd = io.cwd ?? process.cwd();
  const show = (abs: string): string => {
    const rel = path.relative(cwd, abs);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out('usage: npm run bank:check [files or directories...]   (default: question-bank/banks)');
    return 0;
  }
  const { files, notes, missing } = expandArgs(argv.length > 0 ? argv : [bundledBanksDir], cwd);
  for (const n of notes) io.out(n);
  let failed = missing.length > 0;
  for (const m of missing) io.err(`${m}: no such file or directory`);
  if (files.length === 0 && !failed) {
    io.err(`no bank files found in ${argv.length > 0 ? argv.join(' ') : show(bundledBanksDir)}`);
    return 1;
  }

  let errorCount = 0;
  let okCount = 0;
  for (const file of files) {
    const display = show(file);
    const result = GIFT_RE.test(file) ? checkGiftFile(file, display) : loadBankFile(file, display);
    for (const w of result.warnings) io.out(formatCliError(w, 'warning'));
    for (const e of result.errors) io.err(formatCliError(e));
    errorCount += result.errors.length;
    if (result.bank && result.errors.length === 0) {
      okCount++;
      io.out(summary(display, result.bank));
    } else failed = true;
  }
  const badFiles = files.length - okCount;
  if (badFiles > 0 || failed)
    io.err(`${errorCount} error${errorCount === 1 ? '' : 's'} in ${badFiles} of ${files.length} file${files.length === 1 ? '' : 's'}`);
  else io.out(`all ${files.length} file${files.length === 1 ? '' : 's'} valid`);
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
