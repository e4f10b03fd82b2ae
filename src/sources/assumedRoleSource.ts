import type { Credentials, WatchedSource } from '../credentials.js';
import type { RoleSettings } from '../config/roleSettings.js';
import { fromAssumedRole } from './fromAssumedRole.js';
import { roleRequest } from './roleRequest.js';
import type { TemplateValues } from '../identity/templateIdentity.js';

export interface AssumedRoleSourceInit {
  name: string;
  role: RoleSettings;
  /** The identity now (read again on each assumption: a session may start after the agent). */
  identity: () => TemplateValues;
  region: string | undefined;
  endpoint: string | undefined;
  /** The caller's environment, for the proxy variables. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * A named role on top of another source: its credentials call AssumeRole. The base's watch is
 * passed on, so a machine-role rotation re-reads (and re-assumes) as soon as it happens.
 */
export function assumedRoleSource(base: WatchedSource | (() => Promise<Credentials>), init: AssumedRoleSourceInit): WatchedSource {
  const baseCredentials = typeof base === 'function' ? base : async () => (await base.resolve()).credentials;
  return {
    resolve: fromAssumedRole({
      request: () => roleRequest(init.name, init.role, init.identity()),
      base: baseCredentials,
      region: init.region,
      endpoint: init.endpoint,
      env: init.env,
    }),
    ...(typeof base !== 'function' && base.watch ? { watch: base.watch } : {}),
  };
}
