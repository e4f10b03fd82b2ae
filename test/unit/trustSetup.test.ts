import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentPolicy } from '../../src/cli/trustSetup.js';
import { pathTrust } from '../../src/trust/pathTrust.js';
import { FILE_ALL_ACCESS, type SecurityInfo } from '../../src/native/win32/securityDescriptor.js';
import { WELL_KNOWN } from '../../src/native/win32/sid.js';

const AGENT = 'S-1-5-21-1-2-3-1001';
const NAMESAKE = 'S-1-5-21-9-9-9-1104';
const FILE = 'C:\\ProgramData\\AppStreamCreds\\agent.json';

test('Windows clients do not trust an account named like the Linux service user, nor look it up', async () => {
  const looked: string[] = [];
  const owned = (owner: string): SecurityInfo => ({ owner, dacl: [{ type: 0, flags: 0, mask: FILE_ALL_ACCESS, sid: owner }] });
  const check = pathTrust('win32', agentPolicy({ strictPermissions: true }, { platform: 'win32', uid: undefined }), {
    native: {
      reader: {
        read: async (p) => (p === FILE ? owned(NAMESAKE) : owned(WELL_KNOWN.system)),
        name: () => undefined,
        realpath: async (p) => p,
      },
      currentUser: () => AGENT,
      // A domain (or a local admin) may hold the name; the lookup itself may ask a domain controller.
      accountSid: (name) => {
        looked.push(name);
        return name === 'appstream-creds' ? NAMESAKE : undefined;
      },
    },
  });
  const refusal = await check(FILE);
  assert.equal(refusal?.reason, `owned by ${NAMESAKE}`);
  assert.ok(!looked.includes('appstream-creds'), `looked up: ${looked.join(', ')}`);
});

test('Linux clients trust the service account `service install` creates', () => {
  assert.ok(agentPolicy({ strictPermissions: true }, { platform: 'linux', uid: 1000 }).accounts.includes('appstream-creds'));
});
