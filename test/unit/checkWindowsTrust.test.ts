import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkWindowsTrust, icaclsReader, parseIcacls, type AclEntry } from '../../src/trust/checkWindowsTrust.js';
import { pathTrust } from '../../src/trust/pathTrust.js';
import { trustPolicy } from '../../src/trust/trustPolicy.js';

const FILE = 'C:\\Users\\ImageBuilderAdmin\\.aws\\config';
// What icacls prints on Windows Server for a file in a user profile.
const ICACLS = `${FILE} NT AUTHORITY\\SYSTEM:(I)(F)\r\n                                         BUILTIN\\Administrators:(I)(F)\r\n                                         EC2AMAZ-1\\ImageBuilderAdmin:(I)(F)\r\n                                         CREATOR OWNER:(OI)(CI)(IO)(F)\r\n\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n`;
const policy = trustPolicy({ owners: ['ImageBuilderAdmin'], uid: undefined, userName: 'SYSTEM', strict: true, passwd: '' });

describe('Windows ownership rule (icacls)', () => {
  test('parseIcacls reads every entry, the first on the path line, flags and rights apart', () => {
    assert.deepEqual(parseIcacls(ICACLS, FILE), [
      { account: 'NT AUTHORITY\\SYSTEM', rights: ['I', 'F'] },
      { account: 'BUILTIN\\Administrators', rights: ['I', 'F'] },
      { account: 'EC2AMAZ-1\\ImageBuilderAdmin', rights: ['I', 'F'] },
      { account: 'CREATOR OWNER', rights: ['OI', 'CI', 'IO', 'F'] },
    ]);
  });

  test('only SYSTEM, Administrators and trusted owners may write: PhotonUser with (M) is refused, read-only Users pass', async () => {
    const acl = (extra: AclEntry[]) => async () => [...parseIcacls(ICACLS, FILE), ...extra];
    assert.equal(await checkWindowsTrust(FILE, policy, acl([{ account: 'BUILTIN\\Users', rights: ['RX'] }]), path.win32.dirname), undefined);
    const refusal = await checkWindowsTrust(FILE, policy, acl([{ account: 'EC2AMAZ-1\\PhotonUser', rights: ['I', 'M'] }]), path.win32.dirname);
    assert.equal(refusal?.reason, 'writable by EC2AMAZ-1\\PhotonUser (I,M)');
    assert.match(refusal!.fix, /icacls ".*" \/remove "EC2AMAZ-1\\PhotonUser"/);
  });

  test("an ACL that cannot be read is a refusal saying why (Wine's icacls stub), never a pass", async () => {
    const stub = icaclsReader(async () => ({ code: 0, stdout: 'icacls: stub\n' }));
    const refusal = await checkWindowsTrust(FILE, policy, stub, path.win32.dirname);
    assert.match(refusal!.reason, /ACL cannot be read \(icacls printed no entries\)/);
    assert.match(refusal!.fix, /strictPermissions=false/);
    const failing = icaclsReader(async () => ({ code: 5, stdout: '' }));
    assert.match((await checkWindowsTrust(FILE, policy, failing, path.win32.dirname))!.reason, /icacls exited 5/);
    const none = await pathTrust('win32', policy)(FILE);
    assert.match(none!.reason, /no way to read its owner and ACL/);
  });

  test("the folder holding it: creating entries (ProgramData's Users WD,AD) is harmless, deleting or re-permissioning them is not", async () => {
    const state = 'C:\\ProgramData\\AppStreamCredentialAgent';
    const own = [{ account: 'NT AUTHORITY\\SYSTEM', rights: ['OI', 'CI', 'F'] }, { account: 'BUILTIN\\Administrators', rights: ['OI', 'CI', 'F'] }];
    const programData = (users: string[]) => [...own, { account: 'BUILTIN\\Users', rights: ['CI', ...users] }];
    const acl = (users: string[]) => async (p: string) => (p === state ? own : programData(users));
    assert.equal(await checkWindowsTrust(state, policy, acl(['WD', 'AD', 'WEA', 'WA']), path.win32.dirname), undefined);
    assert.equal((await checkWindowsTrust(state, policy, acl(['M']), path.win32.dirname))?.culprit, 'C:\\ProgramData');
    const stateWritable = async (p: string) => (p === state ? programData(['WD', 'AD']) : own);
    assert.equal((await checkWindowsTrust(state, policy, stateWritable, path.win32.dirname))?.culprit, state, 'users may not add files to the state folder itself');
  });

  test('the folder holding the file is checked too', async () => {
    const seen: string[] = [];
    await checkWindowsTrust(FILE, policy, async (p) => (seen.push(p), parseIcacls(ICACLS, FILE)), path.win32.dirname);
    assert.deepEqual(seen, [FILE, 'C:\\Users\\ImageBuilderAdmin\\.aws']);
  });
});
