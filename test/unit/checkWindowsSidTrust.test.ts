import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkWindowsSidTrust, type SecurityReader } from '../../src/trust/checkWindowsSidTrust.js';
import { pathTrust, trustedSids } from '../../src/trust/pathTrust.js';
import { trustPolicy } from '../../src/trust/trustPolicy.js';
import { refusalMessage } from '../../src/trust/checkPathTrust.js';
import { ACCESS, FILE_ALL_ACCESS, FILE_READ_EXECUTE, parseSecurityDescriptor, type Ace, type SecurityInfo } from '../../src/native/win32/securityDescriptor.js';
import { WELL_KNOWN } from '../../src/native/win32/sid.js';
import { WINE_SD, WINE_USER } from '../fixtures/wineSecurity.js';

const AGENT: string = 'S-1-5-21-1111111111-2222222222-3333333333-1001';
const PHOTON: string = 'S-1-5-21-1111111111-2222222222-3333333333-1002';
const ADMIN_USER = 'S-1-5-21-1111111111-2222222222-3333333333-500';
const FILE = 'C:\\ProgramData\\Amazon\\config';
const allow = (sid: string, mask: number, flags = 0): Ace => ({ type: 0, flags, mask, sid });
const os = (owner: string = WELL_KNOWN.system, extra: Ace[] = []): SecurityInfo => ({ owner, dacl: [allow(WELL_KNOWN.system, FILE_ALL_ACCESS), allow(WELL_KNOWN.administrators, FILE_ALL_ACCESS), ...extra] });

/** A tree as real Windows Server has it: C:\ (TrustedInstaller), ProgramData (Users may add), the file. */
function tree(overrides: Record<string, SecurityInfo | Error> = {}, links: Record<string, string> = {}) {
  const base: Record<string, SecurityInfo | Error> = {
    'C:\\': os(WELL_KNOWN.trustedInstaller, [allow(WELL_KNOWN.users, FILE_READ_EXECUTE), allow(WELL_KNOWN.authenticatedUsers, 0x4), allow(WELL_KNOWN.authenticatedUsers, 0x1301bf, 0x0b)]),
    'C:\\ProgramData': os(WELL_KNOWN.system, [allow(WELL_KNOWN.users, 0x116, 0x02), allow(WELL_KNOWN.creatorOwner, FILE_ALL_ACCESS, 0x0b)]),
    'C:\\ProgramData\\Amazon': os(WELL_KNOWN.system),
    [FILE]: os(AGENT, [allow(AGENT, FILE_ALL_ACCESS), allow(WELL_KNOWN.users, FILE_READ_EXECUTE)]),
  };
  const all = { ...base, ...overrides };
  const reads: string[] = [];
  return {
    reads,
    reader: (names: Record<string, string> = {}): SecurityReader => ({
      read: async (p) => {
        reads.push(p);
        const found = all[p];
        if (found instanceof Error) throw found;
        if (!found) throw Object.assign(new Error('GetNamedSecurityInfoW: Win32 error 2 (file not found)'), { missing: true });
        return found;
      },
      name: (sid) => names[sid],
      realpath: async (p) => {
        if (!(p in all) && !(p in links)) throw new Error('ENOENT');
        return links[p] ?? p;
      },
    }),
  };
}

const TRUSTED = new Set([WELL_KNOWN.system, WELL_KNOWN.administrators, WELL_KNOWN.trustedInstaller, AGENT]);

