import { canWrite } from './actionAccess.js';
import { finding, type Finding } from '../../findings.js';
import { parseJson } from './parseJson.js';
import { isTrustPolicy, lintTrustStatement } from './lintTrustStatement.js';
import { parseRoleArn } from '../arns.js';

/**
 * Least-privilege lint of a machine role's permission policy (an identity policy), after the
 * AppStream guide's "Best Practices for Using IAM Roles With Streaming Instances": grant only the
 * actions and resources needed, and limit where the credentials can be used.
 */
export function lintPolicy(text: string): Finding[] {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    const where = parsed.line === undefined ? '' : ` at line ${parsed.line}, column ${parsed.column}`;
    return [
      finding(
        'error',
        'json-invalid',
        '$',
        `the policy is not valid JSON${where}: ${parsed.message}`,
        'fix the JSON syntax (a trailing comma or a missing quote is the usual cause), then lint again',
      ),
    ];
  }
  const document = parsed.value;
  if (!isObject(document)) {
    return [finding(
      'error',
      'policy-not-object',
      '$',
      'the policy must be a JSON object',
      'write {"Version": "2012-10-17", "Statement": [...]}',
    )];
  }
  const findings: Finding[] = [...lintVersion(document)];
  for (const key of Object.keys(document)) {
    if (!['Version', 'Id', 'Statement'].includes(key)) {
      findings.push(finding(
        'error',
        'policy-unknown-key',
        `$.${key}`,
        `"${key}" is not a policy element`,
        'remove it; a policy has only Version, Id and Statement',
      ));
    }
  }
  const statements = document.Statement;
  if (statements === undefined) {
    findings.push(finding(
      'error',
      'statement-missing',
      '$.Statement',
      'the policy has no Statement',
      'add a Statement with the actions the machine role needs',
    ));
    return findings;
  }
  // A single statement may be written as an object; the paths then have no index.
  const list = Array.isArray(statements)
    ? statements.map((s: unknown, i) => ({ s, path: `$.Statement[${i}]` }))
    : [{ s: statements, path: '$.Statement' }];
  if (list.length === 0) {
    findings.push(finding(
      'error',
      'statement-missing',
      '$.Statement',
      'the Statement list is empty',
      'add a Statement with the actions the machine role needs',
    ));
  }
  // A role's trust policy (policy role-chain, machine-role-trust): every statement names a Principal.
  if (isTrustPolicy(list.map(({ s }) => s))) {
    for (const { s, path } of list) findings.push(...lintTrustStatement(s as Record<string, unknown>, path));
    return findings;
  }
  for (const { s, path } of list) findings.push(...lintStatement(s, path));
  return findings;
}

function lintVersion(document: Record<string, unknown>): Finding[] {
  const version = document.Version;
  if (version === undefined) {
    return [finding(
      'error',
      'version-missing',
      '$.Version',
      'the policy has no Version, so IAM reads it with the 2008 grammar and policy variables do not work',
      'add "Version": "2012-10-17"',
    )];
  }
  if (version === '2012-10-17') return [];
  if (version === '2008-10-17') {
    return [finding(
      'warning',
      'version-old',
      '$.Version',
      'Version 2008-10-17 does not support policy variables such as ${aws:username}',
      'use "Version": "2012-10-17"',
    )];
  }
  return [finding(
    'error',
    'version-invalid',
    '$.Version',
    `Version ${JSON.stringify(version)} is not a policy language version`,
    'use "Version": "2012-10-17"',
  )];
}

