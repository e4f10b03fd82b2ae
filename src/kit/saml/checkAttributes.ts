import type { Element } from '@xmldom/xmldom';
import { parseRoleArn, parseSamlProviderArn } from '../arns.js';
import { finding, type Finding } from '../../findings.js';
import { children, NS, textOf } from './samlXml.js';

const ATTRIBUTE = {
  role: 'https://aws.amazon.com/SAML/Attributes/Role',
  roleSessionName: 'https://aws.amazon.com/SAML/Attributes/RoleSessionName',
  sessionDuration: 'https://aws.amazon.com/SAML/Attributes/SessionDuration',
} as const;

export interface RoleMapping {
  role: string;
  provider: string;
  account: string;
}

export interface AttributeCheck {
  findings: Finding[];
  roles: RoleMapping[];
}

/** The three AWS attributes, read from the signed assertion's AttributeStatements. */
export function checkAttributes(assertion: Element): AttributeCheck {
  const values = attributeValues(assertion);
  const findings: Finding[] = [];
  const roles = checkRoles(values.get(ATTRIBUTE.role), findings);
  checkRoleSessionName(values.get(ATTRIBUTE.roleSessionName), findings);
  checkSessionDuration(values.get(ATTRIBUTE.sessionDuration), findings);
  return { findings, roles };
}

function attributeValues(assertion: Element): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const statement of children(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.assertion, 'Attribute')) {
      const name = attribute.getAttribute('Name') ?? '';
      const list = map.get(name) ?? [];
      list.push(...children(attribute, NS.assertion, 'AttributeValue').map(textOf));
      map.set(name, list);
    }
  }
  return map;
}

const at = (name: string): string => `Assertion/AttributeStatement/Attribute[@Name="${name}"]`;

function checkRoles(values: string[] | undefined, findings: Finding[]): RoleMapping[] {
  if (!values || values.length === 0) {
    findings.push(finding(
      'error',
      'role-missing',
      at(ATTRIBUTE.role),
      'the Role attribute is missing',
      'send "role-ARN,saml-provider-ARN" for each role the user may assume',
    ));
    return [];
  }
  const roles: RoleMapping[] = [];
  values.forEach((value, i) => {
    const parts = value.split(',').map((p) => p.trim());
    // IAM accepts the pair in either order.
    const role = parts.find((p) => parseRoleArn(p));
    const provider = parts.find((p) => parseSamlProviderArn(p));
    if (parts.length !== 2 || !role || !provider) {
      findings.push(finding(
        'error',
        'role-value-invalid',
        `${at(ATTRIBUTE.role)}/AttributeValue[${i + 1}]`,
        `"${truncate(value)}" is not a role ARN and a SAML provider ARN separated by a comma`,
        'send arn:aws:iam::ACCOUNT:role/NAME,arn:aws:iam::ACCOUNT:saml-provider/NAME',
      ));
      return;
    }
    const roleArn = parseRoleArn(role)!;
    const providerArn = parseSamlProviderArn(provider)!;
    if (roleArn.account !== providerArn.account || roleArn.partition !== providerArn.partition) {
      findings.push(finding(
        'warning',
        'role-provider-account-differs',
        `${at(ATTRIBUTE.role)}/AttributeValue[${i + 1}]`,
        'the role and the SAML provider are in different accounts or partitions',
        'pair each role with the SAML provider in its own account',
      ));
    }
    roles.push({ role, provider, account: roleArn.account });
  });
  return roles;
}

function checkRoleSessionName(values: string[] | undefined, findings: Finding[]): void {
  const path = at(ATTRIBUTE.roleSessionName);
  if (!values || values.length === 0) {
    findings.push(finding(
      'error',
      'role-session-name-missing',
      path,
      'the RoleSessionName attribute is missing',
      'send the user ID or e-mail address as RoleSessionName',
    ));
    return;
  }
  if (values.length > 1) {
    findings.push(finding(
      'error',
      'role-session-name-multiple',
      path,
      `RoleSessionName has ${values.length} values; AWS takes exactly one`,
      'send a single AttributeValue',
    ));
  }
  const value = values[0]!;
  if (!/^[\w+=,.@-]{2,64}$/.test(value)) {
    const why = /\s/.test(value)
      ? 'contains a space'
      : value.length < 2 || value.length > 64
        ? `is ${value.length} characters long`
        : 'contains a character outside A-Z a-z 0-9 _ + = , . @ -';
    findings.push(finding(
      'error',
      'role-session-name-invalid',
      path,
      `RoleSessionName "${truncate(value)}" ${why}; it must be 2–64 characters of A-Z a-z 0-9 _ + = , . @ -`,
      'map it to the user ID or e-mail address, not the display name',
    ));
  }
}

function checkSessionDuration(values: string[] | undefined, findings: Finding[]): void {
  if (!values || values.length === 0) return;
  const path = at(ATTRIBUTE.sessionDuration);
  const value = values[0]!;
  const seconds = /^\d+$/.test(value) ? Number(value) : NaN;
  if (values.length > 1 || !(seconds >= 900 && seconds <= 43_200)) {
    findings.push(finding(
      'error',
      'session-duration-out-of-range',
      path,
      `SessionDuration "${truncate(values.join(', '))}" is not one whole number of seconds from 900 to 43200`,
      'send a value from 900 (15 minutes) to 43200 (12 hours); leave it out for the 3600 default',
    ));
  }
}

/** Attribute values come from the IdP; keep findings one short line. */
const truncate = (value: string): string => (value.length > 80 ? `${value.slice(0, 77)}...` : value);
