/**
 * Verbs that make an IAM action change something. IAM has no machine-readable access level we
 * can ship offline, so this follows the naming convention every service uses: the action name
 * starts with its verb (s3:PutObject, ec2:TerminateInstances, iam:PassRole).
 */
const WRITE_VERBS: readonly string[] = [
  'Abort', 'Accept', 'Activate', 'Add', 'Allocate', 'Apply', 'Assign', 'Associate', 'Assume', 'Attach',
  'Authorize', 'BatchDelete', 'BatchPut', 'BatchUpdate', 'BatchWrite', 'Cancel', 'Change', 'Complete',
  'Copy', 'Create', 'Deactivate', 'Delete', 'Deregister', 'Detach', 'Disable', 'Disassociate', 'Enable',
  'Execute', 'Import', 'Initiate', 'Invoke', 'Modify', 'Move', 'Pass', 'Publish', 'Purge', 'Put', 'Reboot',
  'Register', 'Reject', 'Release', 'Remove', 'Rename', 'Replace', 'Reset', 'Restore', 'Revoke', 'Rotate',
  'Run', 'Send', 'Set', 'Start', 'Stop', 'Tag', 'Terminate', 'Untag', 'Update', 'Upload', 'Write',
];

/** The part of an action name before its first wildcard: what every match must start with. */
const literalPrefix = (name: string): string => {
  const wildcard = name.search(/[*?]/);
  return wildcard === -1 ? name : name.slice(0, wildcard);
};

/**
 * True when the action, or any action its wildcards can match, writes. IAM compares action
 * names case-insensitively. `s3:Get*` can only match readers; `s3:*`, `s3:P*` and `*Object`
 * can match PutObject.
 */
export function canWrite(action: string): boolean {
  if (action === '*') return true;
  const colon = action.indexOf(':');
  const name = (colon === -1 ? action : action.slice(colon + 1)).toLowerCase();
  const hasWildcard = /[*?]/.test(name);
  const prefix = literalPrefix(name);
  return WRITE_VERBS.some((verb) => {
    const v = verb.toLowerCase();
    return hasWildcard ? v.startsWith(prefix) || prefix.startsWith(v) : name.startsWith(v);
  });
}
