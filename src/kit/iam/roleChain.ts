import { usageError } from '../../errors.js';
import { parseRoleArn } from '../arns.js';
import type { ConditionBlock, PolicyDocument } from '../policyDocument.js';

export interface RoleChainOptions {
  machineRole: string;
  roles: readonly string[];
  /** A sourceIdentity template is set (e.g. "{user}"): SetSourceIdentity on both sides, and a trust condition. */
  sourceIdentity?: string | undefined;
  /** The roles set session tags. */
  tagSession?: boolean | undefined;
  externalId?: string | undefined;
}

export interface RoleChain {
  /** Attach to the machine role: what it may assume. */
  machineRolePermission: PolicyDocument;
  /** Each target role's trust policy, by role ARN. */
  trustPolicies: Record<string, PolicyDocument>;
}

/** The actions a chained AssumeRole needs, on both sides. */
export function chainActions(options: Pick<RoleChainOptions, 'sourceIdentity' | 'tagSession'>): string[] {
  return ['sts:AssumeRole', ...(options.sourceIdentity ? ['sts:SetSourceIdentity'] : []), ...(options.tagSession ? ['sts:TagSession'] : [])];
}

/** `{user}` → `*`: the SourceIdentity a template can produce, as a StringLike pattern. */
export const sourceIdentityPattern = (template: string): string => template.replace(/\{[a-z]+\}/g, '*');

/**
 * The two halves of role chaining for the agent's named roles (setting `roles`): the machine
 * role's permission to assume each role, and each role's trust in the machine role. IAM needs
 * both: AssumeRole is denied when either statement is missing.
 */
export function roleChain(options: RoleChainOptions): RoleChain {
  const machine = parseRoleArn(options.machineRole.trim());
  if (!machine) throw usageError(`--machine-role: not a role ARN (arn:aws:iam::123456789012:role/NAME)`, 'bad-arn');
  if (options.roles.length === 0) throw usageError('--role: name at least one role ARN to assume', 'usage');
  const roles = options.roles.map((role) => {
    const arn = role.trim();
    const parsed = parseRoleArn(arn);
    if (!parsed) throw usageError(`--role: "${arn.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}" is not a role ARN (arn:aws:iam::123456789012:role/NAME)`, 'bad-arn');
    if (parsed.partition !== machine.partition) throw usageError(`--role ${arn}: another partition than the machine role (${machine.partition})`, 'bad-arn');
    return arn;
  });
  const actions = chainActions(options);
  const condition: ConditionBlock = {};
  if (options.externalId) condition.StringEquals = { 'sts:ExternalId': options.externalId };
  if (options.sourceIdentity) condition.StringLike = { 'sts:SourceIdentity': sourceIdentityPattern(options.sourceIdentity) };
  const trust: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TrustTheMachineRole',
        Effect: 'Allow',
        Principal: { AWS: options.machineRole.trim() },
        Action: actions.length === 1 ? actions[0]! : actions,
        ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
      },
    ],
  };
  return {
    machineRolePermission: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'AssumeNamedRoles', Effect: 'Allow', Action: actions.length === 1 ? actions[0]! : actions, Resource: roles.length === 1 ? roles[0]! : roles }],
    },
    trustPolicies: Object.fromEntries(roles.map((arn) => [arn, trust])),
  };
}
