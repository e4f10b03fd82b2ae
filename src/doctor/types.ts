import type { Clock } from '../clock.js';
import type { Settings } from '../config/settingsSchema.js';
import type { CredentialSource, Credentials } from '../credentials.js';
import type { ReadNetwork } from '../network/types.js';
import type { Identity } from '../network/probes.js';
import type { ServiceStatus } from '../service/managerTypes.js';
import type { TrustRefusal } from '../trust/checkPathTrust.js';
import type { CheckTrust } from '../trust/pathTrust.js';
import type { AppStreamIdentity } from '../identity/appStreamIdentity.js';
import type { StatusReport } from '../tracker/describeTracker.js';

/** Everything the checks touch, injected so each check is tested with fakes. */
export interface DoctorDeps {
  settings: Settings;
  clock: Clock;
  platform: NodeJS.Platform;
  source: CredentialSource;
  readNetwork: ReadNetwork;
  /** GetCallerIdentity with the given credentials. */
  identity: (credentials: Credentials) => Promise<Identity>;
  /** The Date header of any answer from the STS endpoint, for clock skew. */
  stsDate: () => Promise<Date | undefined>;
  serviceStatus?: () => Promise<ServiceStatus>;
  /** Profile files the source refused while doctor read it (filled as the source runs). */
  refusals?: readonly TrustRefusal[];
  /** Windows: how the ownership rule reads owners and DACLs (native SIDs, or the icacls fallback and why). */
  trustRoute?: { route: 'native'; file: string } | { route: 'icacls'; reason: string };
  /** The ownership rule for the agent's state and log folders. */
  folderTrust?: CheckTrust;
  /** The running agent's status report, when one answers: its judgement of the credentials wins. */
  agentStatus?: () => Promise<StatusReport | undefined>;
  /** The caller's AppStream_* variables (see identity/appStreamIdentity.ts). */
  instance?: AppStreamIdentity;
  /** The ownership rule for agent.json and the token file (as clients apply it). */
  agentTrust?: CheckTrust;
  /** Linux: which calling-user lookup works here (netlink sock_diag, or the /proc/net/tcp fallback and why). */
  callerLookup?: () => Promise<{ route: string; fallbackReason?: string | undefined }>;
  /** Reads /proc files (the port's owner); injected by tests. */
  readProc?: (path: string) => Promise<string>;
  /** Skip the agent checks (machines where only direct mode is used). */
  expectAgent: boolean;
}

/** What one check learned that later checks need. */
export interface DoctorContext {
  credentials?: Credentials;
}
