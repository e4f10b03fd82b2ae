import { parseSid, sidBytes } from './sid.js';

/**
 * A self-relative security descriptor as GetNamedSecurityInfoW returns it, read in JS: the owner
 * and the DACL as SIDs with access masks. The native layer only hands over bytes, so what the
 * rule sees can be tested with bytes captured from a real system.
 */
export interface Ace {
  /** 0 allow, 1 deny; other types are kept so the rule can refuse what it does not know. */
  type: number;
  /** OBJECT_INHERIT 0x1, CONTAINER_INHERIT 0x2, NO_PROPAGATE 0x4, INHERIT_ONLY 0x8, INHERITED 0x10. */
  flags: number;
  mask: number;
  /** undefined for ACE types without a SID at offset 8. */
  sid: string | undefined;
}

export interface SecurityInfo {
  owner: string | undefined;
  /** null: no DACL at all, which Windows reads as "everyone may do everything". */
  dacl: Ace[] | null;
}

export const ACE_TYPE = { allow: 0, deny: 1 } as const;
export const ACE_FLAG = { objectInherit: 0x1, containerInherit: 0x2, noPropagate: 0x4, inheritOnly: 0x8, inherited: 0x10 } as const;
const SE_DACL_PRESENT = 0x0004;
const SE_SELF_RELATIVE = 0x8000;

/** Access-mask bits the rules name. */
export const ACCESS = {
  readData: 0x1,
  writeData: 0x2,
  appendData: 0x4,
  readEa: 0x8,
  writeEa: 0x10,
  execute: 0x20,
  deleteChild: 0x40,
  readAttributes: 0x80,
  writeAttributes: 0x100,
  delete: 0x10000,
  readControl: 0x20000,
  writeDac: 0x40000,
  writeOwner: 0x80000,
  synchronize: 0x100000,
  genericAll: 0x10000000,
  genericExecute: 0x20000000,
  genericWrite: 0x40000000,
  genericRead: 0x80000000,
} as const;
/** FILE_ALL_ACCESS, what "Full control" is on a file or folder. */
export const FILE_ALL_ACCESS = 0x1f01ff;
/** FILE_GENERIC_READ | FILE_GENERIC_EXECUTE: read, list and traverse. */
export const FILE_READ_EXECUTE = 0x1200a9;

export function parseAcl(bytes: Uint8Array, offset: number): Ace[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (offset + 8 > bytes.length) throw new Error(`ACL at ${offset} runs past the end`);
  const size = view.getUint16(offset + 2, true);
  const count = view.getUint16(offset + 4, true);
  const end = offset + size;
  if (end > bytes.length) throw new Error(`ACL at ${offset} claims ${size} bytes, only ${bytes.length - offset} there`);
  const aces: Ace[] = [];
  let at = offset + 8;
  for (let i = 0; i < count; i += 1) {
    if (at + 4 > end) throw new Error(`ACE ${i} runs past the ACL`);
    const type = bytes[at]!;
    const flags = bytes[at + 1]!;
    const aceSize = view.getUint16(at + 2, true);
    if (aceSize < 8 || at + aceSize > end) throw new Error(`ACE ${i} has a bad size (${aceSize})`);
    const mask = view.getUint32(at + 4, true);
    // Allow, deny, audit and alarm ACEs (types 0-3) and their callback forms (9, 10) carry the SID at 8.
    const simple = type <= 3 || type === 9 || type === 10;
    aces.push({ type, flags, mask, sid: simple ? parseSid(bytes.subarray(0, at + aceSize), at + 8).sid : undefined });
    at += aceSize;
  }
  return aces;
}

export function parseSecurityDescriptor(bytes: Uint8Array): SecurityInfo {
  if (bytes.length < 20) throw new Error(`security descriptor too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const control = view.getUint16(2, true);
  if (!(control & SE_SELF_RELATIVE)) throw new Error('security descriptor is not self-relative');
  const ownerAt = view.getUint32(4, true);
  const daclAt = view.getUint32(16, true);
  return {
    owner: ownerAt ? parseSid(bytes, ownerAt).sid : undefined,
    dacl: control & SE_DACL_PRESENT && daclAt ? parseAcl(bytes, daclAt) : null,
  };
}

export interface AceSpec {
  sid: string;
  mask: number;
  flags?: number;
}

/** An ACL of allow ACEs, in order, as SetNamedSecurityInfoW takes it. */
export function buildAcl(entries: readonly AceSpec[]): Uint8Array {
  const aces = entries.map((e) => {
    const sid = sidBytes(e.sid);
    const ace = new Uint8Array(8 + sid.length);
    const view = new DataView(ace.buffer);
    ace[0] = ACE_TYPE.allow;
    ace[1] = e.flags ?? 0;
    view.setUint16(2, ace.length, true);
    view.setUint32(4, e.mask >>> 0, true);
    ace.set(sid, 8);
    return ace;
  });
  const size = 8 + aces.reduce((n, a) => n + a.length, 0);
  const acl = new Uint8Array(size);
  const view = new DataView(acl.buffer);
  acl[0] = 2; // ACL_REVISION
  view.setUint16(2, size, true);
  view.setUint16(4, aces.length, true);
  let at = 8;
  for (const ace of aces) {
    acl.set(ace, at);
    at += ace.length;
  }
  return acl;
}
