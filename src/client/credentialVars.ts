import type { Credentials } from '../credentials.js';

/** The standard variables every SDK and the CLI read, for env and exec. */
export function credentialVars(credentials: Credentials & { expiration: Date }, region?: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_CREDENTIAL_EXPIRATION: credentials.expiration.toISOString(),
    // botocore and the AWS CLI v1 read AWS_DEFAULT_REGION; the other SDKs AWS_REGION.
    ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {}),
  };
}

/** The credential_process JSON (Version 1) the SDKs and the CLI parse. */
export function processJson(credentials: Credentials & { expiration: Date }): string {
  return `${JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { SessionToken: credentials.sessionToken } : {}),
    Expiration: credentials.expiration.toISOString(),
    ...(credentials.accountId ? { AccountId: credentials.accountId } : {}),
  })}\n`;
}
