import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aclSpec, grantRead } from '../../src/daemon/grantRead.js';
import { roleAccess } from '../../src/daemon/roleTokens.js';
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
