import type { ServiceStatus } from './managerTypes.js';
import { SYSTEMD_UNIT } from './constants.js';

/** The properties `status` asks systemctl for. */
export const SHOW_ARGS = ['show', SYSTEMD_UNIT, '--property=LoadState,ActiveState,SubState,MainPID,UnitFileState', '--no-pager'] as const;

const firstLine = (text: string): string => text.trim().split(/\r?\n/)[0] ?? '';

/** Maps `systemctl show` output to the service state `status` and `doctor` report. */
export function parseSystemctlShow(result: { code: number; stdout: string; stderr: string }): ServiceStatus {
  if (result.code !== 0) return { state: 'unknown', detail: `systemctl failed: ${firstLine(result.stderr) || `exit code ${result.code}`}` };
  const props = new Map<string, string>();
  for (const line of result.stdout.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at > 0) props.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const load = props.get('LoadState');
  const active = props.get('ActiveState');
  const sub = props.get('SubState') ?? '';
  const enabled = props.get('UnitFileState');
  const suffix = enabled ? `, ${enabled}` : '';
  if (load === 'not-found') return { state: 'not-installed', detail: `${SYSTEMD_UNIT} is not installed` };
  if (active === 'active') return { state: 'running', detail: `active (${sub}), pid ${props.get('MainPID') ?? '?'}${suffix}` };
  if (active === 'inactive' || active === 'failed') return { state: 'stopped', detail: `${active} (${sub})${suffix}` };
  if (active === 'activating' && sub === 'auto-restart') return { state: 'stopped', detail: `restarting after a failure (auto-restart)${suffix}` };
  return { state: 'unknown', detail: `${active ?? 'no ActiveState'} (${sub})${suffix}` };
}
