import { usageError } from '../errors.js';

/**
 * Account IDs are pasted from consoles as `1234-5678-9012`; IAM and the relay state want the
 * twelve digits alone.
 */
export function normalizeAccountId(text: string, flag: string): string {
  const digits = text.trim().replace(/-/g, '');
  if (!/^\d{12}$/.test(digits)) {
    throw usageError(`${flag}: "${text}" is not an AWS account ID (12 digits, hyphens allowed)`, 'bad-account');
  }
  return digits;
}

/** AppStream's own pattern for stack (and fleet) names in CreateStack. */
const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/;

export function requireStackName(text: string): string {
  if (!STACK_NAME.test(text)) {
    throw usageError(
      `--stack: "${text}" is not a stack name (letters, digits, _ . -; starts with a letter or digit; at most 101 characters)`,
      'bad-stack',
    );
  }
  return text;
}
