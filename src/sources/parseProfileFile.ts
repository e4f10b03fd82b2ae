import { AgentError, ExitCode } from '../errors.js';

export type ProfileSections = Record<string, Record<string, string>>;

const BLANK_OR_COMMENT = /^\s*([#;].*)?$/;
const SECTION = /^\s*\[\s*([^\]\s][^\]]*?)\s*\]\s*([#;].*)?$/;
const KEY_VALUE = /^(\s*)([^=\s[][^=]*?)\s*=(.*)$/;

/**
 * Parses an AWS shared credentials/config file with the AWS CLI's rules: comments only on
 * their own line, each value taken verbatim after the first `=` (a `;` or `#` inside it is
 * data, as in `credential_process = sh -c "a; b"`), indented lines under an empty value are
 * a nested block (`s3 =`), repeated sections merge. Generic INI parsers (the `ini` package)
 * strip inline comments, coerce `true`/`false`, nest dotted section names and unquote values,
 * which changes what the CLI would read, so this small parser is the source of truth.
 *
 * A bad line is reported by file and line number; its content is never echoed because it may
 * hold a secret.
 */
export function parseProfileFile(path: string, text: string): ProfileSections {
  const sections: ProfileSections = {};
  let current: Record<string, string> | undefined;
  let inNestedBlock = false;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (BLANK_OR_COMMENT.test(line)) continue;
    const section = SECTION.exec(line);
    if (section) {
      const name = section[1]!;
      current = sections[name] ??= {};
      inNestedBlock = false;
      continue;
    }
    const pair = KEY_VALUE.exec(line);
    if (!pair) throw malformed(path, index + 1, 'expected "[section]" or "key = value"');
    const [, indent, key, rawValue] = pair;
    if (!current) throw malformed(path, index + 1, 'a "key = value" line before any [section]');
    if (indent && inNestedBlock) continue; // settings of a nested block (s3 = …), not profile keys
    const value = rawValue!.trim();
    current[key!] = value;
    inNestedBlock = value === '';
  }
  return sections;
}

function malformed(path: string, line: number, expected: string): AgentError {
  return new AgentError(`${path}:${line}: malformed line; ${expected}`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'file-malformed',
    transient: true,
  });
}

/**
 * Finds a profile's section: `[name]` in the credentials file; in the config file
 * `[profile name]`, or `[name]` for `default` only, as the AWS CLI does.
 */
export function profileSection(sections: ProfileSections, profile: string, isConfigFile: boolean): Record<string, string> | undefined {
  if (!isConfigFile) return sections[profile];
  return sections[`profile ${profile}`] ?? (profile === 'default' ? sections.default : undefined);
}
