import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandLogger, commandSettings, commandSourceFor, agentFileTrust } from '../commandSetup.js';
import { currentCredentials } from '../../client/currentCredentials.js';
import { execWithCredentials } from '../../client/execWithCredentials.js';

export function registerExec(program: Command, deps: CommandDeps): void {
  program
    .command('exec')
    .description('run a command with the machine-role credentials in its environment')
    .argument('<command...>', 'the command and its arguments (after --)')
    // Without --, the command's own options (ls -d) reach this tool's parser and fail there.
    .showHelpAfterError('(put -- before the command, so its options stay its own: appstream-creds exec -- ls -d /)')
    .option('--role <name>', 'a named role from the roles setting instead of the machine role')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  appstream-creds exec -- aws sts get-caller-identity\n' +
        '  appstream-creds exec -- python3 sync.py --bucket reports\n\n' +
        'With the agent running, the child gets AWS_CONTAINER_CREDENTIALS_FULL_URI and\n' +
        'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, so it follows refreshes however long it runs;\n' +
        'otherwise static AWS_* variables, valid until AWS_CREDENTIAL_EXPIRATION.\n' +
        "The child's exit code is passed through; SIGINT/SIGTERM/SIGHUP are forwarded to it.\n" +
        'As in shells: 127 when the command is not found, 126 when it cannot be run.\n' +
        '\n  appstream-creds exec --role reporting -- python3 report.py     # a named role (setting roles):\n' +
        "  the child's endpoint is the agent's /v1/roles/reporting/credentials\n",
    )
    .action(
      runAction(deps.ctx, deps.slot, async (argv: string[], opts: { role?: string }, command: Command) => {
        const settings = commandSettings(command, deps);
        const source = commandSourceFor(settings, deps, opts.role);
        const logger = await commandLogger(settings, 'warn');
        const current = await currentCredentials(settings, { source: source.resolve, logger, agentTrust: agentFileTrust(settings, deps), role: opts.role });
        return execWithCredentials({ argv, settings, env: deps.ctx.env, current, onSignal: (signal, handler) => deps.ctx.onSignal(signal, handler) });
      }),
    );
}
