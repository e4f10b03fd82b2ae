import type { Credentials, CredentialSource, SourcedCredentials } from '../credentials.js';
import { AgentError, ExitCode } from '../errors.js';
import type { RoleRequest } from './roleRequest.js';
import { viaProxy } from '../aws/awsClientConfig.js';
import { withStsClient } from '../aws/stsClient.js';

export interface AssumedRoleInit {
  /** The role's request, built again on each call (the streaming user may change). */
  request: () => RoleRequest;
  /** The machine role's credentials to call STS with. */
  base: () => Promise<Credentials>;
  region: string | undefined;
  /** STS endpoint (settings stsEndpoint / AWS_ENDPOINT_URL_STS); unset = the region's. */
  endpoint?: string | undefined;
  /** The caller's environment: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as for every STS call. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Why AssumeRole was refused, in the user's terms: which statement is missing and where. */
export function describeAccessDenied(request: RoleRequest, machineRoleArn: string | undefined, stsMessage: string): string {
  const machine = machineRoleArn ?? 'the machine role';
  const actions = ['sts:AssumeRole', ...(request.sourceIdentity ? ['sts:SetSourceIdentity'] : []), ...(request.tags ? ['sts:TagSession'] : [])].join(', ');
  const permission = `the machine role's permission policy has no statement allowing ${actions} on ${request.roleArn}`;
  const trust = `the trust policy of ${request.roleArn} has no statement trusting ${machine} with ${actions}${request.externalId ? ' (and sts:ExternalId condition)' : ''}`;
  // STS says which side refused when it knows; otherwise either may be missing.
  const which = /identity-based policy/i.test(stsMessage) ? permission : /resource-based policy|trust/i.test(stsMessage) ? trust : `${trust}, or ${permission}`;
  const flags = [request.sourceIdentity ? ' --source-identity' : '', request.tags ? ' --tag-session' : '', request.externalId ? ' --external-id ID' : ''].join('');
  return (
    `role ${request.name}: AssumeRole of ${request.roleArn} was denied: ${which}. ` +
    `Print both statements with: appstream-creds policy role-chain --machine-role ${machineRoleArn ?? 'MACHINE_ROLE_ARN'} --role ${request.roleArn}${flags}`
  );
}

const UNREACHABLE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|TimeoutError|timed? ?out/i;

/** AssumeRole's failure as an AgentError; the message carries no secret (STS messages carry none). */
function assumeError(request: RoleRequest, machineRoleArn: string | undefined, error: Error & { Code?: string; code?: string }, via: string): AgentError {
  const name = error.name || error.Code || '';
  const message = (error.message || '').replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300);
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || /not authorized to perform/i.test(message)) {
    return new AgentError(describeAccessDenied(request, machineRoleArn, message), { exitCode: ExitCode.credentialsUnavailable, code: 'role-access-denied', cause: error });
  }
  if (UNREACHABLE.test(name) || UNREACHABLE.test(message) || UNREACHABLE.test(error.code ?? '')) {
    return new AgentError(`role ${request.name}: STS is unreachable${via} (${error.code ?? name})`, {
      exitCode: ExitCode.credentialsUnavailable,
      code: 'sts-unreachable',
      transient: true,
      cause: error,
    });
  }
  return new AgentError(`role ${request.name}: AssumeRole of ${request.roleArn} failed (${name}: ${message})`, { exitCode: ExitCode.credentialsUnavailable, code: 'role-assume-failed', cause: error });
}

/**
 * A role assumed with the machine role's credentials (role chaining), AWS SDK v3 provider style.
 * @aws-sdk/client-sts is loaded on first use (withStsClient), so commands without --role never load it.
 */
export function fromAssumedRole(init: AssumedRoleInit): CredentialSource {
  return async (): Promise<SourcedCredentials> => {
    const request = init.request();
    const base = await init.base();
    const sts = { region: init.region, endpoint: init.endpoint, env: init.env, connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000 };
    const result = await withStsClient({ ...sts, credentials: base, maxAttempts: 2 }, (client, { AssumeRoleCommand }) =>
      client.send(
        new AssumeRoleCommand({
          RoleArn: request.roleArn,
          RoleSessionName: request.sessionName,
          DurationSeconds: request.durationSeconds,
          ...(request.externalId ? { ExternalId: request.externalId } : {}),
          ...(request.sourceIdentity ? { SourceIdentity: request.sourceIdentity } : {}),
          ...(request.tags ? { Tags: request.tags } : {}),
          ...(request.policy ? { Policy: request.policy } : {}),
        }),
      ),
    ).catch((error: Error) => {
      throw assumeError(request, base.roleArn, error, viaProxy('sts', sts));
    });
    const c = result.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AgentError(`role ${request.name}: STS AssumeRole returned no credentials`, { exitCode: ExitCode.credentialsUnavailable, code: 'role-assume-failed', transient: true });
    }
    const accountId = request.roleArn.split(':')[4];
    return {
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: new Date(c.Expiration),
        ...(accountId ? { accountId } : {}),
        roleArn: request.roleArn,
      },
      origin: `role ${request.name} (${request.roleArn}, session ${request.sessionName})`,
    };
  };
}
