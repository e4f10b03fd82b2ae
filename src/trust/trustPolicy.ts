/**
 * Who may own the files the agent acts on, decided once at start (names resolved to ids then,
 * not per read). Every other local account is hostile: a file it owns, or could have replaced
 * through a folder it can write, is refused (ssh's StrictModes).
 */
export interface TrustPolicy {
  /** POSIX: uids whose files are trusted (root, the current user, configured owners). */
  readonly uids: ReadonlySet<number>;
  /** Windows: account names trusted besides SYSTEM, Administrators and TrustedInstaller. */
  readonly accounts: readonly string[];
  /** false: a refusal is reported as a warning and the file is used anyway. */
  readonly strict: boolean;
  /** uid → account name, for messages. */
  readonly names: ReadonlyMap<number, string>;
}

/** Parses /etc/passwd text into name → uid. */
export function parsePasswd(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid)) ids.set(name, Number(uid));
  }
  return ids;
}

export interface TrustPolicyInput {
  /** Account names or numeric ids (the `trustedOwners` setting plus, for clients, the service account). */
  owners: readonly string[];
  /** The current process's uid; undefined on Windows. */
  uid: number | undefined;
  /** Windows: the current account's name. */
  userName?: string;
  strict: boolean;
  /** /etc/passwd content ('' on Windows or when unreadable). */
  passwd: string;
}

/**
 * Names unknown to /etc/passwd are skipped: the default owner (ImageBuilderAdmin) does not
 * exist on every machine, and a name that does not resolve cannot own a file anyway. Directory
 * (LDAP) accounts are given by uid.
 */
export function trustPolicy(input: TrustPolicyInput): TrustPolicy {
  const ids = parsePasswd(input.passwd);
  const names = new Map<number, string>();
  for (const [name, id] of ids) if (!names.has(id)) names.set(id, name);
  const uids = new Set<number>([0]);
  if (input.uid !== undefined) uids.add(input.uid);
  for (const owner of input.owners) {
    const id = /^\d+$/.test(owner) ? Number(owner) : ids.get(owner);
    if (id !== undefined) uids.add(id);
  }
  return {
    uids,
    accounts: [...input.owners, ...(input.userName ? [input.userName] : [])],
    strict: input.strict,
    names,
  };
}

/** "uid 1001 (as2-streaming-user)" */
export const describeUid = (policy: TrustPolicy, uid: number): string => {
  const name = policy.names.get(uid);
  return name ? `uid ${uid} (${name})` : `uid ${uid}`;
};

/** "root, uid 1000 (me), uid 1002 (ImageBuilderAdmin)" for the fix line. */
export const describeTrusted = (policy: TrustPolicy): string => {
  const names = [...policy.uids].map((uid) => (uid === 0 ? 'root' : describeUid(policy, uid)));
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
};
