import { randomBytes } from 'node:crypto';
import { AgentError } from '../errors.js';
import { withStsClient } from '../aws/stsClient.js';

export interface MintedCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  /** ISO time; what AppStream's own credential_process would report. */
  Expiration: string;
  AccountId?: string;
  RoleArn?: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Fake but well-formed temporary credentials, for simulating without any STS. */
export function mintFakeCredentials(expiresAt: Date): MintedCredentials {
  const id = [...randomBytes(16)].map((b) => BASE32[b % 32]).join('');
  return {
    AccessKeyId: `ASIA${id}`,
    SecretAccessKey: randomBytes(30).toString('base64'),
    SessionToken: randomBytes(180).toString('base64'),
    Expiration: expiresAt.toISOString(),
  };
}

export interface StsMintInit {
  endpoint: string;
  roleArn: string;
  region: string;
  durationSeconds: number;
  sessionName: string;
  /**
   * Who calls AssumeRole (AppStream's service principal, played by the developer). Without one,
   * a placeholder key signs: only an STS that skips signature checks accepts it.
   */
  caller?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The caller's environment, for HTTPS_PROXY / HTTP_PROXY / NO_PROXY. */
  env?: Readonly<Record<string, string | undefined>>;
}

const PLACEHOLDER_CALLER = { accessKeyId: 'AKIASIMULATORCALLER0', secretAccessKey: 'simulator-caller-not-secret' };

/** Real temporary credentials from STS AssumeRole (moto's server in tests). */
export async function mintStsCredentials(init: StsMintInit, expiresAt: Date): Promise<MintedCredentials> {
  const result = await withStsClient(
    { region: init.region, endpoint: init.endpoint, env: init.env ?? {}, credentials: init.caller ?? PLACEHOLDER_CALLER, maxAttempts: 2 },
    (client, { AssumeRoleCommand }) => client.send(new AssumeRoleCommand({ RoleArn: init.roleArn, RoleSessionName: init.sessionName, DurationSeconds: init.durationSeconds })),
  ).catch((error: Error) => {
    // An STS that checks signatures refuses the placeholder caller: say what to set.
    const hint = init.caller ? '' : '; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a caller allowed to assume the role';
    throw new AgentError(`simulate: STS AssumeRole of ${init.roleArn} at ${init.endpoint} failed (${error.name}: ${error.message})${hint}`, { code: 'sts-assume-role-failed', cause: error });
  });
  const c = result.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('STS AssumeRole returned no credentials');
  return {
    AccessKeyId: c.AccessKeyId,
    SecretAccessKey: c.SecretAccessKey,
    SessionToken: c.SessionToken,
    Expiration: expiresAt.toISOString(),
    ...(result.AssumedRoleUser?.Arn ? { RoleArn: init.roleArn } : {}),
  };
}
