/**
 * Text that reaches a terminal from input (profile files, policies, SAML responses, paths) must
 * not carry control characters: an ESC sequence in a SAML attribute cleared the screen and faked
 * "0 errors". Each control character is shown as a visible escape instead, so the reader still
 * sees that the input held one.
 */

// C0 (but tab), DEL and C1. C1 matters: some terminals read U+009B as CSI.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const visible = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** One field (a message, a path, a value): every control character, newline included, made visible. */
export const printableField = (text: string): string => text.replace(CONTROL, visible);

/** Whole output (lines already joined): newlines and tabs kept, every other control made visible. */
export const printableLines = (text: string): string => text.replace(CONTROL_BUT_NEWLINE, visible);

/** JSON for a terminal: JSON.stringify leaves DEL and C1 raw; escaping them keeps the same value. */
export const terminalSafeJson = (json: string): string => json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The first control character in a value, for refusing it (exit 2) where it cannot be quoted. */
export function firstControlCharacter(value: string): string | undefined {
  const found = /[\u0000-\u001f\u007f-\u009f]/.exec(value);
  return found?.[0];
}