describe('Windows ownership rule by SID (native route)', () => {
  test('a file the agent owns under SYSTEM folders passes; the walk reads the file and every folder above it', async () => {
    const t = tree();
    assert.equal(await checkWindowsSidTrust(FILE, TRUSTED, t.reader()), undefined);
    assert.deepEqual(t.reads, [FILE, 'C:\\ProgramData\\Amazon', 'C:\\ProgramData', 'C:\\']);
  });

  test('the same file writable by Everyone is refused, naming Everyone (S-1-1-0) and the bits', async () => {
    const t = tree({ [FILE]: os(AGENT, [allow(WELL_KNOWN.everyone, 0x1301ff)]) });
    const refusal = await checkWindowsSidTrust(FILE, TRUSTED, t.reader({ [WELL_KNOWN.everyone]: 'Everyone' }));
    assert.equal(refusal?.culprit, FILE);
    assert.match(refusal!.reason, /^writable by Everyone \(S-1-1-0\) \(access 0x1301ff: .*write data.*DELETE/);
    assert.match(refusal!.fix, /icacls "C:\\ProgramData\\Amazon\\config" \/remove:g \*S-1-1-0/);
  });

  test('a trusted file in a folder Everyone may delete from is refused; a folder where users may only add entries is not', async () => {
    const t = tree({ 'C:\\ProgramData\\Amazon': os(WELL_KNOWN.system, [allow(WELL_KNOWN.everyone, 0x1301ff, 0x03)]) });
    const refusal = await checkWindowsSidTrust(FILE, TRUSTED, t.reader());
    assert.equal(refusal?.culprit, 'C:\\ProgramData\\Amazon');
    assert.match(refusalMessage(refusal!), /C:\\ProgramData\\Amazon is writable by Everyone \(S-1-1-0\) \(access 0x1301ff: delete child, DELETE\)/);
    // ProgramData grants Users add-file/add-folder (0x116): creating entries cannot replace ours.
    assert.equal(await checkWindowsSidTrust(FILE, TRUSTED, tree().reader()), undefined);
  });

  test('a folder judged as the path itself is refused when another account may delete what is in it', async () => {
    const DIR = 'C:\\ProgramData\\Amazon';
    const t = tree({ [DIR]: os(WELL_KNOWN.system, [allow(WELL_KNOWN.users, ACCESS.deleteChild)]) });
    const refusal = await checkWindowsSidTrust(DIR, TRUSTED, t.reader());
    assert.equal(refusal?.culprit, DIR);
    assert.match(refusal!.reason, /\(access 0x40: delete child\)$/);
  });

  test('an untrusted owner is a refusal even when the DACL lists nobody else: an owner can rewrite its DACL', async () => {
    const t = tree({ [FILE]: os(PHOTON) });
    const refusal = await checkWindowsSidTrust(FILE, TRUSTED, t.reader({ [PHOTON]: 'EC2AMAZ-1\\PhotonUser' }));
    assert.equal(refusal?.reason, `owned by EC2AMAZ-1\\PhotonUser (${PHOTON})`);
    const folder = await checkWindowsSidTrust(FILE, TRUSTED, tree({ 'C:\\ProgramData\\Amazon': os(PHOTON) }).reader());
    assert.equal(folder?.culprit, 'C:\\ProgramData\\Amazon');
    assert.equal(folder?.reason, `owned by ${PHOTON}`, 'an unresolved SID is named as the SID');
  });

  test('inherit-only entries and deny entries do not make an object writable; CREATOR OWNER is a template', async () => {
    const extra = [allow(PHOTON, FILE_ALL_ACCESS, 0x0b), { type: 1, flags: 0, mask: FILE_ALL_ACCESS, sid: PHOTON }, allow(WELL_KNOWN.creatorOwner, FILE_ALL_ACCESS)];
    assert.equal(await checkWindowsSidTrust(FILE, TRUSTED, tree({ 'C:\\ProgramData\\Amazon': os(WELL_KNOWN.system, extra) }).reader()), undefined);
  });

  test('read-only entries for anyone pass; write attributes or WRITE_DAC alone are refused', async () => {
    assert.equal(await checkWindowsSidTrust(FILE, TRUSTED, tree({ [FILE]: os(AGENT, [allow(PHOTON, FILE_READ_EXECUTE)]) }).reader()), undefined);
    for (const mask of [0x100, 0x40000, 0x80000, 0x10000000, 0x40000000, 0x4]) {
      const refusal = await checkWindowsSidTrust(FILE, TRUSTED, tree({ [FILE]: os(AGENT, [allow(PHOTON, mask)]) }).reader());
      assert.match(refusal?.reason ?? 'passed', /^writable by S-1-5-21-.*-1002/, `mask 0x${mask.toString(16)}`);
    }
  });

  test('no DACL, an unknown ACE type and an unreadable descriptor are refusals saying why, never a pass', async () => {
    assert.match((await checkWindowsSidTrust(FILE, TRUSTED, tree({ [FILE]: { owner: AGENT, dacl: null } }).reader()))!.reason, /without a DACL \(everyone has full control\)/);
    const objectAce = { owner: AGENT, dacl: [{ type: 5, flags: 0, mask: FILE_ALL_ACCESS, sid: undefined }] };
    assert.match((await checkWindowsSidTrust(FILE, TRUSTED, tree({ [FILE]: objectAce }).reader()))!.reason, /type 5, which this rule cannot judge/);
    const denied = await checkWindowsSidTrust(FILE, TRUSTED, tree({ 'C:\\ProgramData': new Error('GetNamedSecurityInfoW: Win32 error 5 (access denied)') }).reader());
    assert.equal(denied?.culprit, 'C:\\ProgramData');
    assert.match(denied!.reason, /cannot be read \(GetNamedSecurityInfoW: Win32 error 5 \(access denied\)\)/);
  });

  test('a missing file is not refused here (the reader reports it missing)', async () => {
    assert.equal(await checkWindowsSidTrust('C:\\ProgramData\\Amazon\\nope', TRUSTED, tree().reader()), undefined);
  });

  test('a link is judged along its real path too: a trusted link into a user-owned folder is refused', async () => {
    const t = tree({ 'C:\\Users': os(WELL_KNOWN.system), 'C:\\Users\\PhotonUser': os(PHOTON), 'C:\\Users\\PhotonUser\\config': os(AGENT) }, { [FILE]: 'C:\\Users\\PhotonUser\\config' });
    const refusal = await checkWindowsSidTrust(FILE, TRUSTED, t.reader());
    assert.equal(refusal?.culprit, 'C:\\Users\\PhotonUser');
  });

  test('bytes from Wine: the Wine user owning a 0600 file passes, 0666 names Everyone, another Unix owner is ANONYMOUS LOGON', async () => {
    const sd = (hex: string) => parseSecurityDescriptor(new Uint8Array(Buffer.from(hex, 'hex')));
    const trusted = new Set([WELL_KNOWN.system, WELL_KNOWN.administrators, WINE_USER]);
    const wine = (file: SecurityInfo) => tree({ 'C:\\': sd(WINE_SD.folder0755), 'C:\\ProgramData': sd(WINE_SD.folder0755), 'C:\\ProgramData\\Amazon': sd(WINE_SD.folder0755), [FILE]: file }).reader();
    assert.equal(await checkWindowsSidTrust(FILE, trusted, wine(sd(WINE_SD.file0600))), undefined);
    assert.match((await checkWindowsSidTrust(FILE, trusted, wine(sd(WINE_SD.file0666))))!.reason, /writable by Everyone \(S-1-1-0\)/);
    assert.match((await checkWindowsSidTrust(FILE, trusted, wine(sd(WINE_SD.foreignOwner))))!.reason, /owned by NT AUTHORITY\\ANONYMOUS LOGON \(S-1-5-7\)/);
  });
});

describe('localized account names never decide', () => {
  const LOCALIZED = {
    de: { [WELL_KNOWN.system]: 'NT-AUTORITÄT\\SYSTEM', [WELL_KNOWN.administrators]: 'VORDEFINIERT\\Administratoren', [WELL_KNOWN.users]: 'VORDEFINIERT\\Benutzer', [WELL_KNOWN.everyone]: 'Jeder', [PHOTON]: 'EC2AMAZ-1\\PhotonUser', [AGENT]: 'EC2AMAZ-1\\Agent' },
    fr: { [WELL_KNOWN.system]: 'AUTORITE NT\\Système', [WELL_KNOWN.administrators]: 'BUILTIN\\Administrateurs', [WELL_KNOWN.users]: 'BUILTIN\\Utilisateurs', [WELL_KNOWN.everyone]: 'Tout le monde', [PHOTON]: 'EC2AMAZ-1\\PhotonUser', [AGENT]: 'EC2AMAZ-1\\Agent' },
    en: { [WELL_KNOWN.system]: 'NT AUTHORITY\\SYSTEM', [WELL_KNOWN.administrators]: 'BUILTIN\\Administrators', [WELL_KNOWN.users]: 'BUILTIN\\Users', [WELL_KNOWN.everyone]: 'Everyone', [PHOTON]: 'EC2AMAZ-1\\PhotonUser', [AGENT]: 'EC2AMAZ-1\\Agent' },
  };
  const cases: [string, Record<string, SecurityInfo>][] = [
    ['trusted', {}],
    ['Everyone may write the file', { [FILE]: os(AGENT, [allow(WELL_KNOWN.everyone, 0x1301ff)]) }],
    ['Users may delete from the folder', { 'C:\\ProgramData\\Amazon': os(WELL_KNOWN.system, [allow(WELL_KNOWN.users, 0x1301ff, 3)]) }],
    ['owned by PhotonUser', { [FILE]: os(PHOTON) }],
    ['owned by Administrators, SYSTEM folders', { [FILE]: os(WELL_KNOWN.administrators) }],
  ];

  test('German, French and English names for the same SIDs give the same verdict on every case', async () => {
    for (const [label, overrides] of cases) {
      const verdicts = await Promise.all(
        Object.values(LOCALIZED).map(async (names) => {
          const refusal = await checkWindowsSidTrust(FILE, TRUSTED, tree(overrides).reader(names));
          return refusal ? `refused at ${refusal.culprit}` : 'trusted';
        }),
      );
      assert.equal(new Set(verdicts).size, 1, `${label}: ${verdicts.join(' / ')}`);
    }
    const german = await checkWindowsSidTrust(FILE, TRUSTED, tree(cases[1]![1]).reader(LOCALIZED.de));
    assert.match(german!.reason, /^writable by Jeder \(S-1-1-0\)/, 'messages use the local name beside the SID');
  });

  test('trustedOwners given by a localized name or by SID resolve to the same SID once, at setup', async () => {
    const lookups: string[] = [];
    const accountSid = (name: string): string | undefined => {
      lookups.push(name);
      return { 'VORDEFINIERT\\Administratoren': WELL_KNOWN.administrators, 'EC2AMAZ-1\\Bildersteller': ADMIN_USER }[name];
    };
    const policy = trustPolicy({ owners: ['EC2AMAZ-1\\Bildersteller', 'S-1-5-21-9-9-9-77', 'Unbekannt'], uid: undefined, strict: true, passwd: '' });
    const sids = trustedSids(policy, { currentUser: () => AGENT, accountSid });
    assert.deepEqual([...sids].sort(), [WELL_KNOWN.system, WELL_KNOWN.administrators, WELL_KNOWN.trustedInstaller, AGENT, ADMIN_USER, 'S-1-5-21-9-9-9-77'].sort());
    assert.deepEqual(lookups, ['EC2AMAZ-1\\Bildersteller', 'Unbekannt'], 'SIDs are taken as given, names looked up');
    const t = tree({ [FILE]: os(ADMIN_USER) });
    lookups.length = 0;
    const check = pathTrust('win32', policy, { native: { reader: t.reader(LOCALIZED.de), currentUser: () => AGENT, accountSid } });
    assert.equal(await check(FILE), undefined);
    assert.equal(await check(FILE), undefined);
    assert.equal(lookups.length, 2, 'names are resolved once, not per check');
  });
});
