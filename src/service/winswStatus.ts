import type { ServiceStatus } from './managerTypes.js';

const firstLine = (text: string): string => text.trim().split(/\r?\n/)[0] ?? '';

/**
 * `<wrapper>.exe status`: WinSW 1.x/2.x print Started, Stopped or NonExistent; WinSW 3 prints
 * "Active (running)", "Inactive (stopped)" or NonExistent.
 */
export function parseWinswStatus(result: { code: number; stdout: string; stderr: string }): ServiceStatus {
  const text = firstLine(result.stdout);
  if (/^nonexistent/i.test(text)) return { state: 'not-installed', detail: 'the Windows service is not installed' };
  if (/^(stopped|inactive)/i.test(text)) return { state: 'stopped', detail: `WinSW: ${text}` };
  if (/^(started|active|running)/i.test(text)) return { state: 'running', detail: `WinSW: ${text}` };
  return { state: 'unknown', detail: `WinSW status exit code ${result.code}: ${text || firstLine(result.stderr) || 'no output'}` };
}

/** `sc.exe query <id>`, used when the wrapper is gone: 1060 means no such service. */
export function parseScQuery(result: { code: number; stdout: string; stderr: string }): ServiceStatus {
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.code === 1060 || /\b1060\b/.test(output)) return { state: 'not-installed', detail: 'the Windows service is not installed' };
  const state = /STATE\s*:\s*\d+\s+(\w+)/.exec(output)?.[1];
  if (state === 'RUNNING') return { state: 'running', detail: 'SCM: RUNNING' };
  if (state === 'STOPPED') return { state: 'stopped', detail: 'SCM: STOPPED' };
  return { state: 'unknown', detail: state ? `SCM: ${state}` : `sc.exe query exit code ${result.code}: ${firstLine(output) || 'no output'}` };
}
