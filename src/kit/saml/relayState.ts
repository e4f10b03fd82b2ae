import { usageError } from '../../errors.js';
import { normalizeAccountId, requireStackName } from '../identifiers.js';
import { requireAppStreamRegion } from '../regions.js';

export interface RelayStateOptions {
  region: string;
  account: string;
  stack: string;
  app?: string;
  desktop?: boolean;
  fips?: boolean;
}

export interface RelayState {
  url: string;
  endpoint: string;
  region: string;
  accountId: string;
  stack: string;
  app: string | null;
  fips: boolean;
}

/**
 * FIPS relay-state endpoints exist only where the guide's relay-state table lists them; anywhere
 * else a `-fips` host does not resolve and users would land on an error page after sign-in.
 */
const FIPS_REGIONS: readonly string[] = ['us-east-1', 'us-west-2', 'us-gov-west-1'];

function endpointHost(region: string, fips: boolean): string {
  const service = fips ? 'appstream2-fips' : 'appstream2';
  // GovCloud relay states live under the GovCloud domain, not aws.amazon.com.
  const domain = region.startsWith('us-gov-') ? 'amazonaws-us-gov.com' : 'aws.amazon.com';
  return `${service}.${region}.${domain}`;
}

/** `https://appstream2.<region>.aws.amazon.com/saml?stack=…&accountId=…[&app=…]` (guide, step 6). */
export function relayState(options: RelayStateOptions): RelayState {
  if (options.app !== undefined && options.desktop) {
    throw usageError('--app and --desktop cannot be used together; choose one', 'conflicting-options');
  }
  if (options.app !== undefined && options.app.trim() === '') {
    throw usageError('--app: the application name is empty', 'bad-app');
  }
  const region = requireAppStreamRegion(options.region);
  const accountId = normalizeAccountId(options.account, '--account');
  const stack = requireStackName(options.stack);
  const fips = options.fips ?? false;
  if (fips && !FIPS_REGIONS.includes(region)) {
    throw usageError(
      `--fips: AppStream 2.0 has no FIPS relay-state endpoint in ${region}; FIPS endpoints exist in ${FIPS_REGIONS.join(', ')}`,
      'no-fips-endpoint',
    );
  }
  const app = options.desktop ? 'Desktop' : (options.app ?? null);

  const endpoint = `https://${endpointHost(region, fips)}/saml`;
  // encodeURIComponent writes a space as %20, which every query parser reads as a space; the
  // "+" that URLSearchParams would write is a space only to form decoders.
  const params = [`stack=${encodeURIComponent(stack)}`, `accountId=${accountId}`];
  if (app !== null) params.push(`app=${encodeURIComponent(app)}`);
  return { url: `${endpoint}?${params.join('&')}`, endpoint, region, accountId, stack, app, fips };
}
