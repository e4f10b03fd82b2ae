import { SERVICE_ID } from './constants.js';
import type { NssmServiceSpec } from './nssmCommands.js';
import { windowsArg } from './winswXml.js';

/** Where NSSM keeps a service's parameters, and reads them at each start of the service. */
export const nssmParametersKey = (service = SERVICE_ID): string => `HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${service}\\Parameters`;

const utf16 = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf16le');
/** `hex(N):xx,xx,…` wrapped as `reg export` wraps it (a trailing `\` continues the line). */
function hexValue(name: string, type: number, bytes: Buffer): string {
  const pairs = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
  const lines: string[] = [];
  for (let i = 0; i < pairs.length; i += 25) lines.push(pairs.slice(i, i + 25).join(','));
  return `"${name}"=hex(${type}):${lines.join(',\\\r\n  ')}`;
}
const expandSz = (name: string, value: string): string => hexValue(name, 2, utf16(value));
const multiSz = (name: string, values: readonly string[]): string => hexValue(name, 7, Buffer.concat([...values.map(utf16), Buffer.from([0, 0])]));
const dword = (name: string, value: number): string => `"${name}"=dword:${(value >>> 0).toString(16).padStart(8, '0')}`;

/**
 * NSSM's parameters of the service as one .reg file (UTF-16LE with BOM, as `reg export` writes
 * it), for a single `reg import`: the same values and types `nssm set` writes one process at a
 * time (REG_EXPAND_SZ strings, REG_MULTI_SZ environment, DWORD numbers, the AppExit subkey's
 * default; test/fixtures/nssm-set-export.reg is what nssm 2.23 wrote). Stop: Ctrl+C first and
 * 10 s for the agent to remove its discovery file, then NSSM's later methods; an exit is
 * restarted after 1 s (while the agent is down any user could bind its port).
 */
export function nssmParametersReg(spec: NssmServiceSpec, service = SERVICE_ID): Buffer {
  const key = nssmParametersKey(service);
  const text = [
    'Windows Registry Editor Version 5.00',
    '',
    `[${key}]`,
    expandSz('Application', spec.executable),
    expandSz('AppParameters', spec.args.map(windowsArg).join(' ')),
    expandSz('AppDirectory', spec.workingDirectory),
    multiSz('AppEnvironmentExtra', spec.env.map(([name, value]) => `${name}=${value}`)),
    expandSz('AppStdout', spec.stdoutLog),
    expandSz('AppStderr', spec.stderrLog),
    dword('AppRotateFiles', 1),
    dword('AppRotateOnline', 1),
    dword('AppRotateBytes', spec.rotateBytes),
    dword('AppStopMethodConsole', 10_000),
    dword('AppRestartDelay', 1_000),
    '',
    `[${key}\\AppExit]`,
    '@="Restart"',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}
