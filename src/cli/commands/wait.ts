import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings, commandSource } from '../commandSetup.js';
import { waitForReady } from '../../wait/waitForReady.js';
import { progressPrinter } from '../progress.js';
import { networkReaderFor } from '../../network/readLocalNetwork.js';
import { systemClock } from '../../clock.js';
import { maskKeyId } from '../../credentials.js';
import { formatDuration } from '../../config/duration.js';
import { ExitCode } from '../../errors.js';

interface WaitOptions {
  timeout?: string;
  probe?: string;
  interface?: string;
  json?: boolean;
}

export function registerWait(program: Command, deps: CommandDeps): void {
  program
    .command('wait')
    .description('block until the VPC network interface is up and the credentials are readable')
    .option('--timeout <duration>', 'give up after this long (default 300s; setting waitTimeout)')
    .addOption(new Option('--probe <kind>', 'after the ENI: none, tcp (connect to STS:443) or sts (GetCallerIdentity)').choices(['none', 'tcp', 'sts']))
    .option('--interface <name-or-mac>', 'insist on this interface (setting interface)')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText(
      'after',
      '\nFor session scripts (60 s limit) and image builder startup tasks:\n' +
        '  appstream-creds wait --timeout 50s && aws s3 cp s3://bucket/setup.ps1 .\n\n' +
        'Exit codes: 0 ready, 3 network not ready in time, 4 credentials not there in time,\n' +
        '5 only expired credentials by the deadline (as credential-process would say).\n' +
        'The ENI is an interface that is up, has an IPv4 address outside excludeCidrs\n' +
        '(198.19.0.0/16 management network, link-local, loopback) and carries the default route.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: WaitOptions, command: Command) => {
        const settings = commandSettings(command, deps, { waitTimeout: opts.timeout, probe: opts.probe, interface: opts.interface }, { waitTimeout: '--timeout' });
        const controller = new AbortController();
        const off = deps.ctx.onSignal('SIGINT', () => controller.abort());
        try {
          const report = await waitForReady({
            settings,
            clock: systemClock,
            readNetwork: networkReaderFor(deps.ctx.platform),
            source: commandSource(settings, deps).resolve,
            onProgress: progressPrinter(deps.ctx.io),
            signal: controller.signal,
            env: deps.ctx.env,
          });
          const { eni, sourced, probe } = report;
          if (opts.json) {
            deps.ctx.io.stdout(
              `${JSON.stringify({ ready: true, elapsedMs: report.elapsedMs, eni, keyId: maskKeyId(sourced.credentials.accessKeyId), origin: sourced.origin, probe })}\n`,
            );
          }
          deps.ctx.io.stderr(
            `ready after ${formatDuration(report.elapsedMs)}: ENI ${eni.name} ${eni.address}; credentials key ${maskKeyId(sourced.credentials.accessKeyId)} from ${sourced.origin}` +
              `${probe ? `; ${probe.detail}` : ''}\n`,
          );
          return ExitCode.ok;
        } finally {
          off();
        }
      }),
    );
}
