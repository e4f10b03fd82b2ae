/**
 * Windows security identifiers as bytes and as their S-1-… text. Trust on Windows is decided by
 * SID, never by account name: names are localized (NT-AUTORITÄT\SYSTEM, BUILTIN\Administrateurs)
 * and an account can be renamed; the SID is the same on every display language.
 */

/** Well-known SIDs the rules name. */
export const WELL_KNOWN = {
  system: 'S-1-5-18',
  administrators: 'S-1-5-32-544',
  users: 'S-1-5-32-545',
  everyone: 'S-1-1-0',
  authenticatedUsers: 'S-1-5-11',
  anonymous: 'S-1-5-7',
  /** An ACE for it on an object is a template for children (it applies to nobody as it stands). */
  creatorOwner: 'S-1-3-0',
  /** Stands for whoever owns the object: the owner is judged on its own. */
  ownerRights: 'S-1-3-4',
  trustedInstaller: 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464',
} as const;

/** Names for messages where the OS could not resolve a SID (English; only ever shown, never compared). */
export const WELL_KNOWN_NAMES: ReadonlyMap<string, string> = new Map([
  [WELL_KNOWN.system, 'NT AUTHORITY\\SYSTEM'],
  [WELL_KNOWN.administrators, 'BUILTIN\\Administrators'],
  [WELL_KNOWN.users, 'BUILTIN\\Users'],
  [WELL_KNOWN.everyone, 'Everyone'],
  [WELL_KNOWN.authenticatedUsers, 'NT AUTHORITY\\Authenticated Users'],
  [WELL_KNOWN.anonymous, 'NT AUTHORITY\\ANONYMOUS LOGON'],
  [WELL_KNOWN.creatorOwner, 'CREATOR OWNER'],
  [WELL_KNOWN.ownerRights, 'OWNER RIGHTS'],
  [WELL_KNOWN.trustedInstaller, 'NT SERVICE\\TrustedInstaller'],
]);

/** The binary SID at `offset` (revision 1, count, 48-bit big-endian authority, 32-bit LE sub-authorities). */
export function parseSid(bytes: Uint8Array, offset = 0): { sid: string; length: number } {
  if (offset + 8 > bytes.length) throw new Error(`SID at ${offset} runs past the end (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const revision = bytes[offset]!;
  const count = bytes[offset + 1]!;
  if (revision !== 1 || count > 15) throw new Error(`not a SID at ${offset} (revision ${revision}, ${count} sub-authorities)`);
  const length = 8 + 4 * count;
  if (offset + length > bytes.length) throw new Error(`SID at ${offset} runs past the end (${bytes.length} bytes)`);
  let authority = 0;
  for (let i = 2; i < 8; i += 1) authority = authority * 256 + bytes[offset + i]!;
  const subs: number[] = [];
  for (let i = 0; i < count; i += 1) subs.push(view.getUint32(offset + 8 + 4 * i, true));
  return { sid: `S-1-${authority}${subs.map((s) => `-${s}`).join('')}`, length };
}

/** The binary form of `S-1-…` text. Throws on anything else. */
export function sidBytes(text: string): Uint8Array {
  const match = /^S-1-(\d+)((?:-\d+){0,15})$/i.exec(text);
  if (!match) throw new Error(`not a SID: ${text}`);
  const subs = match[2] ? match[2].slice(1).split('-').map(Number) : [];
  const authority = Number(match[1]);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48 || subs.some((s) => s > 0xffffffff)) throw new Error(`not a SID: ${text}`);
  const bytes = new Uint8Array(8 + 4 * subs.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = 1;
  bytes[1] = subs.length;
  for (let i = 7, rest = authority; i >= 2; i -= 1, rest = Math.floor(rest / 256)) bytes[i] = rest % 256;
  subs.forEach((s, i) => view.setUint32(8 + 4 * i, s, true));
  return bytes;
}

export const isSid = (text: string): boolean => /^S-1-\d+(-\d+){0,15}$/i.test(text);
