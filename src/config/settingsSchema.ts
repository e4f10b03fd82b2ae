import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseCidr } from '../network/cidr.js';
import { rolesSchema } from './roleSettings.js';
import { METRICS_NAMESPACE, METRICS_NAMESPACE_RULE } from '../fleetMetrics/metricsNamespace.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const PROBES = ['none', 'tcp', 'sts'] as const;
export const METRICS_FORMATS = ['cloudwatch', 'emf'] as const;

// Every layer but the JSON file delivers strings, so each field accepts its natural JSON type
// or the string spelling of it.
const duration = (key: string) =>
  z.union([z.string(), z.number().nonnegative()]).transform((value, ctx) => {
    if (typeof value === 'number') return value * 1000;
    try {
      return parseDuration(value, key);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a duration; write it like 90s, 10m or 1h` });
      return z.NEVER;
    }
  });

const list = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim()).filter(Boolean));

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])]).transform(
  (value) => value === true || value === 'true' || value === '1' || value === 'on' || value === 'yes',
);

const cidrs = list.superRefine((values, ctx) => {
  for (const value of values) {
    if (!parseCidr(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not an IPv4 CIDR like 198.19.0.0/16` });
  }
});

export const settingsSchema = z
  .object({
    profile: z.string().regex(/^[A-Za-z0-9_.@+-]{1,128}$/, 'a profile name of letters, digits and _ . @ + -'),
    stateDir: z.string().min(1),
    logLevel: z.enum(LOG_LEVELS).optional(),
    credentialsFile: z.string().min(1).optional(),
    configFile: z.string().min(1).optional(),
    homeDirs: list,
    refreshInterval: duration('refreshInterval').refine((ms) => ms >= 1000, 'at least 1s'),
    validity: duration('validity').refine((ms) => ms >= 1000, 'at least 1s'),
    refreshGrace: duration('refreshGrace'),
    expiryWarning: duration('expiryWarning'),
    waitTimeout: duration('waitTimeout'),
    /** How often the running agent re-checks the ENI once ready. */
    networkCheckInterval: duration('networkCheckInterval').refine((ms) => ms >= 1000, 'at least 1s'),
    /** A changed profile file is used once it has been quiet this long (torn in-place writes). */
    settleTime: duration('settleTime').refine((ms) => ms <= 10_000, 'at most 10s'),
    /**
     * The agent signs one STS GetCallerIdentity with each new set before serving it (a torn or
     * bad set is refused by STS). auto: on when STS answers the first check, off otherwise.
     */
    verifyNewCredentials: z.union([z.literal('auto'), bool]),
    processTimeout: duration('processTimeout').refine((ms) => ms >= 100, 'at least 100ms'),
    excludeCidrs: cidrs,
    interface: z.string().min(1).optional(),
    probe: z.enum(PROBES),
    port: z.coerce.number().int().min(0).max(65535),
    imds: bool,
    /** IMDS emulation's own loopback port (contract.ts defaultImdsPort: `port` + 1, 0 with port 0). */
    imdsPort: z.coerce.number().int().min(0).max(65535).optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region like us-east-1').optional(),
    stsEndpoint: z.string().url().optional(),
    /** Service mode: JSON log files here, rotated by size and time; unset = stderr. */
    logDir: z.string().min(1).optional(),
    logMaxSizeMb: z.coerce.number().positive().max(1024),
    logMaxFiles: z.coerce.number().int().min(1).max(100),
    logFrequency: z.enum(['daily', 'hourly', 'none']),
    /** Group (Linux) or account group (Windows) that may read the token file besides its owner. */
    tokenGroup: z.string().min(1).optional(),
    /** Besides root/SYSTEM and the agent's own user, who may own a profile file (names or uids). */
    trustedOwners: list,
    /** false: ownership checks on profile files and the state/log folders only warn. */
    strictPermissions: bool,
    /** Linux: the file AppStream exports its AppStream_* variables from; read, never run. */
    systemVarsFile: z.string().min(1).optional(),
    /**
     * Local users (names or numeric uids) allowed on the credential and status routes besides
     * root/SYSTEM, the agent's user and tokenGroup members; `*` allows every local user.
     */
    allowUsers: list.superRefine((values, ctx) => {
      for (const value of values) {
        if (value !== '*' && !/^[A-Za-z0-9_.@\\-][A-Za-z0-9_.@\\ $-]{0,255}$/.test(value)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a user name, a uid or *` });
      }
    }),
    /** Named roles assumed from the machine role (roleSettings.ts). */
    roles: rolesSchema,
    /** CloudWatch namespace of the fleet metrics; unset = no metrics published. */
    metricsNamespace: z
      .string()
      .regex(METRICS_NAMESPACE, METRICS_NAMESPACE_RULE)
      .optional(),
    /** How often the fleet metrics are published (one PutMetricData call or one EMF line each time). */
    metricsInterval: duration('metricsInterval').refine((ms) => ms >= 1000, 'at least 1s'),
    /** cloudwatch: PutMetricData; emf: Embedded Metric Format lines in the agent's log, no AWS call. */
    metricsFormat: z.enum(METRICS_FORMATS),
    /** Adds an Instance dimension (the host name): one metric series per instance, each billed. */
    metricsPerInstance: bool,
  })
  .strict();

export type SettingKey = keyof z.output<typeof settingsSchema>;
export type Settings = Omit<z.output<typeof settingsSchema>, 'imdsPort'> & {
  /** Resolved by loadSettings (its default follows `port`). */
  imdsPort: number;
  /**
   * Where each value came from ('default', '--config FILE', a variable or flag name,
   * 'AppStream_Image_Arn'), for messages that say why a value applies. Set by loadSettings.
   */
  readonly origins?: Readonly<Partial<Record<SettingKey, string>>>;
};
export const SETTING_KEYS = Object.keys(settingsSchema.shape) as SettingKey[];

/** Allowed values shown in error messages, where a short list exists. */
export const ALLOWED: Partial<Record<SettingKey, string>> = {
  logLevel: LOG_LEVELS.join(', '),
  probe: PROBES.join(', '),
  port: 'an integer from 0 to 65535 (0 = ephemeral)',
  imds: 'true or false',
  verifyNewCredentials: 'auto, true or false',
  imdsPort: 'an integer from 0 to 65535 (0 = ephemeral), not the same as port',
  strictPermissions: 'true or false',
  allowUsers: 'user names or uids, comma-separated, or *',
  logFrequency: 'daily, hourly or none',
  logMaxFiles: 'a whole number from 1 to 100',
  metricsFormat: METRICS_FORMATS.join(' or '),
  metricsPerInstance: 'true or false',
};
