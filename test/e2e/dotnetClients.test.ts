/**
 * The AWS SDK for .NET for real (issue 22): test/dotnet/StsCaller, a plain SDK program with the
 * default credential chain, calls GetCallerIdentity on authenticated moto (a wrong secret or
 * session token would be refused) and must come out as the machine role through every path an
 * AppStream script uses: `exec`, the machine-wide variables `service install --set-machine-env`
 * writes, credential_process in a profile named on its command line (AWS Tools for PowerShell's
 * -ProfileName), and IMDSv2 emulation; AWSSDK.Core 4.x and the last 3.7 NuGet serves.
 * Clients older than the token file: dotnetOldClients.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { containerVars, runProgram } from '../helpers/clients.js';
import { collectSecrets, assertNoSecrets } from '../helpers/secrets.js';
import { SDKS } from '../helpers/dotnet.js';
import { PROFILE, assertMachineRole, callerOrSkip, dotnetArgs, imdsEndpoint, inLoginShell, isolated, parse, rig, setUpDotnetRig, tearDownDotnetRig } from '../helpers/dotnetRig.js';

before(() => setUpDotnetRig(['v4', 'v37']));
after(tearDownDotnetRig);

for (const sdk of ['v4', 'v37'] as const) {
  const version = SDKS[sdk].core;

  test(`AWSSDK.Core ${version}: exec gives the default chain the container endpoint`, async (t) => {
    const caller = callerOrSkip(sdk, t);
    if (!caller) return;
    const run = await runCli(['exec', '--state-dir', rig.agent.stateDir, '--', 'dotnet', ...dotnetArgs(caller)], { env: isolated() });
    const called = parse(run, 'exec -- dotnet StsCaller');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /ECS|Container/i, `provider ${called.provider}`);
  });

  test(`AWSSDK.Core ${version}: the machine-wide variables (token file only, and as the login shell sets them)`, async (t) => {
    const caller = callerOrSkip(sdk, t);
    if (!caller) return;
    // What environment.d and the Windows machine environment carry: the URL and the token file.
    const fileOnly = parse(await runProgram('dotnet', dotnetArgs(caller), isolated(containerVars(rig.agent, 'token-file'))), 'StsCaller with the token file');
    assertMachineRole(fileOnly, sdk);
    assert.match(fileOnly.provider ?? '', /ECS|Container/i);
    const login = parse(await inLoginShell(['dotnet', ...dotnetArgs(caller)], isolated()), 'StsCaller in a login shell');
    assertMachineRole(login, sdk);
  });

  test(`AWSSDK.Core ${version}: credential_process in the profile named on the command line`, async (t) => {
    const caller = callerOrSkip(sdk, t);
    if (!caller) return;
    const run = await runProgram('dotnet', dotnetArgs(caller, ['--profile', PROFILE]), isolated({ AWS_CONFIG_FILE: rig.clientConfig }));
    const called = parse(run, 'StsCaller --profile');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /Process/i, `provider ${called.provider}`);
    // A profile that is not there throws rather than falling through to another source.
    const missing = await runProgram('dotnet', dotnetArgs(caller, ['--profile', 'no_such_profile']), isolated({ AWS_CONFIG_FILE: rig.clientConfig }));
    assert.equal(missing.code, 3, missing.stderr);
  });

  test(`AWSSDK.Core ${version}: IMDSv2 emulation through AWS_EC2_METADATA_SERVICE_ENDPOINT`, async (t) => {
    const caller = callerOrSkip(sdk, t);
    if (!caller) return;
    const run = await runProgram('dotnet', dotnetArgs(caller), isolated({ AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint() }));
    const called = parse(run, 'StsCaller via IMDS');
    assertMachineRole(called, sdk);
    assert.match(called.provider ?? '', /InstanceProfile/i, `provider ${called.provider}`);
  });
}

test('the agent logged no secret while serving all of the above', async () => {
  const secrets = await collectSecrets(rig.sandbox.dir, { stateDir: rig.agent.stateDir });
  assertNoSecrets(rig.agent.agent.output(), secrets, 'agent log');
});
