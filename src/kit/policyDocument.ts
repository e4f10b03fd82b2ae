/** The subset of the IAM policy grammar that the generators emit. */
export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Generated documents are printed exactly like this, so they paste straight into the console. */
export const renderPolicy = (document: PolicyDocument): string => `${JSON.stringify(document, null, 2)}\n`;
