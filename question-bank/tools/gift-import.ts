/**
 * `npm run bank:import-gift -- in.gift [--out out.yaml] [--id bank-id] [--title "Bank title"]
 *                                     [--description "..."] [--language en]`
 *
 * Converts a Moodle GIFT file to a Quizroom bank and prints it as YAML (or writes it to
 * --out). Warnings (placeholder rubrics, dropped partial-credit answers…) go to stderr; on
 * any error, the errors are printed with their line numbers and nothing is written (exit 1).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Document, isMap, isSeq, visit } from 'yaml';
import { formatCliError } from './bank-check.ts';
import { giftToBank } from './gift.ts';
import type { GiftOptions } from './gift.ts';
import { bundledBanksDir, MAX_BANK_BYTES } from './load-bank.ts';

export interface ImportIo {
  out: (text: string) => void;
  err: (line: string) => void;
  cwd?: string;
}

const consoleIo: ImportIo = { out: (t) => process.stdout.write(t), err: (l) => console.error(l) };

const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schema/bank.schema.json');

const USAGE =
  'usage: npm run bank:import-gift -- in.gift [--out out.yaml] [--id bank-id] [--title "Title"] [--description "..."] [--language en]';

/** The YAML text of a converted bank, with the editor-schema comment for its destination directory. */
export function bankToYaml(bank: unknown, destinationDir: string = bundledBanksDir): string {
  const rel = path.relative(destinationDir, schemaFile).split(path.sep).join('/');
  const doc = new Document(bank);
  // Short bookkeeping fields on one line: `source: { file: x.gift, section: ... }`, `tags: [a, b]`.
  visit(doc, {
    Pair(_, pair) {
      const key = String((pair.key as { value?: unknown } | null)?.value ?? '');
      if ((key === 'source' && isMap(pair.value)) || (key === 'tags' && isSeq(pair.value))) pair.value.flow = true;
    },
  });
  return `# yaml-language-server: $schema=${rel}\n${doc.toString({ lineWidth: 0 })}`;
}

/** Runs the importer; returns the exit code. */
export function main(argv: string[], io: ImportIo = consoleIo): number {
  const cwd = io.cwd ?? process.cwd();
  const flags: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const m = /^--(out|id|title|description|language)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined) {
        io.err(`missing value after ${a}\n${USAGE}`);
        return 1;
      }
      flags[m[1]!] = value;
    } else if (a.startsWith('--')) {
      io.err(`unknown option ${a}\n${USAGE}`);
      return 1;
    } else positional.push(a);
  }
  if (positional.length !== 1) {
    io.err(USAGE);
    return 1;
  }
  const input = path.resolve(cwd, positional[0]!);
  let text: string;
  try {
    if (statSync(input).size > MAX_BANK_BYTES) {
      io.err(`${positional[0]}: refused: GIFT files are limited to 1 MB`);
      return 1;
    }
    text = readFileSync(input, 'utf8');
  } catch (e) {
    io.err(`${positional[0]}: cannot read the file: ${(e as Error).message}`);
    return 1;
  }

  const options: GiftOptions = { fileName: positional[0]! };
  if (flags.id !== undefined) options.id = flags.id;
  if (flags.title !== undefined) options.title = flags.title;
  if (flags.description !== undefined) options.description = flags.description;
  if (flags.language !== undefined) options.language = flags.language;
  const { bank, errors, warnings } = giftToBank(text, options);
  for (const w of warnings) io.err(formatCliError(w, 'warning'));
  for (const e of errors) io.err(formatCliError(e));
  if (!bank) {
    io.err(`${errors.length} error${errors.length === 1 ? '' : 's'}: nothing written`);
    return 1;
  }
  if (flags.out !== undefined) {
    const out = path.resolve(cwd, flags.out);
    writeFileSync(out, bankToYaml(bank, path.dirname(out)));
    io.err(`wrote ${flags.out}: ${bank.questions.length} question${bank.questions.length === 1 ? '' : 's'}`);
  } else io.out(bankToYaml(bank));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
