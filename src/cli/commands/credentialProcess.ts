import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings } from '../commandSetup.js';
import { printCredentialProcess } from '../printCredentialProcess.js';

export function registerCredentialProcess(program: Command, deps: CommandDeps): void {
  program
    .command('credential-process')
    .description('print credentials as credential_process JSON (Version 1, with Expiration)')
    .option('--role <name>', 'a named role from the roles setting instead of the machine role')
    .addHelpText(
      'after',
      '\nUse it from ~/.aws/config so any SDK or the AWS CLI gets the machine role:\n' +
        '  [profile machine]\n' +
        '  credential_process = appstream-creds credential-process\n\n' +
        'It reads the appstream_machine_role profile directly (or asks the running agent) and\n' +
        'exits 5 rather than print expired credentials.\n' +
        '\nA named role (setting roles), e.g. for a read-only reporting profile:\n' +
        '  [profile reporting]\n' +
        '  credential_process = appstream-creds --config /etc/appstream-creds.json credential-process --role reporting\n' +
        'An unknown role exits 2.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { role?: string }, command: Command) => {
        return printCredentialProcess(commandSettings(command, deps), deps, opts.role);
      }),
    );
}
