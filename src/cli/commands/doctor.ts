import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { agentFileTrust, commandIdentity, commandSettings, commandSource } from '../commandSetup.js';
import { agentPolicy, windowsAclReader, windowsTrustRoute } from '../trustSetup.js';
import { pathTrust } from '../../trust/pathTrust.js';
import type { TrustRefusal } from '../../trust/checkPathTrust.js';
import { runDoctor } from '../../doctor/runDoctor.js';
import { networkReaderFor } from '../../network/readLocalNetwork.js';
import { agentStatus } from '../../client/currentStatus.js';
import { responseDate, stsEndpointUrl, stsIdentity } from '../../network/probes.js';
import { systemClock } from '../../clock.js';
import { createServiceManager } from '../../service/createServiceManager.js';
import { nodeCommandRunner } from '../../service/nodeCommandRunner.js';
import { ExitCode } from '../../errors.js';
import { linuxPeerLookup } from '../../network/linuxPeerLookup.js';
import { procNetTcpLookup } from '../../network/procNetTcp.js';
import { loadKoffi } from '../../native/loadKoffi.js';
import { createReadStream } from 'node:fs';
import { formatFindings, formatFindingsJson, hasErrors } from '../../findings.js';

interface DoctorOptions {
  json?: boolean;
  agent: boolean;
}

export function registerDoctor(program: Command, deps: CommandDeps): void {
  program
    .command('doctor')
    .description('check profile (and who owns its files), credentials, ENI, STS identity, clock skew, state and log folders, agent and token file; print each finding with its fix')
    .option('--json', 'print findings as JSON')
    .option('--no-agent', 'this machine uses direct mode only: do not expect a running agent')
    .addHelpText(
      'after',
      '\nExamples:\n  appstream-creds doctor\n  appstream-creds doctor --json | jq \'.findings[] | select(.severity=="error")\'\n\n' +
        'Exit 0 when no check found an error, 6 when one did.\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: DoctorOptions, command: Command) => {
        const settings = commandSettings(command, deps);
        const stsSettings = { region: settings.region, endpoint: settings.stsEndpoint, env: deps.ctx.env };
        const sts = stsEndpointUrl(stsSettings);
        const refusals: TrustRefusal[] = [];
        const findings = await runDoctor({
          settings,
          clock: systemClock,
          platform: deps.ctx.platform,
          source: commandSource(settings, deps, systemClock, (refusal) => refusals.push(refusal)).resolve,
          refusals,
          agentTrust: agentFileTrust(settings, deps),
          ...(deps.ctx.platform === 'win32' ? { trustRoute: windowsTrustRoute() } : {}),
          ...(deps.ctx.platform === 'linux'
            ? { callerLookup: () => linuxPeerLookup({ koffi: loadKoffi, fallback: () => procNetTcpLookup((file) => createReadStream(file, { encoding: 'latin1' })), uid: process.geteuid?.() ?? 0 }) }
            : {}),
          folderTrust: pathTrust(deps.ctx.platform, agentPolicy(settings, deps.ctx), windowsAclReader(deps.ctx.platform)),
          readNetwork: networkReaderFor(deps.ctx.platform),
          identity: (credentials) => stsIdentity(credentials, stsSettings, 5_000),
          stsDate: () => responseDate(sts, 5_000, deps.ctx.env),
          expectAgent: opts.agent,
          instance: commandIdentity(settings, deps),
          agentStatus: async () => {
            const answer = opts.agent ? await agentStatus(settings.stateDir, agentFileTrust(settings, deps), settings.strictPermissions) : {};
            return 'status' in answer ? answer.status : undefined;
          },
          serviceStatus: () => createServiceManager(deps.ctx.platform, nodeCommandRunner, { env: deps.ctx.env }).status(),
        });
        deps.ctx.io.stdout(opts.json ? formatFindingsJson(findings) : formatFindings(findings, 'doctor'));
        return hasErrors(findings) ? ExitCode.checkFailed : ExitCode.ok;
      }),
    );
}
