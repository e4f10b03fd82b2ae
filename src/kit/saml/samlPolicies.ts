import { requireSamlProviderArn } from '../arns.js';
import { normalizeAccountId, requireStackName } from '../identifiers.js';
import { partitionOf, requireRegionShape } from '../regions.js';
import type { PolicyDocument } from '../policyDocument.js';

export interface SamlTrustOptions {
  providerArn: string;
  /** Application entitlements pass session tags, which needs sts:TagSession in the trust. */
  entitlements?: boolean;
}

/**
 * Trust policy of the federation role (AppStream guide, "Setting Up SAML", step 2): only the
 * named SAML provider, and only for persistent subjects, so `${saml:sub}` is a stable user ID.
 */
export function samlTrustPolicy(options: SamlTrustOptions): PolicyDocument {
  const provider = requireSamlProviderArn(options.providerArn, '--provider-arn');
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: provider.arn },
        Action: options.entitlements ? ['sts:AssumeRoleWithSAML', 'sts:TagSession'] : 'sts:AssumeRoleWithSAML',
        Condition: { StringEquals: { 'SAML:sub_type': 'persistent' } },
      },
    ],
  };
}

export interface StreamPolicyOptions {
  region: string;
  account: string;
  stack: string;
}

function stackArn(options: StreamPolicyOptions): string {
  const region = requireRegionShape(options.region);
  const account = normalizeAccountId(options.account, '--account');
  const stack = requireStackName(options.stack);
  return `arn:${partitionOf(region)}:appstream:${region}:${account}:stack/${stack}`;
}

/**
 * Inline policy of the federation role (step 3): stream one stack, and only as the user the
 * assertion names, so one federated user cannot open a session as another.
 */
export function streamPolicy(options: StreamPolicyOptions): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'appstream:Stream',
        Resource: stackArn(options),
        Condition: { StringEquals: { 'appstream:userId': '${saml:sub}' } },
      },
    ],
  };
}
