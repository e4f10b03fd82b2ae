/**
 * Issue 19 point 2, as real second users (CI is root): per-role access stands on its own. The
 * agent runs as root with the README's per-script settings file: role `reporting` for one user
 * (U), role `upload` for root only, and a tokenGroup whose member (M) gets the machine role.
 *  - U, in reporting's allowUsers and in no group, runs the README's script form
 *    (`appstream-creds --config FILE exec --role reporting -- aws …`), `credential-process
 *    --role` and `env --role` through the agent: reporting's own token file is readable by U.
 *  - U gets neither the machine role nor upload, and the error names the role's allowUsers,
 *    never the token group.
 *  - M, who holds the machine token, gets no role: the machine token does not open a role's
 *    route, and with a role's token in hand M is still refused by that role's allowUsers.
 * On the old code U could use no role at all, and M got every role (200 for upload).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startMoto, stsCallerEnv, type MotoServer } from '../helpers/moto.js';
import { startCli, waitFor, type Discovery, type RunningProcess } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { cliPath, repoRoot, runCli, runProgram, type CliRun } from '../helpers/cli.js';
import { baseClientEnv } from '../helpers/clients.js';
import { localUsers, notRootReason, type LocalUsers } from '../helpers/localUsers.js';

const hasSetfacl = spawnSync('setfacl', ['--version']).error === undefined;
const skip = notRootReason() || (hasSetfacl ? false : 'needs setfacl for per-role token files (apt-get install acl; .ci/run installs it)');
const REPORT = 'ReportingReadOnly';
const UPLOAD = 'UploadWriteOnly';
let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let accounts: LocalUsers;
let reporter: { name: string; uid: number };
let member: { name: string; uid: number };
let group: { name: string; gid: number };
let simulator: RunningProcess;
let agent: RunningProcess;
let discovery: Discovery & { roleTokenFiles: Record<string, string> };
let config: string;
let stateDir: string;

before(async () => {
  if (skip) return;
  moto = await startMoto({ roles: [REPORT, UPLOAD] });
  sandbox = await makeSandbox();
  // Traversable by the users; root's and not writable by others, so the agent's files stay trusted.
  await chmod(sandbox.dir, 0o755);
  accounts = localUsers('racc');
  group = accounts.group('g');
  reporter = accounts.user('u');
  member = accounts.user('m', [group.name]);
  stateDir = path.join(sandbox.dir, 'state');
  // The README's settings file, as an administrator writes it (readable by everyone: no secret).
  config = path.join(sandbox.dir, 'appstream-creds.json');
  await writeFile(
    config,
    `${JSON.stringify(
      {
        roles: {
          reporting: { roleArn: moto.roleArns[REPORT], sessionName: '{user}', allowUsers: [reporter.name] },
          upload: { roleArn: moto.roleArns[UPLOAD], sessionName: '{user}', duration: '30m', allowUsers: ['root'] },
        },
        tokenGroup: group.name,
        stsEndpoint: moto.url,
        region: 'us-east-1',
      },
      null,
      2,
    )}\n`,
    { mode: 0o644 },
  );
  simulator = startCli(['simulate', '--dir', sandbox.dir, '--rotations', '0', '--refresh-interval', '10m', '--validity', '1h', '--sts-endpoint', moto.url, '--role-arn', moto.roleArn], stsCallerEnv(moto.url));
  await waitFor(async () => (await readFile(path.join(sandbox.dir, 'simulator', 'current.json'), 'utf8').catch(() => '')).length > 0, 30_000, () => simulator.output());
  agent = startCli(['--config', config, 'serve', '--state-dir', stateDir, '--port', '0'], {
    AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, '.aws', 'credentials'),
    AWS_CONFIG_FILE: path.join(sandbox.dir, '.aws', 'config'),
    AppStream_UserName: 'alice',
  });
  await waitFor(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as typeof discovery;
      if (!discovery?.roleTokenFiles) return false;
      const token = (await readFile(discovery.roleTokenFiles.reporting!, 'utf8')).trim();
      return (await fetch(`${discovery.url}/v1/roles/reporting/credentials`, { headers: { authorization: token } })).status === 200;
    },
    45_000,
    () => `the agent never served the reporting role: ${agent.output()}`,
  );
});

after(async () => {
  await agent?.stop();
  await simulator?.stop();
  await moto?.stop();
  await sandbox?.cleanup();
  accounts?.remove();
});

/** The CLI as another local user, with the README's `--config` and the agent's state folder. */
function cliAs(user: { name: string }, args: string[], extra: Record<string, string> = {}, credentialsOnStdout = false, cwd = '/'): Promise<CliRun> {
  return runProgram('runuser', ['-u', user.name, '--', process.execPath, cliPath, '--config', config, '--state-dir', stateDir, ...args], {
    // The machine-role profile is root's (0600): a user can only get credentials through the agent.
    env: baseClientEnv(sandbox.dir, { STS_URL: moto.url, HOME: '/tmp', PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra }),
    cwd,
    credentialsOnStdout,
  });
}

