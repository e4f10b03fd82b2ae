export type JsonParse =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line?: number; column?: number };

/**
 * JSON.parse, plus the line and column of a syntax error. V8 reports either
 * "(line L column C)" (newer Node) or "at position N" (Node 20); an error at the very end
 * carries neither, so it is placed after the last character.
 */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    if (lineColumn) return { ok: false, message, line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    if (offset === undefined) return { ok: false, message };
    return { ok: false, message, ...lineColumnAt(text, offset) };
  }
}

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] ?? '').length + 1 };
}
