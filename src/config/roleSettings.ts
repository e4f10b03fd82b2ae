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
const ROLE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

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

/** The map, from JSON (config file) or its text (APPSTREAM_CREDS_ROLES). Issue paths start with the role name. */
export const rolesSchema = z
  .union([z.string(), z.record(z.unknown())])
  .transform((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a JSON object of named roles' });
    return z.NEVER;
  })
  .pipe(
    z.record(z.unknown()).transform((map, ctx) => {
      const roles: Record<string, RoleSettings> = {};
      for (const [name, raw] of Object.entries(map)) {
        if (!ROLE_NAME.test(name)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a role name of 1 to 64 letters, digits and _ . - (one name is not)` });
          return z.NEVER;
        }
        const parsed = roleSchema.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const field = issue.path.length > 0 ? String(issue.path[0]) : '';
          const message = issue.code === 'unrecognized_keys' ? `unknown field (fields: ${Object.keys(roleSchema.shape).join(', ')})` : issue.code === 'invalid_type' && field ? `${field}: ${issue.message.toLowerCase()}` : issue.message;
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `role ${name}: ${message.startsWith(field) || !field ? message : `${field}: ${message}`}` });
          return z.NEVER;
        }
        roles[name] = parsed.data;
      }
      return roles;
    }),
  );
