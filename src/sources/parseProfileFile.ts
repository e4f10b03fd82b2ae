import { parse } from 'ini';
import { AgentError, ExitCode } from '../errors.js';

export type ProfileSections = Record<string, Record<string, string>>;

const BLANK_OR_COMMENT = /^\s*([#;].*)?$/;
const SECTION = /^\s*\[\s*[^\]\s][^\]]*\]\s*([#;].*)?$/;
const KEY_VALUE = /^\s*[^=\s[][^=]*=.*$/;

/**
 * Parses an AWS shared credentials/config file. The `ini` package accepts anything, so each
 * line is checked first and a bad one is reported by file and line number; the line's content
 * is never echoed because it may hold a secret.
 */
export function parseProfileFile(path: string, text: string): ProfileSections {
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (BLANK_OR_COMMENT.test(line) || SECTION.test(line) || KEY_VALUE.test(line)) continue;
    throw new AgentError(`${path}:${index + 1}: malformed line; expected "[section]" or "key = value"`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'file-malformed',
      transient: true,
    });
  }
  const sections: ProfileSections = {};
  // `ini` nests sections on dots ([profile a.b] -> {"profile a": {b: {...}}}); profile names
  // may contain dots, so the nesting is folded back into the original names.
  const collect = (prefix: string, body: Record<string, unknown>): void => {
    const values: Record<string, string> = {};
    let hasValues = false;
    let hasNested = false;
    for (const [key, value] of Object.entries(body)) {
      if (typeof value === 'string') {
        values[key.trim()] = value.trim();
        hasValues = true;
      } else if (value && typeof value === 'object' && !Array.isArray(value)) {
        hasNested = true;
        collect(`${prefix}.${key}`, value as Record<string, unknown>);
      }
    }
    if (hasValues || !hasNested) sections[prefix.trim()] = values;
  };
  for (const [name, body] of Object.entries(parse(text) as Record<string, unknown>)) {
    if (body && typeof body === 'object' && !Array.isArray(body)) collect(name, body as Record<string, unknown>);
  }
  return sections;
}

/** Finds a profile's section: `[name]` in the credentials file, `[profile name]` in config. */
export function profileSection(sections: ProfileSections, profile: string, isConfigFile: boolean): Record<string, string> | undefined {
  if (isConfigFile) return sections[`profile ${profile}`] ?? sections[profile];
  return sections[profile];
}
