import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings, directSource, trackerFor } from '../setup.js';
import { ExitCode, isAgentError } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { describeTracker, renderStatus } from '../describeTracker.js';

export function registerStatus(program: Command, deps: CommandDeps): void {
  program
    .command('status')
    .description("show the credentials' state, generation and timings (never a secret)")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  appstream-creds status\n  appstream-creds status --json | jq .state\n\n' +
        'Exit code 0 while usable credentials exist (ready, refresh-overdue, expiring); 5 otherwise.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { json?: boolean }, command: Command) => {
        const settings = commandSettings(command, deps);
        const tracker = trackerFor(settings, systemClock, undefined, true);
        try {
          tracker.observe(await directSource(settings, deps)());
        } catch (error) {
          if (!isAgentError(error) || error.exitCode === ExitCode.usage) throw error;
          tracker.reportFailure({ code: error.code, message: error.message });
        }
        const status = describeTracker(tracker, systemClock.now(), { profile: settings.profile, mode: 'direct' });
        deps.ctx.io.stdout(opts.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
        return tracker.current() ? ExitCode.ok : ExitCode.credentialsUnavailable;
      }),
    );
}
