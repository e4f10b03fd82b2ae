/**
 * JSON.parse that reports where, never what: V8's messages quote the text around a syntax
 * error, and a settings file may hold a secret a user pasted by mistake. This scanner finds the
 * offset of the first error and the offset of each top-level key, so messages can name
 * "line 3, column 7" alone.
 */
export interface PositionedJson {
  value: unknown;
  /** Offset of each top-level key of an object document. */
  keyOffsets: Map<string, number>;
}

export class JsonPositionError extends Error {
  constructor(readonly offset: number, readonly what: string) {
    super(what);
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

export function parseJsonWithPositions(text: string): PositionedJson {
  const keyOffsets = new Map<string, number>();
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonPositionError(i, what);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i += 1;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail('unexpected character');
  };
  const string = (): void => {
    i += 1; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i += 1;
        return;
      }
      if (c < ' ') fail('control character in a string');
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else fail('bad escape');
      } else i += 1;
    }
    fail('unterminated string');
  };
  const number = (): void => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail('bad number');
    i += match![0].length;
  };
  const value = (depth: number): void => {
    ws();
    if (depth > 64) fail('nested too deeply');
    const c = text[i];
    if (c === '{') object(depth);
    else if (c === '[') array(depth);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail(c === undefined ? 'unexpected end of the file' : 'unexpected character');
  };
  const object = (depth: number): void => {
    i += 1;
    ws();
    if (text[i] === '}') {
      i += 1;
      return;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a "quoted" key');
      const start = i;
      string();
      if (depth === 0) keyOffsets.set(JSON.parse(text.slice(start, i)) as string, start);
      ws();
      if (text[i] !== ':') fail('expected ":"');
      i += 1;
      value(depth + 1);
      ws();
      if (text[i] === ',') i += 1;
      else if (text[i] === '}') {
        i += 1;
        return;
      } else fail('expected "," or "}"');
    }
  };
  const array = (depth: number): void => {
    i += 1;
    ws();
    if (text[i] === ']') {
      i += 1;
      return;
    }
    for (;;) {
      value(depth + 1);
      ws();
      if (text[i] === ',') i += 1;
      else if (text[i] === ']') {
        i += 1;
        return;
      } else fail('expected "," or "]"');
    }
  };
  value(0);
  ws();
  if (i < text.length) fail('unexpected text after the end');
  // The scan accepted it, so JSON.parse cannot throw (and builds the value natively).
  return { value: JSON.parse(text) as unknown, keyOffsets };
}
