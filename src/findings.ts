/**
 * The one result shape of every check in the setup kit (`policy lint`, `saml check`): scripts
 * read `--json`, people read the text form, and both see the same findings.
 */
import { printableField, terminalSafeJson } from './terminalText.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  /** Stable identifier of the rule, so scripts and tests need not match on prose. */
  code: string;
  /** Where the problem is: a JSON path such as `$.Statement[1].Action`, or a SAML element path. */
  path: string;
  message: string;
  fix: string;
}

export interface FindingsReport {
  findings: Finding[];
  errors: number;
  warnings: number;
}

export const finding = (
  severity: Severity,
  code: string,
  path: string,
  message: string,
  fix: string,
): Finding => ({ severity, code, path, message, fix });

export function summarize(findings: readonly Finding[]): FindingsReport {
  return {
    findings: [...findings],
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'error');

const LABEL: Record<Severity, string> = { error: 'ERROR  ', warning: 'WARNING', info: 'INFO   ' };

/** Text form: one line per finding plus its fix, then a one-line total. */
export function formatFindings(findings: readonly Finding[], subject: string): string {
  const report = summarize(findings);
  // Paths and messages quote the input (SAML attributes, policy text): no control character reaches
  // the terminal, so input cannot rewrite what the reader sees.
  const lines = findings.map((f) => `${LABEL[f.severity]} ${printableField(f.path)}: ${printableField(f.message)}\n        fix: ${printableField(f.fix)}`);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`${printableField(subject)}: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}`);
  return `${lines.join('\n')}\n`;
}

export const formatFindingsJson = (findings: readonly Finding[]): string =>
  `${terminalSafeJson(JSON.stringify(summarize(findings), null, 2))}\n`;
