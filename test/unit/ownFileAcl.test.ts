import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ownAcl, ownAclEntries } from '../../src/native/win32/ownFileAcl.js';
import { ACCESS, FILE_ALL_ACCESS, FILE_READ_EXECUTE, parseAcl } from '../../src/native/win32/securityDescriptor.js';
import { WELL_KNOWN } from '../../src/native/win32/sid.js';
import { writeFileAtomic } from '../../src/writeFileAtomic.js';
import { OBJECT_WRITE } from '../../src/trust/checkWindowsSidTrust.js';
import { readdirSync, statSync } from 'node:fs';
import { acquireStateLock, writeDiscovery, writeTokenFile } from '../../src/agent/discovery.js';

const AGENT = 'S-1-5-21-1111111111-2222222222-3333333333-1001';
const SCRIPTS = 'S-1-5-21-1111111111-2222222222-3333333333-1100';

describe("the agent's own files: explicit DACLs (Windows)", () => {
  test('0600: SYSTEM, Administrators and the agent account, full control; nobody else at all', () => {
    assert.deepEqual(ownAclEntries(0o600, { self: AGENT }), [
      { sid: WELL_KNOWN.system, mask: FILE_ALL_ACCESS, flags: 0 },
      { sid: WELL_KNOWN.administrators, mask: FILE_ALL_ACCESS, flags: 0 },
      { sid: AGENT, mask: FILE_ALL_ACCESS, flags: 0 },
    ]);
    assert.equal(ownAclEntries(0o600, { self: WELL_KNOWN.system }).length, 2, 'the service account SYSTEM is not listed twice');
  });

  test('0640 gives the tokenGroup SID read only when one is configured; 0644 gives Everyone read; folders pass it on', () => {
    assert.deepEqual(ownAclEntries(0o640, { self: AGENT, groupSid: SCRIPTS }).at(-1), { sid: SCRIPTS, mask: FILE_READ_EXECUTE, flags: 0 });
    assert.equal(ownAclEntries(0o640, { self: AGENT }).length, 3);
    assert.deepEqual(ownAclEntries(0o644, { self: AGENT }).at(-1), { sid: WELL_KNOWN.everyone, mask: FILE_READ_EXECUTE, flags: 0 });
    const folder = ownAclEntries(0o755, { self: AGENT }, true);
    assert.deepEqual(folder.map((e) => e.flags), [3, 3, 3, 0], 'SYSTEM, Administrators and the agent are inherited (object + container); Everyone reads the folder itself only');
    for (const mode of [0o600, 0o640, 0o644, 0o755])
      for (const entry of ownAclEntries(mode, { self: AGENT, groupSid: SCRIPTS })) {
        if (![WELL_KNOWN.system, WELL_KNOWN.administrators, AGENT].includes(entry.sid)) assert.equal(entry.mask & (OBJECT_WRITE | ACCESS.deleteChild), 0, `${entry.sid} gets no write bit at ${mode.toString(8)}`);
      }
  });

  test('the DACL goes to the temp file before any content, and the token is written 0640 when a group reads it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'as2creds-ownacl-'));
    try {
      const calls: { target: string; size: number; acl: ReturnType<typeof parseAcl> }[] = [];
      const acl = ownAcl({
        self: AGENT,
        groupSid: SCRIPTS,
        setProtectedDacl: (target, bytes) => {
          calls.push({ target, size: statSync(target).size, acl: parseAcl(bytes, 0) });
        },
      });
      const file = await writeTokenFile(dir, 'a'.repeat(64), undefined, acl);
      assert.equal(calls.length, 1);
      assert.notEqual(calls[0]!.target, file, 'set on the temp file, which is then renamed');
      assert.equal(calls[0]!.size, 0, 'no content yet when the DACL is set');
      assert.deepEqual(calls[0]!.acl.map((a) => a.sid), [WELL_KNOWN.system, WELL_KNOWN.administrators, AGENT, SCRIPTS]);
      assert.equal(await readFile(file, 'utf8'), 'a'.repeat(64));
      if (process.platform !== 'win32') assert.equal((await stat(file)).mode & 0o777, 0o640);
      await writeDiscovery(dir, { pid: 1, url: 'http://127.0.0.1:1', credentialsUrl: 'http://127.0.0.1:1/v1/credentials', tokenFile: file, imdsEndpoint: null, startedAt: '' } as never, acl);
      assert.deepEqual(calls[1]!.acl.map((a) => a.sid).at(-1), WELL_KNOWN.everyone, 'agent.json is readable by everyone, as 0644');
      const lock = await acquireStateLock(dir, async () => undefined, acl);
      assert.ok('release' in lock);
      assert.equal(calls[2]!.target, path.join(dir, 'agent.lock'));
      await lock.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a DACL that cannot be set fails the write and leaves no temp file behind', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'as2creds-ownacl-'));
    try {
      await assert.rejects(writeFileAtomic(path.join(dir, 'token'), 'secret', 0o600, { protect: async () => { throw new Error('SetNamedSecurityInfoW: Win32 error 5 (access denied)'); } }), /access denied/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
