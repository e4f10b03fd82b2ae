import { AgentError, ExitCode } from '../errors.js';

export type ProfileSections = Record<string, Record<string, string>>;

/**
 * Parses an AWS shared credentials/config file with the AWS CLI's rules: comments only on
 * their own line, each value taken verbatim after the first `=` (a `;` or `#` inside it is
 * data, as in `credential_process = sh -c "a; b"`), indented lines under an empty value are
 * a nested block (`s3 =`). A section that appears twice is refused, as the AWS CLI does
 * (merging would pair one section's key id with the other's secret). Generic INI parsers (the
 * `ini` package) strip inline comments, coerce `true`/`false`, nest dotted section names and
 * unquote values, which changes what the CLI would read, so this small parser is the source
 * of truth. It scans each line once with indexOf/trim (no backtracking regex), so its time is
 * linear in the file's size.
 *
 * A bad line is reported by file and line number; its content is never echoed because it may
 * hold a secret.
 */
export function parseProfileFile(path: string, text: string): ProfileSections {
  const sections: ProfileSections = {};
  const sectionLines = new Map<string, number>();
  let current: Record<string, string> | undefined;
  let inNestedBlock = false;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed[0] === '#' || trimmed[0] === ';') continue;
    if (trimmed[0] === '[') {
      const close = trimmed.indexOf(']');
      const name = close === -1 ? '' : trimmed.slice(1, close).trim();
      const rest = close === -1 ? '' : trimmed.slice(close + 1).trim();
      if (name === '' || (rest !== '' && rest[0] !== '#' && rest[0] !== ';')) throw malformed(path, index + 1, 'expected "[section]" or "key = value"');
      const firstLine = sectionLines.get(name);
      if (firstLine !== undefined) throw duplicate(path, name, firstLine, index + 1);
      sectionLines.set(name, index + 1);
      current = sections[name] = {};
      inNestedBlock = false;
      continue;
    }
    const eq = line.indexOf('=');
    const key = eq === -1 ? '' : line.slice(0, eq).trim();
    if (key === '') throw malformed(path, index + 1, 'expected "[section]" or "key = value"');
    if (!current) throw malformed(path, index + 1, 'a "key = value" line before any [section]');
    const indented = line[0] === ' ' || line[0] === '\t';
    if (indented && inNestedBlock) continue; // settings of a nested block (s3 = …), not profile keys
    const value = line.slice(eq + 1).trim();
    current[key] = value;
    inNestedBlock = value === '';
  }
  return sections;
}

function duplicate(path: string, name: string, first: number, second: number): AgentError {
  return new AgentError(`${path}: section [${name}] appears twice (lines ${first} and ${second}); remove one, as the AWS CLI refuses such a file too`, {
    exitCode: ExitCode.credentialsUnavailable,
    code: 'file-duplicate-section',
  });
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
