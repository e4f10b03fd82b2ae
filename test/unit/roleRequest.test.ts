import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roleRequest, validateRoles, findRole } from '../../src/sources/roleRequest.js';
import { fillTemplate, sanitizeSessionPart } from '../../src/identity/templateIdentity.js';
import { rolesSchema } from '../../src/config/roleSettings.js';
import { describeAccessDenied, fromAssumedRole } from '../../src/sources/fromAssumedRole.js';
import { AgentError } from '../../src/errors.js';

const ARN = 'arn:aws:iam::123456789012:role/Reporting';
const parse = (value: unknown) => rolesSchema.safeParse(value);
const message = (value: unknown): string => {
  const result = parse(value);
  assert.equal(result.success, false);
  return result.error!.issues[0]!.message;
};

test('templating fills {user}/{session}/{resource}/{instance}, sanitised to what STS accepts, at most 64 characters', () => {
  assert.deepEqual(fillTemplate('{user}@{resource}', { user: 'CORP\\alice smith', resource: 'fleet-a' }), { value: 'CORP-alice-smith@fleet-a' });
  assert.deepEqual(fillTemplate('{user}-{session}', { user: 'a'.repeat(60), session: 'abcdef' }), { value: `${'a'.repeat(60)}-abc` });
  assert.deepEqual(fillTemplate('{user}', {}), { missing: ['user'] });
  assert.equal(sanitizeSessionPart('bob/ü!'), 'bob---');
});

test('the default session name is the user when known, else the resource name', () => {
  const role = { roleArn: ARN };
  assert.equal(roleRequest('r', role, { user: 'alice', resource: 'fleet' }).sessionName, 'alice');
  assert.equal(roleRequest('r', role, { resource: 'fleet' }).sessionName, 'fleet');
  assert.equal(roleRequest('r', role, {}).sessionName, 'appstream-creds');
  assert.equal(roleRequest('r', role, {}).durationSeconds, 3600);
});

test('the roles setting: errors name the role and the field', () => {
  assert.match(message({ r: { roleArn: 'nope' } }), /^role r: roleArn: a role ARN/);
  assert.match(message({ r: { roleArn: ARN, duration: 600 } }), /^role r: duration: 900 to 3600 seconds/);
  assert.match(message({ r: { roleArn: ARN, duration: '2h' } }), /^role r: duration: 900 to 3600/);
  assert.match(message({ r: { roleArn: ARN, sessionName: '{who}' } }), /^role r: sessionName: unknown placeholder \{who\}/);
  assert.match(message({ r: { roleArn: ARN, sessionName: 'a b' } }), /^role r: sessionName: only letters/);
  assert.match(message({ r: { roleArn: ARN, color: 'red' } }), /^role r: unknown field/);
  assert.match(message({ 'bad name!': { roleArn: ARN } }), /^role "bad\?name\?": a role name is 1 to 64 letters/);
  assert.match(message('{not json'), /a JSON object of named roles/);
  const ok = parse(JSON.stringify({ r: { roleArn: ARN, duration: '15m', policy: { Version: '2012-10-17', Statement: [] }, tags: { team: 'bi' } } }));
  assert.ok(ok.success);
  assert.equal(ok.data.get('r')!.duration, 900);
  assert.equal(typeof ok.data.get('r')!.policy, 'string');
});

test('role names: . and .. and the names JavaScript objects give meaning to are refused; roles stay in a Map', () => {
  for (const name of ['.', '..', '__proto__', 'constructor', 'Prototype', '.hidden', '-x', 'a/b', 'a%2F', '', 'x'.repeat(65)]) {
    // Built by JSON.parse so that __proto__ is an own key, as it is in a config file.
    assert.match(message(`{${JSON.stringify(name)}: {"roleArn": "${ARN}"}}`), /a role name is 1 to 64 letters, digits and _ \. -, starting with a letter or digit/, name);
  }
  const ok = parse(JSON.stringify({ 'reports.v2': { roleArn: ARN }, toString: { roleArn: ARN }, a: { roleArn: ARN } }));
  assert.ok(ok.success);
  assert.deepEqual([...ok.data.keys()], ['reports.v2', 'toString', 'a']);
  assert.throws(() => findRole(ok.data, '..'), (e: AgentError) => e.exitCode === 2 && /--role "\.\.": a role name is/.test(e.message));
  assert.throws(() => findRole(ok.data, 'hasOwnProperty'), (e: AgentError) => e.exitCode === 2 && /unknown role "hasOwnProperty"/.test(e.message));
});

test('validation after templating: too short is an error; a value not known yet is not (the daemon retries)', () => {
  assert.throws(() => validateRoles(new Map([['r', { roleArn: ARN, sessionName: '{user}' }]]), { user: 'a' }), /role r: sessionName is "a" after templating; it must be 2 to 64 characters/);
  assert.doesNotThrow(() => validateRoles(new Map([['r', { roleArn: ARN, sessionName: '{user}' }]]), {}));
  assert.throws(() => roleRequest('r', { roleArn: ARN, sessionName: '{user}' }, {}), (e: AgentError) => e.code === 'role-identity-missing' && /AppStream_UserName/.test(e.message));
  assert.throws(() => findRole(new Map([['a', { roleArn: ARN }]]), 'b'), (e: AgentError) => e.exitCode === 2 && /unknown role "b"; configured roles: a/.test(e.message));
});

test('AccessDenied names the role, the missing statement and the kit command', async () => {
  const request = roleRequest('reporting', { roleArn: ARN, sourceIdentity: '{user}' }, { user: 'alice' });
  const text = describeAccessDenied(request, 'arn:aws:iam::123456789012:role/Fleet', 'User: x is not authorized to perform: sts:AssumeRole on resource: y because no identity-based policy allows the sts:AssumeRole action');
  assert.match(text, /^role reporting: AssumeRole of arn:aws:iam::123456789012:role\/Reporting was denied: the machine role's permission policy has no statement allowing sts:AssumeRole, sts:SetSourceIdentity/);
  assert.match(text, /appstream-creds policy role-chain --machine-role arn:aws:iam::123456789012:role\/Fleet --role arn:aws:iam::123456789012:role\/Reporting --source-identity/);
  const either = describeAccessDenied(request, undefined, 'not authorized');
  assert.match(either, /the trust policy of .* has no statement trusting the machine role .*, or the machine role's permission policy/);
  // Through the source, against an STS that refuses (a local server answering AccessDenied).
  const http = await import('node:http');
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'text/xml' });
    res.end('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/Fleet/i-1 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Reporting</Message></Error><RequestId>1</RequestId></ErrorResponse>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const source = fromAssumedRole({
      request: () => request,
      base: async () => ({ accessKeyId: 'ASIAEXAMPLEEXAMPLE12', secretAccessKey: 'not-a-real-secret-at-all-000000000000000', sessionToken: 'token', roleArn: 'arn:aws:iam::123456789012:role/Fleet' }),
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      env: {},
    });
    await assert.rejects(source(), (e: AgentError) => e.code === 'role-access-denied' && e.exitCode === 5 && /role reporting: AssumeRole of .* was denied/.test(e.message) && /policy role-chain/.test(e.message) && !e.message.includes('not-a-real-secret'));
  } finally {
    server.close();
  }
});
