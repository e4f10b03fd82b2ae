import { finding, type Finding } from '../../findings.js';
import { parseRoleArn } from '../arns.js';

const TRUST_ACTIONS = ['sts:assumerole', 'sts:assumerolewithsaml', 'sts:assumerolewithwebidentity', 'sts:setsourceidentity', 'sts:tagsession', 'sts:setcontext'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] => (typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** A trust policy (a role's resource policy): every statement names a Principal and an sts:AssumeRole… action. */
export const isTrustPolicy = (statements: readonly unknown[]): boolean =>
  statements.length > 0 && statements.every((s) => isObject(s) && (s.Principal !== undefined || s.NotPrincipal !== undefined) && strings(s.Action).some((a) => /^sts:(AssumeRole|\*$)/i.test(a)));

/**
 * One statement of a role's trust policy, as `policy role-chain` and `policy machine-role-trust`
 * write them: a named principal, only sts: assume/tag actions, no Resource.
 */
export function lintTrustStatement(statement: Record<string, unknown>, path: string): Finding[] {
  const findings: Finding[] = [];
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
    findings.push(finding('error', 'effect-invalid', `${path}.Effect`, `Effect must be "Allow" or "Deny", not ${JSON.stringify(statement.Effect ?? null)}`, 'set "Effect": "Allow"'));
  }
  const allow = statement.Effect === 'Allow';
  if (statement.Resource !== undefined || statement.NotResource !== undefined) {
    findings.push(finding('error', 'trust-resource', `${path}.Resource`, 'a trust policy cannot name a Resource (the role itself is the resource)', 'remove Resource'));
  }
  if (allow && statement.NotPrincipal !== undefined) {
    findings.push(finding('error', 'trust-not-principal', `${path}.NotPrincipal`, 'Allow with NotPrincipal trusts everyone except those listed', 'name the principal with Principal'));
  }
  const principal = statement.Principal;
  const aws = principal === '*' ? ['*'] : isObject(principal) ? strings(principal.AWS) : [];
  for (const [i, value] of aws.entries()) {
    const at = `${path}.Principal.AWS${Array.isArray(isObject(principal) ? principal.AWS : undefined) ? `[${i}]` : ''}`;
    if (value === '*') {
      if (allow && !hasCondition(statement.Condition)) findings.push(finding('error', 'trust-principal-wildcard', at, 'Principal "*" with no condition lets any AWS account assume this role', 'trust the machine role ARN (appstream-creds policy role-chain --machine-role ARN --role ARN)'));
    } else if (/^\d{12}$/.test(value) || /:root$/.test(value)) {
      if (allow) findings.push(finding('warning', 'trust-principal-account', at, 'trusting an account lets every role and user in it that is allowed sts:AssumeRole assume this role', 'trust the machine role ARN itself'));
    } else if (/^arn:[^:]+:iam::\d{12}:role\//.test(value) && !parseRoleArn(value)) {
      findings.push(finding('error', 'trust-principal-malformed', at, `"${value}" is not a well-formed role ARN`, 'write arn:aws:iam::123456789012:role/NAME'));
    }
  }
  const actions = strings(statement.Action);
  if (actions.length === 0) findings.push(finding('error', 'action-missing', `${path}.Action`, 'the statement has no Action', 'write "Action": "sts:AssumeRole"'));
  for (const [i, action] of actions.entries()) {
    const at = `${path}.Action${Array.isArray(statement.Action) ? `[${i}]` : ''}`;
    if (action === '*' || action.toLowerCase() === 'sts:*') {
      if (allow) findings.push(finding('error', 'trust-action-wildcard', at, `"${action}" in a trust policy allows every sts action`, 'list sts:AssumeRole (plus sts:SetSourceIdentity / sts:TagSession when the agent sets them)'));
    } else if (!TRUST_ACTIONS.includes(action.toLowerCase())) {
      findings.push(finding('error', 'trust-action-invalid', at, `"${action}" has no meaning in a trust policy`, 'use sts:AssumeRole, sts:SetSourceIdentity or sts:TagSession'));
    }
  }
  const lower = actions.map((a) => a.toLowerCase());
  if (allow && lower.includes('sts:setsourceidentity') && !conditionKeys(statement.Condition).includes('sts:sourceidentity')) {
    findings.push(finding('info', 'trust-source-identity-open', `${path}.Condition`, 'sts:SetSourceIdentity without an sts:SourceIdentity condition accepts any source identity', 'add "StringLike": {"sts:SourceIdentity": "*"} or a pattern of your user names'));
  }
  return findings;
}

function conditionKeys(condition: unknown): string[] {
  if (!isObject(condition)) return [];
  return Object.values(condition).flatMap((block) => (isObject(block) ? Object.keys(block).map((k) => k.toLowerCase()) : []));
}

const hasCondition = (condition: unknown): boolean => conditionKeys(condition).length > 0;
