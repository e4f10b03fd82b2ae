import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings } from '../commandSetup.js';
import { printCredentialProcess } from '../printCredentialProcess.js';

export function registerCredentialProcess(program: Command, deps: CommandDeps): void {
  program
    .command('credential-process')
    .description('print credentials as credential_process JSON (Version 1, with Expiration)')
    .addHelpText(
      'after',
      '\nUse it from ~/.aws/config so any SDK or the AWS CLI gets the machine role:\n' +
        '  [profile machine]\n' +
        '  credential_process = appstream-creds credential-process\n\n' +
        'It reads the appstream_machine_role profile directly (or asks the running agent) and\n' +
        'exits 5 rather than print expired credentials.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (_opts: unknown, command: Command) => {
        return printCredentialProcess(commandSettings(command, deps), deps);
      }),
    );
}
