/**
 * Clients older than the token file (issue 22): AWSSDK.Core 3.7.202.18 (before 3.7.302) and
 * Debian's AWS CLI v2 2.9.19 (before 2.15.0) read only AWS_CONTAINER_AUTHORIZATION_TOKEN. With the
 * token file alone they fail; `exec` and the login-shell script of `service install
 * --set-machine-env` give them the token inline, and the agent keeps it across restarts (Linux).
 * Also `env` output sourced, for every SDK version tried. Shared rig: test/helpers/dotnetRig.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ASSUMED_ROLE_PREFIX } from '../helpers/moto.js';
import { startSandboxAgent } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { containerVars, runProgram } from '../helpers/clients.js';
import { collectSecrets, assertNoSecrets } from '../helpers/secrets.js';
import { SDKS, type SdkName } from '../helpers/dotnet.js';
import { PROFILE, arnOf, assertMachineRole, awsV2, debianAws, dotnetArgs, imdsEndpoint, inLoginShell, isolated, parse, rig, setUpDotnetRig, tearDownDotnetRig } from '../helpers/dotnetRig.js';

before(() => setUpDotnetRig(['v37old', 'v4', 'v37']));
after(tearDownDotnetRig);

test(`AWSSDK.Core ${SDKS.v37old.core} (before the token file): refused with the file alone, the machine role through exec and the login shell`, async (t) => {
  const caller = rig.callers.get('v37old')!;
  if ('skip' in caller) return t.skip(caller.skip);
  const fileOnly = await runProgram('dotnet', dotnetArgs(caller), isolated(containerVars(rig.agent, 'token-file')));
  assert.notEqual(fileOnly.code, 0, `3.7.202 is not expected to read the token file: ${fileOnly.stdout}`);
  const viaExec = parse(await runCli(['exec', '--state-dir', rig.agent.stateDir, '--', 'dotnet', ...dotnetArgs(caller)], { env: isolated() }), 'exec -- StsCaller 3.7.202');
  assertMachineRole(viaExec, 'v37old');
  const login = parse(await inLoginShell(['dotnet', ...dotnetArgs(caller)], isolated()), 'StsCaller 3.7.202 in a login shell');
  assertMachineRole(login, 'v37old');
  // credential_process predates both: it works on the old SDK as it is.
  assertMachineRole(parse(await runProgram('dotnet', dotnetArgs(caller, ['--profile', PROFILE]), isolated({ AWS_CONFIG_FILE: rig.clientConfig })), 'StsCaller 3.7.202 --profile'), 'v37old');
});

test("Debian's AWS CLI v2 (older than the token file): refused with the file alone, the machine role through exec and the login shell", async (t) => {
  if ('skip' in debianAws) return t.skip(debianAws.skip);
  assert.ok(debianAws.version.localeCompare('2.15.0', undefined, { numeric: true }) < 0, `expected a v2 before 2.15.0, found ${debianAws.version}`);
  const [command, ...args] = awsV2();
  const fileOnly = await runProgram(command, args, isolated(containerVars(rig.agent, 'token-file')));
  assert.notEqual(fileOnly.code, 0, `AWS CLI ${debianAws.version} is not expected to read the token file`);
  assert.ok(arnOf(await runCli(['exec', '--state-dir', rig.agent.stateDir, '--', ...awsV2()], { env: isolated() }), 'exec -- aws v2').startsWith(ASSUMED_ROLE_PREFIX));
  assert.ok(arnOf(await inLoginShell(awsV2(), isolated()), 'aws v2 in a login shell').startsWith(ASSUMED_ROLE_PREFIX));
  // Its credential_process and IMDSv2 paths need nothing new.
  assert.ok(arnOf(await runProgram(command, [...args, '--profile', PROFILE], isolated({ AWS_CONFIG_FILE: rig.clientConfig })), 'aws v2 --profile').startsWith(ASSUMED_ROLE_PREFIX));
  assert.ok(arnOf(await runProgram(command, args, isolated({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint() })), 'aws v2 via IMDS').startsWith(ASSUMED_ROLE_PREFIX));
});

test('env --format bash, sourced by sh: every SDK version and the AWS CLI v2 get the machine role from the static variables', async () => {
  const printed = await runCli(['env', '--format', 'bash', '--state-dir', rig.agent.stateDir], { env: isolated() });
  assert.equal(printed.code, 0, printed.stderr);
  const vars = path.join(rig.sandbox.dir, 'env.sh');
  await writeFile(vars, printed.stdout, { mode: 0o600 });
  const sourced = (argv: string[]) => runProgram('sh', ['-c', '. "$0"; exec "$@"', vars, ...argv], isolated());
  for (const sdk of Object.keys(SDKS) as SdkName[]) {
    const caller = rig.callers.get(sdk)!;
    if ('skip' in caller) continue;
    const called = parse(await sourced(['dotnet', ...dotnetArgs(caller)]), `StsCaller ${sdk} after env`);
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /Environment/i, `provider ${called.provider}`);
  }
  if (!('skip' in debianAws)) assert.ok(arnOf(await sourced(awsV2()), 'aws v2 after env').startsWith(ASSUMED_ROLE_PREFIX));
});

test('the login-shell script gives the inline token only to a user who can read the token file', async () => {
  const token = await readFile(rig.agent.discovery.tokenFile, 'utf8');
  const probe = 'printf "%s" "${AWS_CONTAINER_AUTHORIZATION_TOKEN-unset}" | sha256sum';
  const readable = await runProgram('sh', ['-c', `. "$0"; ${probe}`, rig.profileScript], {});
  const { createHash } = await import('node:crypto');
  assert.equal(readable.stdout.split(' ')[0], createHash('sha256').update(token).digest('hex'), 'a reader of the file gets the same token inline');
  const unreadable = await runProgram('sh', ['-c', `sed "s#${rig.agent.discovery.tokenFile}#${rig.agent.discovery.tokenFile}.absent#g" "$0" > "$0.absent.sh"; . "$0.absent.sh"; printf "%s" "\${AWS_CONTAINER_AUTHORIZATION_TOKEN-unset}"`, rig.profileScript], {});
  assert.equal(unreadable.stdout, 'unset');
});

test('the token outlives an agent restart (Linux): a token taken inline before it still opens the new agent', async (t) => {
  const before = await readFile(rig.agent.discovery.tokenFile, 'utf8');
  const old = rig.agent;
  await old.agent.stop();
  // The simulator keeps writing the profile; a new agent serves the same state folder.
  const again = await startSandboxAgent({ dir: rig.sandbox.dir, simulate: false, refreshInterval: '5s', validity: '2m', imds: true });
  rig.agent = { ...again, simulator: old.simulator, stop: async () => Promise.all([again.stop(), old.simulator.stop()]).then(() => undefined) };
  assert.notEqual(again.agent.child.pid, old.agent.child.pid);
  assert.equal(await readFile(again.discovery.tokenFile, 'utf8'), before, 'the token file holds the same token');
  assert.match(again.agent.output(), /"tokenKept":true/);
  // An old client holding the pre-restart token inline (as an exec child or login shell would).
  const inline = isolated({ AWS_CONTAINER_CREDENTIALS_FULL_URI: again.discovery.credentialsUrl, AWS_CONTAINER_AUTHORIZATION_TOKEN: before });
  if ('skip' in debianAws) t.diagnostic(debianAws.skip);
  else {
    const [command, ...args] = awsV2();
    assert.ok(arnOf(await runProgram(command, args, inline), 'aws v2 with the pre-restart token').startsWith(ASSUMED_ROLE_PREFIX));
  }
  const caller = rig.callers.get('v37old')!;
  if ('skip' in caller) t.diagnostic(caller.skip);
  else assertMachineRole(parse(await runProgram('dotnet', dotnetArgs(caller), inline), 'StsCaller 3.7.202 with the pre-restart token'), 'v37old');
});

test('the agent logged no secret while serving all of the above', async () => {
  const secrets = await collectSecrets(rig.sandbox.dir, { stateDir: rig.agent.stateDir });
  assertNoSecrets(rig.agent.agent.output(), secrets, 'agent log');
});
