import type { AppStreamIdentity } from './appStreamIdentity.js';

/**
 * `{user}`, `{session}`, `{resource}`, `{instance}` in a role's sessionName or sourceIdentity,
 * filled from the AppStream identity so CloudTrail shows who was streaming. Values are
 * sanitised to what STS accepts in a RoleSessionName / SourceIdentity: 2–64 characters of
 * [A-Za-z0-9_+=,.@-].
 */
export const TEMPLATE_FIELDS = ['user', 'session', 'resource', 'instance'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
export const SESSION_NAME_CHARS = 'letters, digits and _+=,.@-';

/** The variable behind each placeholder, for messages. */
export const TEMPLATE_SOURCES: Record<TemplateField, string> = {
  user: 'AppStream_UserName',
  session: 'AppStream_Session_ID',
  resource: 'AppStream_Resource_Name',
  instance: 'the host name',
};

export interface TemplateValues {
  user?: string | undefined;
  session?: string | undefined;
  resource?: string | undefined;
  instance?: string | undefined;
}

export const templateValues = (identity: AppStreamIdentity, hostname?: string): TemplateValues => ({
  user: identity.userName,
  session: identity.sessionId,
  resource: identity.resourceName,
  instance: hostname,
});

/** Placeholder names used in a template, in order. */
export const templatePlaceholders = (template: string): string[] => [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);

/** `DOMAIN\alice` → `DOMAIN-alice`: every character STS refuses becomes `-`. */
export const sanitizeSessionPart = (value: string): string => value.replace(/[^A-Za-z0-9_+=,.@-]/g, '-');

/** The filled template, or the placeholders that have no value here. */
export function fillTemplate(template: string, values: TemplateValues): { value: string } | { missing: TemplateField[] } {
  const missing: TemplateField[] = [];
  const filled = template.replace(/\{([a-z]+)\}/g, (_all, name: string) => {
    const value = values[name as TemplateField];
    if (value === undefined || value === '') {
      missing.push(name as TemplateField);
      return '';
    }
    return sanitizeSessionPart(value);
  });
  if (missing.length > 0) return { missing };
  return { value: filled.slice(0, 64) };
}

/** The default session name: the streaming user when known, else the resource (fleet or image builder) name. */
export function defaultSessionTemplate(values: TemplateValues): string {
  if (values.user) return '{user}';
  if (values.resource) return '{resource}';
  return 'appstream-creds';
}
