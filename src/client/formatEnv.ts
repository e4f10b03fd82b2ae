import { usageError } from '../errors.js';
import { firstControlCharacter } from '../terminalText.js';

export const ENV_FORMATS = ['bash', 'powershell', 'cmd', 'fish', 'dotenv'] as const;
export type EnvFormat = (typeof ENV_FORMATS)[number];

// POSIX single quotes take every character literally but the quote itself (bash, dash, zsh, and
// `set -a; . file` for dotenv); `!` is not history-expanded inside them.
const posixQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
// fish reads \\ and \' as escapes inside single quotes, so both are escaped (POSIX quoting would
// turn a trailing backslash into an unterminated string).
const fishQuote = (value: string): string => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
// PowerShell also ends a single-quoted string at the typographic single quotes U+2018..U+201B;
// each quote character is doubled to stand for itself.
const psQuote = (value: string): string => `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (c) => c + c)}'`;

/**
 * cmd, for a batch file that is `call`ed: `%` is doubled (percent expansion runs first, quoted or
 * not). In `set "N=V"` the quote state toggles at every `"`; inside quotes `& | < > ^ ( )` are
 * literal, outside they would run commands, so there they get cmd's escape `^`. `set` keeps
 * everything up to the last quote, embedded quotes included. Delayed expansion (`!`) is off by
 * default in cmd and stays the caller's choice: with it on, `!` in a value is expanded.
 */
function cmdSet(name: string, value: string): string {
  let inQuotes = true;
  let out = '';
  for (const c of value) {
    if (c === '%') out += '%%';
    else if (c === '"') {
      inQuotes = !inQuotes;
      out += c;
    } else if (!inQuotes && '&|<>^()'.includes(c)) out += `^${c}`;
    else out += c;
  }
  return `set "${name}=${out}"`;
}

function refuseControl(name: string, value: string): void {
  const control = firstControlCharacter(value);
  if (control !== undefined) {
    // The value itself is never echoed: it may be a secret.
    const code = `U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    throw usageError(`${name} holds a control character (${code}); no shell format can carry it safely, so nothing was printed`, 'control-character');
  }
}

/**
 * Renders variables so the target shell sets them verbatim and runs nothing: quoted for each
 * shell; a value with a control character is refused (exit 2) rather than printed.
 */
export function formatEnv(vars: Record<string, string>, format: EnvFormat): string {
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw usageError(`"${name}" is not a variable name`);
    refuseControl(name, value);
  }
  const lines = Object.entries(vars).map(([name, value]) => {
    switch (format) {
      case 'bash':
        return `export ${name}=${posixQuote(value)}`;
      case 'fish':
        return `set -gx ${name} ${fishQuote(value)}`;
      case 'powershell':
        return `$Env:${name} = ${psQuote(value)}`;
      case 'cmd':
        return cmdSet(name, value);
      case 'dotenv':
        return `${name}=${posixQuote(value)}`;
    }
  });
  return `${lines.join('\n')}\n`;
}

export function detectEnvFormat(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): EnvFormat {
  if (platform === 'win32') return env.PSModulePath ? 'powershell' : 'cmd';
  return (env.SHELL ?? '').endsWith('fish') ? 'fish' : 'bash';
}