const canRead = async (user: { name: string }, file: string): Promise<boolean> => (await runProgram('runuser', ['-u', user.name, '--', 'test', '-r', file], { cwd: '/' })).code === 0;

test("each role's token file is readable by exactly that role's users: not by the token group", { skip }, async () => {
  assert.equal(discovery.roleTokenFiles.reporting, path.join(stateDir, 'role-reporting.token'));
  assert.equal(await canRead(reporter, discovery.roleTokenFiles.reporting!), true, 'U reads reporting');
  assert.equal(await canRead(member, discovery.roleTokenFiles.reporting!), false, 'the group member does not');
  assert.equal(await canRead(reporter, discovery.roleTokenFiles.upload!), false);
  assert.equal(await canRead(member, discovery.roleTokenFiles.upload!), false);
  assert.equal(await canRead(reporter, discovery.tokenFile), false, 'U is not in the token group');
  assert.equal(await canRead(member, discovery.tokenFile), true);
});

// The child of the README's script: an SDK client (the JS SDK v3 here; this machine's AWS CLI lives
// in root's home, out of another user's reach) that prints who it is and where it got credentials.
const CHILD = `
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
const identity = await new STSClient({ region: 'us-east-1', endpoint: process.env.STS_URL }).send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ Arn: identity.Arn, uri: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, tokenFile: process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE }));
`;