const STATEMENT_KEYS = [
  'Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition',
];
const NETWORK_KEYS = ['aws:sourceip', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:vpcsourceip'];

function lintStatement(statement: unknown, path: string): Finding[] {
  if (!isObject(statement)) {
    return [finding(
      'error',
      'statement-not-object',
      path,
      'a statement must be a JSON object',
      'write {"Effect": "Allow", "Action": [...], "Resource": [...]}',
    )];
  }
  const findings: Finding[] = [];
  for (const key of Object.keys(statement)) {
    if (!STATEMENT_KEYS.includes(key)) {
      findings.push(finding(
        'error',
        'statement-unknown-key',
        `${path}.${key}`,
        `"${key}" is not a statement element (names are case-sensitive)`,
        `use one of ${STATEMENT_KEYS.join(', ')}`,
      ));
    }
  }
  const effect = statement.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') {
    findings.push(finding(
      'error',
      'effect-invalid',
      `${path}.Effect`,
      `Effect must be "Allow" or "Deny", not ${JSON.stringify(effect ?? null)}`,
      'set "Effect": "Allow"',
    ));
  }
  const allow = effect === 'Allow';
  if (statement.Principal !== undefined || statement.NotPrincipal !== undefined) {
    findings.push(finding(
      'error',
      'principal-in-identity-policy',
      `${path}.${statement.Principal !== undefined ? 'Principal' : 'NotPrincipal'}`,
      'a permission policy attached to a role cannot name a Principal',
      'remove Principal; who may assume the role belongs in its trust policy (policy machine-role-trust)',
    ));
  }

  const actions = stringList(statement.Action, `${path}.Action`, findings);
  const notActions = stringList(statement.NotAction, `${path}.NotAction`, findings);
  if (actions === undefined && notActions === undefined) {
    findings.push(finding(
      'error',
      'action-missing',
      `${path}.Action`,
      'the statement has no Action',
      'list the exact actions the scripts call, e.g. "s3:GetObject"',
    ));
  }
  if (allow && notActions !== undefined) {
    findings.push(finding(
      'error',
      'not-action-allow',
      `${path}.NotAction`,
      'Allow with NotAction grants every action except those listed, including services added later',
      'replace NotAction with an Action list of what the scripts need',
    ));
  }
  for (const { value, path: at } of actions ?? []) findings.push(...lintAction(value, at, allow));

  const resources = stringList(statement.Resource, `${path}.Resource`, findings);
  const notResources = stringList(statement.NotResource, `${path}.NotResource`, findings);
  if (resources === undefined && notResources === undefined) {
    findings.push(finding(
      'error',
      'resource-missing',
      `${path}.Resource`,
      'the statement has no Resource',
      'name the resources, e.g. "arn:aws:s3:::my-bucket/prefix/*"',
    ));
  }
  if (allow && notResources !== undefined) {
    findings.push(finding(
      'error',
      'not-resource-allow',
      `${path}.NotResource`,
      'Allow with NotResource grants access to every resource except those listed',
      'replace NotResource with a Resource list of what the scripts need',
    ));
  }
  const assumes = (actions ?? []).some((a) => /^sts:(AssumeRole|SetSourceIdentity|TagSession)$/i.test(a.value));
  if (allow && assumes) {
    // The machine role's half of role chaining (policy role-chain): name each role it may assume.
    for (const { value, path: at } of resources ?? []) {
      if (value !== '*' && !parseRoleArn(value)) {
        findings.push(finding('error', 'assume-role-resource', at, `"${value}" is not a role ARN; sts:AssumeRole applies to roles`, 'name the role ARNs (appstream-creds policy role-chain prints the statement)'));
      }
    }
  }
  if (allow) {
    // PutMetricData has no resource-level permissions: Resource "*" is its only form, and the
    // cloudwatch:namespace condition is what scopes it (policy fleet-metrics).
    const putsMetrics = (actions ?? []).filter((a) => /^cloudwatch:PutMetricData$/i.test(a.value));
    if (putsMetrics.length > 0) findings.push(...lintPutMetricData(statement.Condition, putsMetrics[0]!.path, path));
    const writers = (actions ?? []).filter((a) => canWrite(a.value) && !/^cloudwatch:PutMetricData$/i.test(a.value)).map((a) => a.value);
    for (const { value, path: at } of resources ?? []) {
      if (value !== '*') continue;
      if (writers.length > 0) {
        findings.push(finding(
          'error',
          'resource-wildcard-write',
          at,
          `Resource "*" with actions that change data (${writers.slice(0, 3).join(', ')}${writers.length > 3 ? ', …' : ''})`,
          'name the buckets, tables or other resources those actions may change',
        ));
      } else if (actions !== undefined) {
        findings.push(finding(
          'info',
          'resource-wildcard-read',
          at,
          'Resource "*" with read-only actions',
          'name the resources if the actions support resource-level permissions',
        ));
      }
    }
    if (!hasNetworkCondition(statement.Condition)) {
      findings.push(finding(
        'warning',
        'network-condition-missing',
        `${path}.Condition`,
        'the credentials work from anywhere: no aws:SourceIp, aws:SourceVpc or aws:SourceVpce condition',
        'limit them to your fleet\'s network, e.g. "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}',
      ));
    }
  }
  return findings;
}

