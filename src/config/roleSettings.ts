import { z } from 'zod';
import { parseDuration } from './duration.js';
import { SESSION_NAME_CHARS, templatePlaceholders, TEMPLATE_FIELDS } from '../identity/templateIdentity.js';

/**
 * The `roles` setting: named roles assumed from the machine role (role chaining). Validated once
 * at start; each message names the role and the field (loadSettings adds the setting and where
 * it came from). Session names and source identities are templates: their values are checked
 * again after templating, when the identity is known (sources/roleRequest.ts).
 */

/** A role chained from another role may last at most 1 h (STS caps chained sessions). */
export const MIN_ROLE_SECONDS = 900;
export const MAX_ROLE_SECONDS = 3600;
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

const list = z.union([z.string(), z.array(z.string())]).transform((value) => (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim()).filter(Boolean));

const template = (field: string) =>
  z.string().superRefine((value, ctx) => {
    for (const name of templatePlaceholders(value)) {
      if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${field}: unknown placeholder {${name}}; use ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}` });
    }
    const literal = value.replace(/\{[a-z]+\}/g, '');
    if (literal.length > 64) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${field}: longer than 64 characters before templating` });
    if (/[^A-Za-z0-9_+=,.@{}-]/.test(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${field}: only ${SESSION_NAME_CHARS} and placeholders are allowed` });
  });

export const roleSchema = z
  .object({
    roleArn: z.string().regex(ROLE_ARN, 'roleArn: a role ARN like arn:aws:iam::123456789012:role/ReadOnly'),
    sessionName: template('sessionName').optional(),
    duration: z
      .union([z.string(), z.number()])
      .transform((value, ctx) => {
        let seconds: number;
        try {
          seconds = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : parseDuration(value, 'duration') / 1000;
        } catch {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'duration: write it like 900, 15m or 1h' });
          return z.NEVER;
        }
        if (!Number.isInteger(seconds) || seconds < MIN_ROLE_SECONDS || seconds > MAX_ROLE_SECONDS) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `duration: ${MIN_ROLE_SECONDS} to ${MAX_ROLE_SECONDS} seconds (a session chained from the machine role lasts at most 1 h)` });
          return z.NEVER;
        }
        return seconds;
      })
      .optional(),
    externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'externalId: 2 to 1224 characters of letters, digits and _+=,.@:/-').optional(),
    sourceIdentity: template('sourceIdentity').optional(),
    tags: z
      .record(z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'tags: keys of 1 to 128 characters'), z.string().max(256, 'tags: values up to 256 characters'))
      .refine((tags) => Object.keys(tags).length <= 50, 'tags: at most 50')
      .optional(),
    /** A session policy: a JSON object or its text. */
    policy: z
      .union([z.string(), z.record(z.unknown())])
      .transform((value, ctx) => {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        } catch {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'policy: a JSON policy document (object or its text)' });
          return z.NEVER;
        }
        if (text.length > 2048) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'policy: longer than 2048 characters (the AssumeRole limit)' });
        return text;
      })
      .optional(),
    /** Who may use this role's route, besides root, the agent's user and tokenGroup: replaces the global allowUsers here. */
    allowUsers: list
      .superRefine((values, ctx) => {
        for (const value of values) {
          if (value !== '*' && !/^[A-Za-z0-9_.@\\-][A-Za-z0-9_.@\\ $-]{0,255}$/.test(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'allowUsers: user names, uids or *' });
        }
      })
      .optional(),
  })
  .strict();

export type RoleSettings = z.output<typeof roleSchema>;

/**
 * Role names end up in a URL path (/v1/roles/<name>/credentials), a file name (the role's token
 * file) and a map key: `.`/`..` would be resolved away by URL parsing (`--role ..` reached the
 * machine role's route), `__proto__` vanished from a plain object. Names start with a letter or
 * digit, and the few that mean something to JavaScript objects are refused outright.
 */
export const ROLE_NAME_RULE = '1 to 64 letters, digits and _ . -, starting with a letter or digit (not constructor, prototype or __proto__)';
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RESERVED_NAMES = new Set(['constructor', 'prototype', '__proto__']);
export const isRoleName = (name: string): boolean => ROLE_NAME.test(name) && !RESERVED_NAMES.has(name.toLowerCase());
/** A name as it may be echoed in a message: nothing outside the name's own charset, bounded. */
export const printableRoleName = (name: string): string => name.replace(/[^\w.-]/g, '?').slice(0, 64);

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The map, from JSON (config file) or its text (APPSTREAM_CREDS_ROLES), as a Map: a role name
 * is never a property of an object. Parsed by hand rather than with z.record, which drops a
 * `__proto__` key silently. Issue paths start with the role name.
 */
export const rolesSchema = z.unknown().transform((value, ctx): Map<string, RoleSettings> => {
  let map: unknown = value;
  if (typeof value === 'string') {
    try {
      map = JSON.parse(value);
    } catch {
      map = undefined;
    }
  }
  if (!isPlainObject(map)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a JSON object of named roles' });
    return z.NEVER;
  }
  const roles = new Map<string, RoleSettings>();
  for (const name of Object.keys(map)) {
    if (!isRoleName(name)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `role "${printableRoleName(name)}": a role name is ${ROLE_NAME_RULE}` });
      return z.NEVER;
    }
    const parsed = roleSchema.safeParse(map[name]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? String(issue.path[0]) : '';
      const message = issue.code === 'unrecognized_keys' ? `unknown field (fields: ${Object.keys(roleSchema.shape).join(', ')})` : issue.code === 'invalid_type' && field ? `${field}: ${issue.message.toLowerCase()}` : issue.message;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `role ${name}: ${message.startsWith(field) || !field ? message : `${field}: ${message}`}` });
      return z.NEVER;
    }
    roles.set(name, parsed.data);
  }
  return roles;
});
