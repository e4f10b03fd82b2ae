import { usageError } from '../../errors.js';
import { normalizeAccountId } from '../identifiers.js';
import { requireAppStreamSourceArn } from '../arns.js';
import type { ConditionBlock, PolicyDocument } from '../policyDocument.js';

export interface MachineRoleTrustOptions {
  sourceAccount?: string;
  sourceArn?: string;
}

export interface MachineRoleTrust {
  document: PolicyDocument;
  /** Advice that does not stop the document from being printed. */
  warnings: string[];
}

/**
 * The trust policy of a fleet or image builder role: AppStream assumes it and writes the
 * `appstream_machine_role` profile. The optional conditions follow the AppStream guide's
 * "Cross-Service Confused Deputy Prevention" page: `aws:SourceAccount` with StringEquals,
 * `aws:SourceArn` with ArnLike (so fleet/* style wildcards work).
 */
export function machineRoleTrust(options: MachineRoleTrustOptions): MachineRoleTrust {
  const warnings: string[] = [];
  const account =
    options.sourceAccount === undefined ? undefined : normalizeAccountId(options.sourceAccount, '--source-account');
  const source =
    options.sourceArn === undefined ? undefined : requireAppStreamSourceArn(options.sourceArn, '--source-arn');

  if (account && source?.account && source.account !== account) {
    // The guide requires both keys to name the same account when used in one statement.
    throw usageError(
      `--source-arn names account ${source.account} but --source-account is ${account}; they must match`,
      'account-mismatch',
    );
  }
  if (source && !source.account && !account) {
    warnings.push(
      '--source-arn leaves the account to a wildcard; add --source-account so another account cannot match',
    );
  }
  if (!source && !account) {
    warnings.push('no --source-account or --source-arn: any AppStream resource in any account could assume this role');
  }

  const condition: ConditionBlock = {};
  if (account) condition.StringEquals = { 'aws:SourceAccount': account };
  if (source) condition.ArnLike = { 'aws:SourceArn': source.arn };

  return {
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: ['appstream.amazonaws.com'] },
          Action: 'sts:AssumeRole',
          ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
        },
      ],
    },
    warnings,
  };
}
