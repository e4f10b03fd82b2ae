import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aclSpec, grantRead } from '../../src/daemon/grantRead.js';
import { createRoleTokens, roleAccess } from '../../src/daemon/roleTokens.js';
import { userIds } from '../../src/localAccounts.js';

const PASSWD = 'root:x:0:0::/root:/bin/sh\nas2-streaming-user:x:1001:1001::/home/as2:/bin/sh\nbob:x:1002:1002::/home/bob:/bin/sh\n';

test('allow-list entries become uids: names from passwd, numbers as they are; unknown names are reported', async () => {
  const read = async () => PASSWD;
  assert.deepEqual(await userIds(read, ['as2-streaming-user', '1500', 'nobody-here', 'bob']), { uids: [1500, 1001, 1002], unknown: ['nobody-here'] });
  assert.deepEqual(await userIds(async () => Promise.reject(new Error('EACCES')), ['x']), { uids: [], unknown: ['x'] });
});

test('the ACL grants read to each user and the group, with a read mask so no entry grants more', async () => {
  assert.equal(aclSpec({ uids: [1001, 1002] }), 'u:1001:r,u:1002:r,m::r');
  assert.equal(aclSpec({ uids: [], gid: 996 }), 'g:996:r,m::r');
  const calls: string[][] = [];
  await grantRead('/state/.role-r.token.tmp', { uids: [1001] }, async (command, args) => (calls.push([command, ...args]), { code: 0, stderr: '' }));
  assert.deepEqual(calls, [['setfacl', '-m', 'u:1001:r,m::r', '--', '/state/.role-r.token.tmp']]);
  await grantRead('/f', { uids: [] }, async () => assert.fail('nothing to grant: setfacl is not run'));
  await assert.rejects(grantRead('/f', { uids: [1] }, async () => ({ code: 1, stderr: 'setfacl: /f: Operation not supported' })), /Operation not supported/);
});

test("a role's own allowUsers stands alone (no tokenGroup); without one it follows the global rule", () => {
  const global = { allowUsers: ['carol'], tokenGid: 996 };
  assert.deepEqual(roleAccess({ roleArn: 'arn:aws:iam::123456789012:role/R', allowUsers: ['alice'] }, global), { allowUsers: ['alice'], tokenGid: undefined });
  assert.deepEqual(roleAccess({ roleArn: 'arn:aws:iam::123456789012:role/R' }, global), global);
});

test('role token files: ACL for the users; 0644 for *; without setfacl the file stays 0600 and the reason is logged', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, async () => {
  const { mkdtemp, readFile, rm, stat } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roletok-'));
  const lines: string[] = [];
  const logger = { child: () => logger, warn: (_o: unknown, m: string) => lines.push(`warn ${m}`), error: (_o: unknown, m: string) => lines.push(`error ${m}`) } as unknown as import('../../src/log/createLogger.js').Logger;
  const calls: string[] = [];
  try {
    const roles = new Map([
      ['a', { roleArn: 'arn:aws:iam::123456789012:role/A', allowUsers: ['as2-streaming-user', 'ghost'] }],
      ['open', { roleArn: 'arn:aws:iam::123456789012:role/O', allowUsers: ['*'] }],
    ]);
    let fail = false;
    const tokens = await createRoleTokens(roles, {
      stateDir: dir,
      platform: 'linux',
      agentUid: 0,
      global: { allowUsers: [], tokenGid: 996 },
      readText: async () => PASSWD,
      logger,
      run: async (command, args) => (calls.push([command, ...args].join(' ')), fail ? { code: -1, stderr: 'setfacl is not installed (package acl)' } : { code: 0, stderr: '' }),
    });
    for (const role of tokens.values()) await role.write();
    const a = tokens.get('a')!;
    assert.equal(a.file, path.join(dir, 'role-a.token'));
    assert.equal((await readFile(a.file, 'utf8')), a.token);
    assert.equal((await stat(a.file)).mode & 0o777, 0o600);
    assert.match(calls[0]!, /^setfacl -m u:1001:r,m::r -- .*\.role-a\.token\..*\.tmp$/, 'no group entry: tokenGroup does not count for a role with its own allowUsers');
    assert.equal((await stat(tokens.get('open')!.file)).mode & 0o777, 0o644);
    assert.equal(calls.length, 1, 'no ACL for a role open to everyone');
    assert.ok(lines.some((l) => /warn role a: allowUsers names no local account: ghost/.test(l)), lines.join('\n'));
    assert.notEqual(tokens.get('a')!.token, tokens.get('open')!.token);
    fail = true;
    await rm(a.file);
    await a.write();
    assert.equal((await stat(a.file)).mode & 0o777, 0o600, 'still written, for root and the agent');
    assert.ok(lines.some((l) => /error role a: its users cannot be given read access to its token file \(setfacl is not installed \(package acl\)\); only root and the agent's user can use the role/.test(l)), lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
