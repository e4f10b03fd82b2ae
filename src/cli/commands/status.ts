import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { agentFileTrust, commandIdentity, commandSettings, commandSource } from '../commandSetup.js';
import { instanceReport } from '../../identity/appStreamIdentity.js';
import { ExitCode } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { renderStatus } from '../../tracker/describeTracker.js';
import { currentStatus } from '../../client/currentStatus.js';

export function registerStatus(program: Command, deps: CommandDeps): void {
  program
    .command('status')
    .description("show the credentials' state, generation and timings (never a secret)")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nAsks the running agent when there is one (see <state-dir>/agent.json), else reads the profile.\n' +
        '\nExamples:\n  appstream-creds status\n  appstream-creds status --json | jq .state\n\n' +
        'Exit code 0 while usable credentials exist (ready, refresh-overdue, expiring); 5 otherwise.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { json?: boolean }, command: Command) => {
        const settings = commandSettings(command, deps);
        const instance = instanceReport(commandIdentity(settings, deps), settings.region, settings.origins?.region);
        const { status, usable } = await currentStatus(settings, { source: commandSource(settings, deps).resolve, clock: systemClock, instance, agentTrust: agentFileTrust(settings, deps) });
        deps.ctx.io.stdout(opts.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
        return usable ? ExitCode.ok : ExitCode.credentialsUnavailable;
      }),
    );
}
