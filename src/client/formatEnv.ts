export const ENV_FORMATS = ['bash', 'powershell', 'cmd', 'fish', 'dotenv'] as const;
export type EnvFormat = (typeof ENV_FORMATS)[number];

const posixQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
// fish reads \\ and \' as escapes inside single quotes, so both are escaped (POSIX quoting would
// turn a trailing backslash into an unterminated string).
const fishQuote = (value: string): string => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
const psQuote = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Renders variables so the target shell sets them verbatim; values are quoted for each shell. */
export function formatEnv(vars: Record<string, string>, format: EnvFormat): string {
  const lines = Object.entries(vars).map(([name, value]) => {
    switch (format) {
      case 'bash':
        return `export ${name}=${posixQuote(value)}`;
      case 'fish':
        return `set -gx ${name} ${fishQuote(value)}`;
      case 'powershell':
        return `$Env:${name} = ${psQuote(value)}`;
      case 'cmd':
        // cmd has no quoting for set; credential values never contain its special characters.
        return `set "${name}=${value}"`;
      case 'dotenv':
        return `${name}=${JSON.stringify(value)}`;
    }
  });
  return `${lines.join('\n')}\n`;
}

export function detectEnvFormat(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): EnvFormat {
  if (platform === 'win32') return env.PSModulePath ? 'powershell' : 'cmd';
  return (env.SHELL ?? '').endsWith('fish') ? 'fish' : 'bash';
}
