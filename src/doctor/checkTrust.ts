import { finding, type Finding } from '../findings.js';
import { refusalMessage, type TrustRefusal } from '../trust/checkPathTrust.js';
import type { DoctorDeps } from './types.js';

/**
 * The ownership rule: profile files the source refused (or used only because strictPermissions
 * is off), the setting itself, and the state and log folders the agent writes.
 */
export async function checkTrust(deps: DoctorDeps): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { strictPermissions, stateDir, logDir } = deps.settings;
  const seen = new Set<string>();
  for (const refusal of deps.refusals ?? []) {
    const message = refusalMessage(refusal);
    if (seen.has(message)) continue;
    seen.add(message);
    findings.push(
      strictPermissions
        ? finding('error', 'untrusted-profile', 'profile-file', `${message}; it is not read, run or served`, refusal.fix)
        : finding('warning', 'untrusted-profile', 'profile-file', `${message}; used anyway because strictPermissions is false`, refusal.fix),
    );
  }
  if (deps.trustRoute) {
    findings.push(
      deps.trustRoute.route === 'native'
        ? finding('info', 'trust-route', 'ownership-rule', `owners and DACLs are read as SIDs through advapi32 (native: ${deps.trustRoute.file})`, 'none needed')
        : finding(
            'warning',
            'trust-route',
            'ownership-rule',
            `owners are not read: the rule falls back to icacls text, by localized account names (native route unavailable: ${deps.trustRoute.reason})`,
            'reinstall so native\\koffi-win32-x64.node sits beside the agent (the build puts it in dist\\native)',
          ),
    );
  }
  if (!strictPermissions) {
    findings.push(
      finding('warning', 'strict-permissions-off', 'settings', 'strictPermissions is false: profile files, the state folder and the log folder are used whoever owns them', 'set strictPermissions=true (the default) unless this is a rig where owners cannot be read (Wine)'),
    );
  }
  if (deps.folderTrust) {
    for (const [label, dir] of [['state-dir', stateDir], ['log-dir', logDir]] as const) {
      if (!dir) continue;
      const refusal = await deps.folderTrust(dir);
      if (refusal) findings.push(folderFinding(label, refusal, strictPermissions));
      else findings.push(finding('info', 'ok', label, `${dir}: owned by root or the agent's user and writable by nobody else (or not created yet)`, 'none needed'));
    }
  }
  return findings;
}

function folderFinding(label: string, refusal: TrustRefusal, strict: boolean): Finding {
  const code = label === 'state-dir' ? 'foreign-state-dir' : 'foreign-log-dir';
  const message = `${refusalMessage(refusal)}; \`serve\` refuses to start with it${strict ? '' : ' (only warns: strictPermissions is false)'}`;
  return finding(strict ? 'error' : 'warning', code, label, message, refusal.fix);
}
