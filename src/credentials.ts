import { createHash } from 'node:crypto';

/** One set of AWS credentials as the product passes them between stages. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** From the source when it says (credential_process, STS); otherwise computed by the tracker. */
  readonly expiration?: Date;
  readonly accountId?: string;
  readonly roleArn?: string;
}

/** What a source returns: the credentials plus facts about where and when they came from. */
export interface SourcedCredentials {
  readonly credentials: Credentials;
  /** Best estimate of when AppStream issued them (the file's mtime for static keys). */
  readonly issuedAt?: Date;
  /** Human description: "static keys in /home/x/.aws/credentials [appstream_machine_role]". */
  readonly origin: string;
  /** The profile they were read from, when the source reads profiles. */
  readonly profile?: string;
  /** Set by the agent's verification stage (verifyNewCredentials): what STS said of this set. */
  readonly verification?: Verification;
}

/** Whether STS accepted a set before it was served; `detail` says why not (no secret). */
export interface Verification {
  readonly verified: boolean;
  readonly detail: string;
}

/** Reads the credentials now (AWS SDK v3 provider style); failures are AgentErrors. */
export type CredentialSource = () => Promise<SourcedCredentials>;

/**
 * A pluggable source: how to read the credentials and what it reads, so the daemon re-reads as
 * soon as that changes (besides its refresh interval and the credentials' own expiry). The
 * daemon and the commands take any source; one built on another (a role assumed with the
 * machine role's credentials) wraps the other's `resolve` and passes its `watch` on.
 */
export interface WatchedSource {
  readonly resolve: CredentialSource;
  /** Files to watch (they may not exist yet); none: re-read on schedule only. */
  readonly watch?: { readonly files: readonly string[] };
}

/** Key ids are not secret, but status output shows only their last 4 characters. */
export const maskKeyId = (accessKeyId: string): string => `…${accessKeyId.slice(-4)}`;

/** A set's fingerprint, to recognise it again without keeping its secrets. */
export const credentialDigest = (c: Credentials): string =>
  createHash('sha256').update(`${c.accessKeyId}\n${c.secretAccessKey}\n${c.sessionToken ?? ''}`).digest('hex');
