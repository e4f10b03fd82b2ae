import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandLogger, commandSettings, commandSourceFor, agentFileTrust } from '../commandSetup.js';
import { currentCredentials } from '../../client/currentCredentials.js';
import { credentialVars } from '../../client/credentialVars.js';
import { ENV_FORMATS, detectEnvFormat, formatEnv, type EnvFormat } from '../../client/formatEnv.js';
import { ExitCode } from '../../errors.js';

export function registerEnv(program: Command, deps: CommandDeps): void {
  program
    .command('env')
    .description('print AWS_* variables for the current shell')
    .addOption(new Option('--format <format>', 'shell syntax (default: detected)').choices(ENV_FORMATS))
    .option('--role <name>', 'a named role from the roles setting instead of the machine role')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  eval "$(appstream-creds env)"                                  # bash\n' +
        '  appstream-creds env --format powershell | Invoke-Expression    # PowerShell\n\n' +
        'The variables are a snapshot: they stop working when these credentials expire.\n' +
        'For long-running programs prefer `appstream-creds exec` with the agent running.\n' +
        '\n  eval "$(appstream-creds env --role reporting)"                 # a named role (setting roles)\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { format?: EnvFormat; role?: string }, command: Command) => {
        const settings = commandSettings(command, deps);
        const source = commandSourceFor(settings, deps, opts.role);
        const { credentials } = await currentCredentials(settings, { source: source.resolve, logger: await commandLogger(settings, 'warn'), agentTrust: agentFileTrust(settings, deps), role: opts.role });
        const format = opts.format ?? detectEnvFormat(deps.ctx.env, deps.ctx.platform);
        deps.ctx.io.stdout(formatEnv(credentialVars(credentials, settings.region), format));
        return ExitCode.ok;
      }),
    );
}
