import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAcl, FILE_ALL_ACCESS, parseAcl, parseSecurityDescriptor } from '../../src/native/win32/securityDescriptor.js';
import { parseSid, sidBytes, WELL_KNOWN } from '../../src/native/win32/sid.js';
import { WINE_SD, WINE_USER } from '../fixtures/wineSecurity.js';

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

describe('SIDs as bytes', () => {
  test('parseSid reads the well-known and account SIDs Wine returned; sidBytes is its inverse', () => {
    for (const sid of [WELL_KNOWN.system, WELL_KNOWN.everyone, WELL_KNOWN.administrators, WELL_KNOWN.trustedInstaller, WINE_USER, 'S-1-5-21-3623811015-3361044348-30300820-1013']) {
      const encoded = sidBytes(sid);
      assert.deepEqual(parseSid(encoded), { sid, length: encoded.length });
    }
    assert.equal(parseSid(bytes('010100000000000512000000')).sid, 'S-1-5-18');
    assert.equal(parseSid(bytes('01020000000000052000000020020000')).sid, 'S-1-5-32-544');
  });

  test('truncated or foreign bytes are errors, not a SID', () => {
    assert.throws(() => parseSid(bytes('0105000000000005150000')), /runs past the end/);
    assert.throws(() => parseSid(bytes('0201000000000005120000000000')), /not a SID/);
    assert.throws(() => sidBytes('NT AUTHORITY\\SYSTEM'), /not a SID/);
  });
});

describe('security descriptors as GetNamedSecurityInfoW returns them', () => {
  test('0600 file: owner is the Wine user; SYSTEM and the owner have full control, nobody else is listed', () => {
    const sd = parseSecurityDescriptor(bytes(WINE_SD.file0600));
    assert.equal(sd.owner, WINE_USER);
    assert.deepEqual(sd.dacl, [
      { type: 0, flags: 0, mask: FILE_ALL_ACCESS, sid: WELL_KNOWN.system },
      { type: 0, flags: 0, mask: FILE_ALL_ACCESS, sid: WINE_USER },
    ]);
  });

  test('0666 file: Everyone with 0x1301ff; folders carry OBJECT|CONTAINER inherit; a foreign Unix owner reads as ANONYMOUS LOGON', () => {
    assert.deepEqual(parseSecurityDescriptor(bytes(WINE_SD.file0666)).dacl?.at(-1), { type: 0, flags: 0, mask: 0x1301ff, sid: WELL_KNOWN.everyone });
    assert.deepEqual(parseSecurityDescriptor(bytes(WINE_SD.folder0777)).dacl?.at(-1), { type: 0, flags: 3, mask: 0x1301ff, sid: WELL_KNOWN.everyone });
    assert.deepEqual(parseSecurityDescriptor(bytes(WINE_SD.folder0755)).dacl?.at(-1), { type: 0, flags: 3, mask: 0x1200a9, sid: WELL_KNOWN.everyone });
    assert.equal(parseSecurityDescriptor(bytes(WINE_SD.foreignOwner)).owner, WELL_KNOWN.anonymous);
  });

  test('no DACL present is null (full access for everyone), not an empty list', () => {
    const sd = bytes(WINE_SD.file0600);
    sd[2] = sd[2]! & ~0x04; // clear SE_DACL_PRESENT
    assert.equal(parseSecurityDescriptor(sd).dacl, null);
  });

  test('an ACL whose sizes lie is an error', () => {
    const acl = buildAcl([{ sid: WELL_KNOWN.system, mask: FILE_ALL_ACCESS }]);
    acl[2] = 200;
    assert.throws(() => parseAcl(acl, 0), /claims 200 bytes/);
  });

  test('buildAcl writes what parseAcl reads, byte for byte the ACL Windows would build', () => {
    const acl = buildAcl([
      { sid: WELL_KNOWN.system, mask: FILE_ALL_ACCESS },
      { sid: WINE_USER, mask: FILE_ALL_ACCESS },
    ]);
    // The DACL part of the 0600 descriptor above, with its header.
    assert.equal(Buffer.from(acl).toString('hex'), WINE_SD.file0600.slice(48 * 2));
    assert.deepEqual(parseAcl(buildAcl([{ sid: WELL_KNOWN.users, mask: 0x1200a9, flags: 3 }]), 0), [{ type: 0, flags: 3, mask: 0x1200a9, sid: WELL_KNOWN.users }]);
  });
});
