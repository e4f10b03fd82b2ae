/**
 * PowerShell 7 for real (issue 22): it dot-sources `env --format powershell` and gets the exact
 * values, hostile ones included; every .ps1 the project ships parses with PowerShell's own
 * parser; the sample that runs on Linux (use-machine-role.ps1) runs; and a script that loads the
 * AWS SDK for .NET with Add-Type (as AWS Tools for PowerShell does) gets the machine role with
 * -ProfileName appstream_machine_role and from the default chain. PowerShell and the SDK come
 * from NuGet (test/helpers/dotnet.ts); without dotnet or NuGet these tests skip with the reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ASSUMED_ROLE_PREFIX, type MotoServer } from '../helpers/moto.js';
import { startMotoAgent, stopMotoAgent } from '../helpers/motoAgent.js';
import type { SandboxAgent } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';
import { cliPath, repoRoot, runCli } from '../helpers/cli.js';
import { baseClientEnv, runProgram } from '../helpers/clients.js';
import { staticProfileEnv } from '../helpers/envProfile.js';
import { pwsh, stsCaller, type StsCaller } from '../helpers/dotnet.js';

let shell: { pwsh: string } | { skip: string };
let sdk: StsCaller | { skip: string };
let moto: MotoServer;
let sandbox: { dir: string; cleanup: () => Promise<void> };
let agent: SandboxAgent;

before(async () => {
  [shell, sdk] = await Promise.all([pwsh(), stsCaller('v4')]);
  ({ moto, sandbox, agent } = await startMotoAgent());
});

after(() => stopMotoAgent({ moto, sandbox, agent }));

const ps = (script: string, env: Record<string, string | undefined>, credentialsOnStdout = false) => {
  if ('skip' in shell) throw new Error(shell.skip);
  return runProgram(shell.pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], { DOTNET_CLI_TELEMETRY_OPTOUT: '1', POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off', ...env }, 120_000, credentialsOnStdout);
};
const psQuote = (value: string): string => `'${value.replace(/'/g, "''")}'`;

const KEY = 'ASIAPWSHHOSTILETEST1';
const SECRET = 'PwshHostileSecret/With+Base64Chars0123ab';

test('PowerShell 7 dot-sources env --format powershell: exact values, hostile ones included, nothing run', async (t) => {
  if ('skip' in shell) return t.skip(shell.skip);
  await withSandbox(async (dir) => {
    const marker = path.join(dir, 'ran');
    const token = [
      `tok'single"double\`back\`‘left’right‚low‛rev“dq”`,
      `$(New-Item -ItemType File ${marker}-dollar)`,
      `$env:PATH \${env:HOME} @(1) @{a=1}`,
      `"; New-Item -ItemType File ${marker}-quote; "`,
      `'; New-Item -ItemType File ${marker}-single; '`,
      `%PATH% ^& | ; & (sub) <in >out # comment`,
      `a\\b\\\\c end\\`,
    ].join(' ');
    const env = await staticProfileEnv(dir, { key: KEY, secret: SECRET, token });
    const printed = await runCli(['env', '--format', 'powershell'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    const file = path.join(dir, 'vars.ps1');
    await writeFile(file, printed.stdout);
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
    const run = await ps(`. ${psQuote(file)}; [Console]::Out.Write((@{ ${names.map((n) => `${n} = $Env:${n}`).join('; ')} } | ConvertTo-Json -Compress))`, { HOME: dir }, true);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: token });
    for (const suffix of ['dollar', 'quote', 'single']) assert.ok(!existsSync(`${marker}-${suffix}`), `PowerShell ran the command in the value (${suffix})`);
    assert.ok(!existsSync(path.join(dir, 'out')), 'PowerShell redirected output');
  });
});

const shippedScripts = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return shippedScripts(full);
    return name.endsWith('.ps1') ? [full] : [];
  });

test("every .ps1 the project ships parses with PowerShell's own parser", async (t) => {
  if ('skip' in shell) return t.skip(shell.skip);
  const { pwsh: exe } = shell;
  const scripts = shippedScripts(path.join(repoRoot, 'installer'));
  assert.ok(scripts.length >= 5, `found ${scripts.length} scripts`);
  const check = `
$failed = 0
foreach ($file in $args) {
  $tokens = $null; $errors = $null
  [void][System.Management.Automation.Language.Parser]::ParseFile($file, [ref] $tokens, [ref] $errors)
  foreach ($e in $errors) { $failed++; [Console]::Out.WriteLine("$($file):$($e.Extent.StartLineNumber): $($e.Message)") }
}
exit $failed`;
  const run = await runProgram(shell.pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `& { ${check} } ${scripts.map(psQuote).join(' ')}`], { POWERSHELL_TELEMETRY_OPTOUT: '1', POWERSHELL_UPDATECHECK: 'Off' }, 120_000);
  assert.equal(run.code, 0, `parse errors:\n${run.stdout}${run.stderr}`);
  // The check itself finds an error when there is one.
  await withSandbox(async (dir) => {
    const broken = path.join(dir, 'broken.ps1');
    await writeFile(broken, "if ($x) { Write-Output 'unclosed'\n");
    const bad = await runProgram(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `& { ${check} } ${psQuote(broken)}`], { POWERSHELL_TELEMETRY_OPTOUT: '1' }, 120_000);
    assert.notEqual(bad.code, 0, bad.stdout);
  });
});

test('a PowerShell script with the AWS SDK for .NET (Add-Type) gets the machine role: -ProfileName appstream_machine_role, and the default chain', async (t) => {
  if ('skip' in shell) return t.skip(shell.skip);
  if ('skip' in sdk) return t.skip(sdk.skip);
  const config = path.join(sandbox.dir, 'client-config');
  await writeFile(config, `[profile appstream_machine_role]\ncredential_process = ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} credential-process --state-dir ${JSON.stringify(agent.stateDir)}\n`);
  const standIn = path.join(repoRoot, 'test', 'dotnet', 'AwsToolsStandIn.ps1');
  const script = `. ${psQuote(standIn)} -SdkDir ${psQuote(sdk.dir)} -StsEndpoint ${psQuote(moto.url)}
$byProfile = Get-STSCallerIdentity -ProfileName appstream_machine_role
$missing = try { Get-STSCallerIdentity -ProfileName no_such_profile; 'found' } catch { 'refused' }
[Console]::Out.Write((@{ profile = $byProfile.Arn; missing = $missing } | ConvertTo-Json -Compress))`;
  const run = await ps(script, baseClientEnv(sandbox.dir, { AWS_CONFIG_FILE: config, AWS_EC2_METADATA_DISABLED: 'true' }));
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { profile: string; missing: string };
  assert.ok(out.profile.startsWith(ASSUMED_ROLE_PREFIX), out.profile);
  assert.equal(out.missing, 'refused');

  // The default chain through `exec` (container endpoint), as a script started by exec sees it.
  const chained = await runCli(['exec', '--state-dir', agent.stateDir, '--', (shell as { pwsh: string }).pwsh, '-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `. ${psQuote(standIn)} -SdkDir ${psQuote(sdk.dir)} -StsEndpoint ${psQuote(moto.url)}; [Console]::Out.Write((Get-STSCallerIdentity).Arn)`], { env: baseClientEnv(sandbox.dir, { AWS_EC2_METADATA_DISABLED: 'true', POWERSHELL_TELEMETRY_OPTOUT: '1' }) });
  assert.equal(chained.code, 0, chained.stderr);
  assert.ok(chained.stdout.startsWith(ASSUMED_ROLE_PREFIX), chained.stdout);
});

test('installer/appstream/use-machine-role.ps1 runs under PowerShell 7: agent.json and the token from ProgramData, the SDK default chain gets the machine role', async (t) => {
  if ('skip' in shell) return t.skip(shell.skip);
  if ('skip' in sdk) return t.skip(sdk.skip);
  // %ProgramData%\AppStreamCredentialAgent is the agent's state folder on Windows.
  const programData = path.join(sandbox.dir, 'ProgramData');
  await mkdir(programData, { recursive: true });
  await symlink(agent.stateDir, path.join(programData, 'AppStreamCredentialAgent'));
  const standIn = path.join(repoRoot, 'test', 'dotnet', 'AwsToolsStandIn.ps1');
  const sample = path.join(repoRoot, 'installer', 'appstream', 'use-machine-role.ps1');
  const run = await ps(`. ${psQuote(standIn)} -SdkDir ${psQuote(sdk.dir)} -StsEndpoint ${psQuote(moto.url)}; & ${psQuote(sample)} | ForEach-Object { if ($_.Arn) { "Arn=$($_.Arn)" } else { "$_" } }`, baseClientEnv(sandbox.dir, { ProgramData: programData, AWS_EC2_METADATA_DISABLED: 'true' }));
  assert.equal(run.code, 0, run.stderr);
  const arn = /^Arn=(.*)$/m.exec(run.stdout)?.[1] ?? '';
  assert.ok(arn.startsWith(ASSUMED_ROLE_PREFIX), run.stdout);
});
