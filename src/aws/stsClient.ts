import type { STSClient } from '@aws-sdk/client-sts';
import { awsClientConfig, type AwsClientSettings } from './awsClientConfig.js';

export interface StsCaller {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface StsClientInit extends AwsClientSettings {
  /** Who signs: the machine role, a new generation to verify, simulate's caller. */
  credentials: StsCaller;
  /** SDK attempts per call (1 = no retry: the caller's own backoff retries). */
  maxAttempts?: number;
}

/**
 * The one way the agent talks to STS (machine-role probe, doctor, named roles, simulate,
 * verification of a new generation): endpoint, region and proxy rules from awsClientConfig.
 * The client is destroyed after `use`; @aws-sdk/client-sts is loaded on first use only.
 */
export async function withStsClient<T>(init: StsClientInit, use: (client: STSClient, sts: typeof import('@aws-sdk/client-sts')) => Promise<T>): Promise<T> {
  const sts = await import('@aws-sdk/client-sts');
  const { credentials: c } = init;
  const client = new sts.STSClient({
    ...(await awsClientConfig('sts', init)),
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) },
    maxAttempts: init.maxAttempts ?? 1,
  });
  try {
    return await use(client, sts);
  } finally {
    client.destroy();
  }
}
