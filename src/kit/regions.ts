import { usageError } from '../errors.js';

export type Partition = 'aws' | 'aws-us-gov' | 'aws-cn';

/**
 * Regions where AppStream 2.0 (now "WorkSpaces Applications") serves SAML users, taken from the
 * user-authentication domain table of the Administration Guide ("Allowed Domains",
 * docs.aws.amazon.com/appstream2/latest/developerguide/allowed-domains.html), whose entries are
 * `*.appstream2.<region>.aws.amazon.com` (GovCloud: `…amazonaws-us-gov.com`). Kept explicit so a
 * typo in a region gives a usage error instead of a relay state that silently goes nowhere.
 */
const APPSTREAM_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-5',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'sa-east-1',
  'il-central-1',
  'us-gov-west-1',
  'us-gov-east-1',
];

const REGION_SHAPE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

const isRegionShape = (region: string): boolean => REGION_SHAPE.test(region);

export const isAppStreamRegion = (region: string): boolean => APPSTREAM_REGIONS.includes(region);

export function partitionOf(region: string): Partition {
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('cn-')) return 'aws-cn';
  return 'aws';
}

/** For commands that build an AppStream URL: the region must be one AppStream is offered in. */
export function requireAppStreamRegion(region: string): string {
  const value = region.trim();
  if (!isAppStreamRegion(value)) {
    throw usageError(
      `--region: AppStream 2.0 is not offered in "${region}"; use one of ${APPSTREAM_REGIONS.join(', ')}`,
      'unknown-region',
    );
  }
  return value;
}

/** For IAM documents: any well-formed region name, so new regions work before this list learns them. */
export function requireRegionShape(region: string): string {
  const value = region.trim();
  if (!isRegionShape(value)) {
    throw usageError(`--region: "${region}" is not a region name such as us-east-1`, 'bad-region');
  }
  return value;
}
