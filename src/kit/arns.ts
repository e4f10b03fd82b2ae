import { usageError } from '../errors.js';

const PARTITION = '(aws|aws-us-gov|aws-cn)';

/** IAM role names may carry a path: `role/path/to/Name`. */
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):role/(?:[\\x21-\\x7e]*/)?[\\w+=,.@-]{1,64}$`);
/** The name of a SAML provider: 1–128 characters of `[\w._-]`. */
const SAML_PROVIDER_ARN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):saml-provider/[\\w._-]{1,128}$`);
/** The fleets and image builders that assume a machine role; `*` and `?` are allowed because the condition uses ArnLike. */
const APPSTREAM_SOURCE_ARN = new RegExp(`^arn:${PARTITION}:appstream:([a-z0-9*?-]+):(\\d{12}|[*?]+):([\\w*?-]+)/(.+)$`);

export interface ParsedArn {
  partition: string;
  account: string;
}

const parse = (pattern: RegExp, text: string): ParsedArn | undefined => {
  const match = pattern.exec(text);
  return match ? { partition: match[1]!, account: match[2]! } : undefined;
};

export const parseRoleArn = (text: string): ParsedArn | undefined => parse(ROLE_ARN, text);
export const parseSamlProviderArn = (text: string): ParsedArn | undefined => parse(SAML_PROVIDER_ARN, text);

export function requireSamlProviderArn(text: string, flag: string): ParsedArn & { arn: string } {
  const arn = text.trim();
  const parsed = parseSamlProviderArn(arn);
  if (!parsed) {
    throw usageError(
      `${flag}: "${text}" is not a SAML provider ARN (arn:aws:iam::123456789012:saml-provider/NAME)`,
      'bad-arn',
    );
  }
  return { ...parsed, arn };
}

export interface SourceArn {
  arn: string;
  partition: string;
  /** Undefined when the ARN leaves the account to a wildcard. */
  account: string | undefined;
}

export function requireAppStreamSourceArn(text: string, flag: string): SourceArn {
  const arn = text.trim();
  const match = APPSTREAM_SOURCE_ARN.exec(arn);
  if (!match) {
    throw usageError(
      `${flag}: "${text}" is not an AppStream fleet or image builder ARN ` +
        '(arn:aws:appstream:us-east-1:123456789012:fleet/NAME; * allowed)',
      'bad-arn',
    );
  }
  const account = match[3]!;
  return { arn, partition: match[1]!, account: /^\d{12}$/.test(account) ? account : undefined };
}