test('the README script as U: `--config FILE exec --role reporting -- CMD` goes through the role route with its own token file', { skip }, async () => {
  const run = await cliAs(reporter, ['exec', '--role', 'reporting', '--', process.execPath, '--input-type=module', '-e', CHILD], {}, false, repoRoot);
  assert.equal(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as { Arn: string; uri: string; tokenFile: string };
  assert.equal(seen.Arn, `arn:aws:sts::123456789012:assumed-role/${REPORT}/alice`);
  assert.equal(seen.uri, `${discovery.url}/v1/roles/reporting/credentials`);
  assert.equal(seen.tokenFile, discovery.roleTokenFiles.reporting, "the child reads the role's own token file");
});

test('U: credential-process --role and env --role work; the machine role and another role do not, and no message sends U to the token group', { skip }, async () => {
  const processRun = await cliAs(reporter, ['credential-process', '--role', 'reporting'], {}, true);
  assert.equal(processRun.code, 0, processRun.stderr);
  assert.equal((JSON.parse(processRun.stdout) as { Version: number }).Version, 1);
  const env = await cliAs(reporter, ['env', '--role', 'reporting', '--format', 'dotenv'], {}, true);
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stdout, /^AWS_SESSION_TOKEN=/m);

  const machine = await cliAs(reporter, ['credential-process']);
  assert.equal(machine.code, 5, machine.stderr);
  const upload = await cliAs(reporter, ['credential-process', '--role', 'upload']);
  assert.equal(upload.code, 5, upload.stderr);
  assert.match(upload.stderr, /the token file of role upload .*role-upload\.token is not readable by this user \(fix: only the role's users may read it: an administrator adds this user to allowUsers of role upload/);
  assert.doesNotMatch(upload.stderr, /tokenGroup|token's group/);
});

test("the token group's member: the machine role yes, a role no (machine token 401; the role's own token 403 by its allowUsers)", { skip }, async () => {
  const machine = await cliAs(member, ['credential-process'], {}, true);
  assert.equal(machine.code, 0, machine.stderr);
  const role = await cliAs(member, ['credential-process', '--role', 'reporting']);
  assert.equal(role.code, 5, role.stderr);
  assert.doesNotMatch(role.stderr, /tokenGroup|token's group/);

  // Straight at the routes, as the member, with every token it could hold or be handed.
  const CLIENT = `
const get = (p, token) => fetch(process.env.BASE + p, { headers: { authorization: token } }).then(async (r) => ({ status: r.status, body: r.status === 200 ? '' : await r.text() }));
const t = JSON.parse(process.env.TOKENS);
(async () => process.stdout.write(JSON.stringify({
  uploadWithMachine: await get('/v1/roles/upload/credentials', t.machine),
  reportingWithMachine: await get('/v1/roles/reporting/credentials', t.machine),
  uploadWithOwn: await get('/v1/roles/upload/credentials', t.upload),
  reportingWithOwn: await get('/v1/roles/reporting/credentials', t.reporting),
})))();
`;
  const read = async (file: string): Promise<string> => (await readFile(file, 'utf8')).trim();
  const tokens = { machine: await read(discovery.tokenFile), upload: await read(discovery.roleTokenFiles.upload!), reporting: await read(discovery.roleTokenFiles.reporting!) };
  const run = await runProgram('runuser', ['-u', member.name, '--', process.execPath, '-e', CLIENT], { env: { BASE: discovery.url, TOKENS: JSON.stringify(tokens) }, cwd: '/' });
  assert.equal(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout) as Record<string, { status: number; body: string }>;
  assert.equal(seen.uploadWithMachine!.status, 401, 'the machine token does not open a role');
  assert.equal(seen.reportingWithMachine!.status, 401);
  assert.equal(seen.uploadWithOwn!.status, 403, "group membership does not pass the role's allowUsers");
  assert.equal(seen.reportingWithOwn!.status, 403);
  assert.match(seen.uploadWithOwn!.body, /"code":"forbidden-user"/);
});

interface DoctorReport {
  findings: Array<{ severity: string; code: string; path: string; message: string; fix: string }>;
}

const doctorJson = async (state: string): Promise<DoctorReport> => {
  const run = await runCli(['--config', config, '--state-dir', state, 'doctor', '--json'], {
    env: { AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(sandbox.dir, '.aws', 'config') },
  });
  return JSON.parse(run.stdout) as DoctorReport;
};

test('doctor judges the role token files; an agent that cannot run setfacl leaves them 0600, logs why, and doctor says so', { skip }, async () => {
  const healthy = (await doctorJson(stateDir)).findings.filter((f) => f.message.includes('role-'));
  assert.deepEqual(healthy.map((f) => [f.code, f.message.replace(/^.*\(role (\w+)\) .*$/, '$1')]), [['ok', 'reporting'], ['ok', 'upload']], JSON.stringify(healthy));

  // A second agent whose PATH has no setfacl (node is started by its full path).
  const bare = path.join(sandbox.dir, 'state-no-acl');
  const noAcl = startCli(['--config', config, 'serve', '--state-dir', bare, '--port', '0'], {
    AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox.dir, '.aws', 'credentials'),
    AWS_CONFIG_FILE: path.join(sandbox.dir, '.aws', 'config'),
    AppStream_UserName: 'alice',
    PATH: '/nonexistent',
  });
  try {
    await waitFor(async () => (await readFile(path.join(bare, 'agent.json'), 'utf8').catch(() => '')).includes('roleTokenFiles'), 30_000, () => noAcl.output());
    assert.match(noAcl.output(), /role reporting: its users cannot be given read access to its token file \(setfacl is not installed \(package acl\)\); only root and the agent's user can use the role/);
    assert.equal(await canRead(reporter, path.join(bare, 'role-reporting.token')), false);
    const found = (await doctorJson(bare)).findings.find((f) => f.code === 'role-token-no-acl');
    assert.ok(found, 'doctor reports the missing ACL');
    assert.equal(found.severity, 'error');
    assert.match(found.message, /role-reporting\.token \(role reporting\) is readable by its owner only \(mode 600, no ACL entries\): .* cannot use the role/);
    assert.match(found.fix, /install the acl package/);
  } finally {
    await noAcl.stop();
  }
});
