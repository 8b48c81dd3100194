/**
 * Finds the first syntax error in a JSON text, with its offset.
 *
 * `JSON.parse` on Node 20 does not always say where the problem is ("Unexpected token '}',
 * "{"a": }" is not valid JSON"), so bank files ending in .json are scanned with this small
 * recursive-descent checker, which knows exactly where it stopped.
 */
export interface JsonSyntaxError {
  offset: number;
  message: string;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  let depth = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const show = (): string => {
    if (i >= text.length) return 'the end of the file';
    const token = /^("(?:[^"\\\n]|\\.){0,30}"?|[\w.+-]{1,30}|[^\s])/.exec(text.slice(i, i + 40))?.[0] ?? text[i]!;
    return token.startsWith('"') ? token : JSON.stringify(token);
  };
  /** After a value, a line break then something that is not "," or the closing bracket: a forgotten comma. */
  const missingComma = (valueEnd: number, close: string): void => {
    if (i < text.length && text[i] !== close && text.slice(valueEnd, i).includes('\n'))
      throw new Stop(valueEnd, `missing "," after this value (the next ${close === '}' ? 'property' : 'item'} starts on the following line)`);
  };
  const fail = (what: string): never => {
    throw new Stop(i, `${what}, found ${show()}`);
  };

  const string = (): void => {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= text.length) throw new Stop(start, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x0a || c === 0x0d) throw new Stop(i, 'line break inside a string (write \\n)');
      if (c < 0x20) throw new Stop(i, 'control character inside a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'invalid \\u escape (expected 4 hex digits)');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Stop(i, `invalid escape "\\${e ?? ''}" in a string`);
      } else i++;
    }
  };

  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('expected a number');
    i += m[0].length;
  };

  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') object();
    else if (c === '[') array();
    else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else {
      for (const word of ['true', 'false', 'null']) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return;
        }
      }
      if (c === "'") fail('strings must use double quotes');
      fail('expected a value (text in double quotes, a number, true, false, null, { or [)');
    }
  };

  const enter = (): void => {
    if (++depth > 200) throw new Stop(i, 'nesting too deep');
  };

  const object = (): void => {
    enter();
    i++; // {
    ws();
    if (text[i] === '}') {
      i++;
      depth--;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') {
        if (text[i] === '}') throw new Stop(i, 'trailing comma before "}" (JSON does not allow one)');
        fail('expected a property name in double quotes');
      }
      string();
      ws();
      if (text[i] !== ':') fail('expected ":" after the property name');
      i++;
      value();
      const end = i;
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      missingComma(end, '}');
      if (text[i] === '}') {
        i++;
        depth--;
        return;
      }
      fail('expected "," or "}" after a property value');
    }
  };

  const array = (): void => {
    enter();
    i++; // [
    ws();
    if (text[i] === ']') {
      i++;
      depth--;
      return;
    }
    for (;;) {
      ws();
      if (text[i] === ']') throw new Stop(i, 'trailing comma before "]" (JSON does not allow one)');
      value();
      const end = i;
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      missingComma(end, ']');
      if (text[i] === ']') {
        i++;
        depth--;
        return;
      }
      fail('expected "," or "]" after a list item');
    }
  };

  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1; // byte-order mark
    value();
    ws();
    if (i < text.length) fail('unexpected text after the end of the JSON value');
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: `JSON syntax error: ${e.message}` };
    throw e;
  }
}
