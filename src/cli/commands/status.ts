import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings, directSource, trackerFor } from '../setup.js';
import { ExitCode, isAgentError } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { describeTracker, renderStatus, type StatusReport } from '../../tracker/describeTracker.js';
import { findRunningAgent, get } from '../agentClient.js';

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
        const agent = await findRunningAgent(settings.stateDir);
        const fromAgent = agent ? await get(`${agent.discovery.url}/v1/status`, { authorization: agent.token }, 3_000).catch(() => undefined) : undefined;
        if (fromAgent?.status === 200) {
          const status = JSON.parse(fromAgent.body) as StatusReport;
          deps.ctx.io.stdout(opts.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
          return status.current ? ExitCode.ok : ExitCode.credentialsUnavailable;
        }
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
