/**
 * Refuses a YAML/JSON bank upload nested deeper than MAX_UPLOAD_NESTING before it reaches the
 * YAML parser. yaml's composer recurses once per nesting level and relies on catching the stack
 * overflow; with the stack exhausted, V8 may then have to compile a regular expression and
 * aborts the whole process ("RegExpCompiler Allocation failed - process out of memory"): two
 * uploads of 1000 "[" (4 KB) killed the server and every live session with it
 * (tests/hardening/fuzz-upload.test.ts).
 *
 * yaml's lexer is iterative, so it measures the depth safely: flow collections exactly, block
 * collections by an upper bound (the open indentation levels, twice since a sequence may sit at
 * its key's indentation, plus the indicators on the line). Real banks are about 10 deep.
 *
 * The check belongs in question-bank's checkBankSource (the CLI shares the parser); it is here
 * because the server is what must not go down.
 */
import { CST, Lexer } from 'yaml';
import type { BankError } from '@quizroom/question-bank';

export const MAX_UPLOAD_NESTING = 100;

export function yamlNestingError(text: string, file: string, limit = MAX_UPLOAD_NESTING): BankError | null {
  let flow = 0;
  const indents: number[] = [];
  let atLineStart = true;
  let indent = 0;
  let indicators = 0;
  let line = 1;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'doc-mode' || type === 'byte-order-mark') continue;
    const newlines = countNewlines(token);
    if (type === 'newline' || (type === 'space' && newlines > 0)) {
      // A line break, or the content of a block scalar (which ends with one).
      line += newlines;
      atLineStart = true;
      indent = 0;
      indicators = 0;
      continue;
    }
    if (type === 'space' || type === 'comment') {
      if (atLineStart && type === 'space') indent = token.length;
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
    }
    switch (type) {
      case 'flow-map-start':
      case 'flow-seq-start':
        flow++;
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        if (flow > 0) flow--;
        break;
      case 'flow-error-end':
        flow = 0;
        break;
      case 'doc-start':
      case 'doc-end':
        flow = 0;
        indents.length = 0;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flow === 0) indicators++;
        break;
    }
    if (2 * indents.length + indicators + flow > limit)
      return { file, line, column: 1, path: '', message: `refused: the file is nested more than ${limit} levels deep (a bank needs about 10)` };
    line += newlines; // a multi-line scalar
  }
  return null;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
