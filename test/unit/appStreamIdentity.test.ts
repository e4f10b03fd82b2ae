import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSystemVars, readAppStreamIdentity, regionFromArn } from '../../src/identity/appStreamIdentity.js';

test('parseSystemVars reads export and plain assignments, quoted or not, and runs nothing', () => {
  const text = [
    '# comment',
    'export AppStream_Resource_Type="fleet"',
    "AppStream_UserName='a user'",
    'export AppStream_Session_ID=abc-123 # trailing comment',
    'export AppStream_Resource_Name=$(rm -rf /)',
    'if [ -n "$X" ]; then echo; fi',
  ].join('\r\n');
  assert.deepEqual(parseSystemVars(text), {
    AppStream_Resource_Type: 'fleet',
    AppStream_UserName: 'a user',
    AppStream_Session_ID: 'abc-123',
    AppStream_Resource_Name: '$(rm -rf /)',
  });
});

test('regionFromArn takes the fourth field only when it looks like a region', () => {
  assert.equal(regionFromArn('arn:aws:appstream:us-west-2::image/Name'), 'us-west-2');
  assert.equal(regionFromArn('arn:aws-us-gov:appstream:us-gov-west-1:123456789012:image/x'), 'us-gov-west-1');
  assert.equal(regionFromArn('arn:aws:appstream:::image/x'), undefined);
  assert.equal(regionFromArn('not an arn'), undefined);
  assert.equal(regionFromArn(undefined), undefined);
});

test('the environment wins over the file; control characters are stripped; a missing file is no error', () => {
  const files: Record<string, string> = { '/vars.sh': 'export AppStream_UserName=file-user\nexport AppStream_Image_Arn=arn:aws:appstream:eu-west-1::image/i\n' };
  const identity = readAppStreamIdentity({
    env: { AppStream_UserName: 'env\u001b[31m-user', AppStream_Session_ID: '' },
    systemVarsFile: '/vars.sh',
    readFile: (p) => files[p],
  });
  assert.equal(identity.userName, 'env[31m-user');
  assert.equal(identity.from.userName, 'environment');
  assert.equal(identity.imageRegion, 'eu-west-1');
  assert.equal(identity.from.imageArn, '/vars.sh');
  assert.equal(identity.sessionId, undefined, 'an empty variable counts as unset');
  assert.deepEqual(readAppStreamIdentity({ env: {}, systemVarsFile: '/missing', readFile: (p) => files[p] }), { from: {} });
});
