import { finding, type Finding } from '../findings.js';
import { describeIdentity, onAppStream } from '../identity/appStreamIdentity.js';
import type { DoctorDeps } from './types.js';

/** The instance's AppStream_* variables and the region STS calls and exec children use. */
export function checkInstance(deps: DoctorDeps): Finding[] {
  const identity = deps.instance;
  if (!identity) return [];
  const where = [...new Set(Object.values(identity.from))].join(' and ');
  const findings: Finding[] = [
    onAppStream(identity)
      ? finding('info', 'ok', 'instance', `${describeIdentity(identity)} (from ${where})`, 'none needed')
      : finding('info', 'not-appstream', 'instance', `no AppStream_* variables in the environment${deps.settings.systemVarsFile ? ` or ${deps.settings.systemVarsFile}` : ''}`, 'none needed on a developer machine; on an instance, check that the AppStream agent is running'),
  ];
  const { region, origins } = deps.settings;
  findings.push(
    region
      ? finding('info', 'ok', 'region', `${region} (from ${origins?.region ?? 'settings'})`, 'none needed')
      : finding('warning', 'no-region', 'region', 'no region configured and no AppStream_Image_Arn to take it from: STS calls go to us-east-1', 'set AWS_REGION (or the region setting) to the fleet\'s region'),
  );
  return findings;
}
