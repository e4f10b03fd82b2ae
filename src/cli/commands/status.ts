import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { agentFileTrust, commandIdentity, commandSettings, commandSource } from '../commandSetup.js';
import { instanceReport } from '../../identity/appStreamIdentity.js';
import { ExitCode } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { renderStatus } from '../../tracker/describeTracker.js';
import { currentStatus } from '../../client/currentStatus.js';
import { parseDuration } from '../../config/duration.js';
import { usageError } from '../../errors.js';

/** Clear the screen and go home: --watch redraws in place on a terminal. */
const REDRAW = '\u001b[H\u001b[2J';

export function registerStatus(program: Command, deps: CommandDeps): void {
  program
    .command('status')
    .description("show the credentials' state, generation and timings (never a secret)")
    .option('--json', 'print JSON')
    .option('--watch', 'redraw every --every until Ctrl-C (on a terminal; elsewhere, print each change)')
    .option('--every <duration>', 'how often --watch asks again (default 2s)')
    .addHelpText(
      'after',
      '\nAsks the running agent when there is one (see <state-dir>/agent.json), else reads the profile.\n' +
        'Below the facts, a timeline draws each generation from first seen ([) to expiry (]):\n' +
        '  = valid   ~ expiring window (last expiryWarning)   | now   (an expired row is dim)\n' +
        '  ^ next refresh due, - its grace (refreshGrace), ! overdue\n' +
        'Colour only when stdout is a terminal and NO_COLOR is unset; --json is the same report as GET /v1/status.\n' +
        '\nExamples:\n  appstream-creds status\n  appstream-creds status --watch\n  appstream-creds status --json | jq .state\n\n' +
        'Exit code 0 while usable credentials exist (ready, refresh-overdue, expiring); 5 otherwise.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: { json?: boolean; watch?: boolean; every?: string }, command: Command) => {
        const settings = commandSettings(command, deps);
        const everyMs = opts.every === undefined ? 2_000 : parseDuration(opts.every, '--every');
        if (everyMs < 200) throw usageError('--every: at least 200ms');
        const { ctx } = deps;
        const once = async (): Promise<{ text: string; usable: boolean }> => {
          const instance = instanceReport(commandIdentity(settings, deps), settings.region, settings.origins?.region);
          const { status, usable } = await currentStatus(settings, { source: commandSource(settings, deps).resolve, clock: systemClock, instance, agentTrust: agentFileTrust(settings, deps) });
          if (opts.json) return { text: `${JSON.stringify(status, null, 2)}\n`, usable };
          const timeline = { now: systemClock.now(), expiryWarningMs: settings.expiryWarning, refreshGraceMs: settings.refreshGrace, colour: ctx.isTTY && !ctx.env.NO_COLOR };
          return { text: renderStatus(status, timeline), usable };
        };
        if (!opts.watch) {
          const { text, usable } = await once();
          ctx.io.stdout(text);
          return usable ? ExitCode.ok : ExitCode.credentialsUnavailable;
        }
        // --watch: until SIGINT/SIGTERM; the exit code is the last report's.
        const stop = new AbortController();
        const off = [ctx.onSignal('SIGINT', () => stop.abort()), ctx.onSignal('SIGTERM', () => stop.abort())];
        let last = '';
        let usable = false;
        try {
          while (!stop.signal.aborted) {
            const frame = await once();
            usable = frame.usable;
            if (ctx.isTTY) ctx.io.stdout(`${REDRAW}${frame.text}`);
            else if (frame.text !== last) ctx.io.stdout(`${last ? '\n' : ''}${frame.text}`);
            last = frame.text;
            await systemClock.sleep(everyMs, stop.signal);
          }
        } finally {
          for (const remove of off) remove();
        }
        return usable ? ExitCode.ok : ExitCode.credentialsUnavailable;
      }),
    );
}
