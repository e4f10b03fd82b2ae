import { JsonPositionError, lineColumn, parseJsonWithPositions } from '../../config/parseJsonWithPositions.js';

export type JsonParse =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line?: number; column?: number };

/**
 * JSON.parse, plus the line and column of a syntax error. V8 reports "(line L column C)" in
 * newer Node and "at position N" for some errors in Node 20, but nothing for an unexpected
 * token; then a small scanner finds the offset itself.
 */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    const reported = /line (\d+) column (\d+)/.exec(message);
    if (reported) return { ok: false, message, line: Number(reported[1]), column: Number(reported[2]) };
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : jsonErrorOffset(text);
    if (offset === undefined) return { ok: false, message };
    return { ok: false, message, ...lineColumn(text, offset) };
  }
}

/** Offset of the first syntax error, from the settings loader's scanner (the one JSON grammar walk). */
function jsonErrorOffset(text: string): number | undefined {
  try {
    parseJsonWithPositions(text);
    return undefined;
  } catch (error) {
    return error instanceof JsonPositionError ? error.offset : undefined;
  }
}
