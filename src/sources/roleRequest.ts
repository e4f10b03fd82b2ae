import { isRoleName, printableRoleName, ROLE_NAME_RULE, type RoleSettings } from '../config/roleSettings.js';
import { AgentError, ExitCode, usageError } from '../errors.js';
import { defaultSessionTemplate, fillTemplate, TEMPLATE_SOURCES, type TemplateValues } from '../identity/templateIdentity.js';

/** One named role's AssumeRole request, templated for the identity known now. */
export interface RoleRequest {
  name: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  externalId?: string;
  sourceIdentity?: string;
  tags?: Array<{ Key: string; Value: string }>;
  policy?: string;
}

export const DEFAULT_ROLE_SECONDS = 3600;

/** The named role, or a usage error (exit 2) listing the configured ones. */
export function findRole(roles: ReadonlyMap<string, RoleSettings>, name: string): RoleSettings {
  const role = roles.get(name);
  if (role) return role;
  const known = [...roles.keys()];
  if (!isRoleName(name)) throw usageError(`--role "${printableRoleName(name)}": a role name is ${ROLE_NAME_RULE}`, 'unknown-role');
  throw usageError(`unknown role "${printableRoleName(name)}"; ${known.length > 0 ? `configured roles: ${known.join(', ')}` : 'no roles are configured (setting roles in the --config file)'}`, 'unknown-role');
}

function filled(name: string, field: string, template: string, values: TemplateValues): string {
  const result = fillTemplate(template, values);
  if ('missing' in result) {
    // Not a settings mistake: the session has not started yet (the daemon retries).
    throw new AgentError(`role ${name}: ${field} "${template}" needs ${result.missing.map((m) => `{${m}} (${TEMPLATE_SOURCES[m]})`).join(', ')}, which is not set yet`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'role-identity-missing',
      transient: true,
    });
  }
  if (result.value.length < 2) throw usageError(`role ${name}: ${field} is "${result.value}" after templating; it must be 2 to 64 characters`, 'bad-setting');
  return result.value;
}

/** The AssumeRole input for a role, with sessionName/sourceIdentity filled from the identity. */
export function roleRequest(name: string, role: RoleSettings, values: TemplateValues): RoleRequest {
  const tags = role.tags ? Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })) : undefined;
  return {
    name,
    roleArn: role.roleArn,
    sessionName: filled(name, 'sessionName', role.sessionName ?? defaultSessionTemplate(values), values),
    durationSeconds: role.duration ?? DEFAULT_ROLE_SECONDS,
    ...(role.externalId ? { externalId: role.externalId } : {}),
    ...(role.sourceIdentity ? { sourceIdentity: filled(name, 'sourceIdentity', role.sourceIdentity, values) } : {}),
    ...(tags && tags.length > 0 ? { tags } : {}),
    ...(role.policy ? { policy: role.policy } : {}),
  };
}

/**
 * Checked once at start: every role's templates fill to a valid value with the identity known
 * then. A placeholder with no value yet is not an error here (a service starts before any
 * streaming session); it is reported when the role is assumed.
 */
export function validateRoles(roles: ReadonlyMap<string, RoleSettings>, values: TemplateValues): void {
  for (const [name, role] of roles) {
    try {
      roleRequest(name, role, values);
    } catch (error) {
      if (error instanceof AgentError && error.code === 'role-identity-missing') continue;
      throw error;
    }
  }
}