function lintPutMetricData(condition: unknown, actionPath: string, path: string): Finding[] {
  const scoped = isObject(condition) && Object.values(condition).some((block) => isObject(block) && Object.keys(block).some((key) => key.toLowerCase() === 'cloudwatch:namespace'));
  if (scoped) return [finding('info', 'cloudwatch-namespace-scoped', `${path}.Condition`, 'cloudwatch:PutMetricData is limited to the namespaces in its cloudwatch:namespace condition', 'none needed')];
  return [finding(
    'error',
    'cloudwatch-namespace-missing',
    actionPath,
    'cloudwatch:PutMetricData without a cloudwatch:namespace condition lets the credentials write metrics into any namespace (billed per metric series)',
    'add "Condition": {"StringEquals": {"cloudwatch:namespace": "YOUR/NAMESPACE"}}; appstream-creds policy fleet-metrics --namespace YOUR/NAMESPACE prints the statement',
  )];
}

function lintAction(action: string, path: string, allow: boolean): Finding[] {
  if (action === '*') {
    return [finding(
      allow ? 'error' : 'info',
      'action-wildcard',
      path,
      allow ? 'Action "*" allows every action of every service' : 'Deny of every action',
      allow ? 'list the exact actions the scripts call' : 'none needed if this deny is intended',
    )];
  }
  const match = /^([a-z0-9-]+):(.+)$/i.exec(action);
  if (!match) {
    return [finding(
      'error',
      'action-malformed',
      path,
      `"${action}" is not an action (service:Action)`,
      'write actions like "s3:GetObject"',
    )];
  }
  if (allow && /^\*+$/.test(match[2]!)) {
    return [finding(
      'error',
      'action-service-wildcard',
      path,
      `"${action}" allows every ${match[1]} action, including deletes and permission changes`,
      `list the ${match[1]} actions the scripts call, e.g. "${match[1]}:Get…"`,
    )];
  }
  return [];
}

interface Located {
  value: string;
  path: string;
}

/** Action and Resource accept a string or an array of strings; anything else is a finding. */
function stringList(value: unknown, path: string, findings: Finding[]): Located[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [{ value, path }];
  if (Array.isArray(value)) {
    const out: Located[] = [];
    value.forEach((item, i) => {
      if (typeof item === 'string') out.push({ value: item, path: `${path}[${i}]` });
      else findings.push(finding(
        'error',
        'element-not-string',
        `${path}[${i}]`,
        'each entry must be a string',
        'quote the value',
      ));
    });
    return out;
  }
  findings.push(finding(
    'error',
    'element-not-string',
    path,
    'must be a string or a list of strings',
    'write a string or ["a", "b"]',
  ));
  return [];
}

function hasNetworkCondition(condition: unknown): boolean {
  if (!isObject(condition)) return false;
  // Operators (StringEquals, IpAddress, ForAnyValue:…) hold the keys; key names are case-insensitive.
  return Object.values(condition).some(
    (block) => isObject(block) && Object.keys(block).some((key) => NETWORK_KEYS.includes(key.toLowerCase())),
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
