/**
 * The Windows lane, the daemon: `serve` under the win32 node.exe in Wine, answering Linux-side
 * boto3 and the AWS SDK for JavaScript v3 over loopback while the simulator (Linux side)
 * rotates the profile; `status`, `exec` and `wait` under Wine against it; the default
 * %ProgramData% state folder; clean shutdown on Ctrl+C (Wine turns SIGINT into it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { boto3Identity, baseClientEnv, jsSdkIdentity } from '../helpers/clients.js';
import { startCli, waitFor, type Discovery, type RunningProcess } from '../helpers/daemon.js';
import { ASSUMED_ROLE_PREFIX, ROLE_ARN, startMoto, type MotoServer } from '../helpers/moto.js';
import { assertNoSecrets, watchSecrets } from '../helpers/secrets.js';
import { fromWinPath, runWinCli, startWine, toWinPath, winCliPath, wineLane, type WineProcess, wineTempDir } from '../helpers/wine.js';

const { rig, skip } = await wineLane();

/** The Linux default route's interface and an address on it that is not excluded by default, if any. */
async function linuxEni(): Promise<string | undefined> {
  const routes = await readFile('/proc/net/route', 'utf8').catch(() => '');
  const name = routes.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000' && f[7] === '00000000')?.[0];
  const usable = (os.networkInterfaces()[name ?? ''] ?? []).some((a) => a.family === 'IPv4' && !/^(127\.|169\.254\.|198\.19\.)/.test(a.address));
  return name && usable ? name : undefined;
}

interface WinAgent {
  proc: WineProcess;
  discovery: Discovery;
  token: string;
  /** The token file as Linux clients name it. */
  tokenFile: string;
}

async function startWinAgent(dir: string, args: string[], env: Record<string, string>, stateDirLinux: string): Promise<WinAgent> {
  const proc = await startWine(rig, rig.nodeExe, [winCliPath(), 'serve', '--port', '0', ...args], dir, { env, timeoutMs: 300_000 });
  let discovery: Discovery | undefined;
  try {
    await waitFor(
      async () => {
        discovery = JSON.parse(await readFile(path.join(stateDirLinux, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
        return discovery !== undefined && discovery !== null;
      },
      60_000,
      () => 'the agent under Wine did not write agent.json',
    );
    await waitFor(async () => (await fetch(`${discovery!.url}/healthz`).catch(() => undefined))?.status === 200, 60_000, () => 'the agent under Wine never became healthy');
  } catch (error) {
    const output = await proc.output();
    await proc.kill();
    throw new Error(`${(error as Error).message}:\n${output}`);
  }
  const tokenFile = fromWinPath(discovery!.tokenFile, rig.prefix);
  return { proc, discovery: discovery!, token: (await readFile(tokenFile, 'utf8')).trim(), tokenFile };
}

/** Ctrl+C (Wine delivers SIGINT to the console handler): the agent must stop cleanly. */
async function interrupt(agent: WinAgent): Promise<number | null> {
  agent.proc.child.kill('SIGINT');
  const code = await Promise.race([agent.proc.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
  if (code === 'hung') {
    await agent.proc.kill();
    assert.fail(`the agent under Wine did not stop within 30 s of Ctrl+C: ${await agent.proc.output()}`);
  }
  return code;
}

describe('serve under Wine', { skip }, () => {
  let moto: MotoServer;
  let dir: string;
  let simulator: RunningProcess;
  let agent: WinAgent;
  let secrets: ReturnType<typeof watchSecrets>;
  const stateDir = () => path.join(dir, 'state');
  const toolEnv = () => ({
    AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials')),
    AWS_CONFIG_FILE: toWinPath(path.join(dir, '.aws', 'config')),
  });

  before(async () => {
    moto = await startMoto();
    dir = await wineTempDir(rig, 'winserve');
    // The simulator runs on the Linux side: a new generation every 2 s, minted at moto.
    simulator = startCli(['simulate', '--dir', dir, '--form', 'static', '--refresh-interval', '2s', '--validity', '12s', '--rotations', '0', '--sts-endpoint', moto.url, '--role-arn', ROLE_ARN], moto.callerEnv);
    await waitFor(async () => (await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8').catch(() => '')).length > 0, 30_000, () => `simulator did not start: ${simulator.output()}`);
    secrets = watchSecrets(dir, 200, { stateDir: stateDir() });
    // allowUsers "*": Wine reports pid 0 as the owner of every socket, so the Windows caller check
    // cannot identify the Linux-side clients and refuses them (the %ProgramData% test shows that).
    agent = await startWinAgent(
      dir,
      ['--state-dir', toWinPath(stateDir()), '--refresh-interval', '2s', '--validity', '12s', '--expiry-warning', '1s', '--refresh-grace', '1s'],
      { ...toolEnv(), APPSTREAM_CREDS_ALLOW_USERS: '*' },
      stateDir(),
    );
  });

  after(async () => {
    await secrets?.stop().catch(() => undefined);
    await agent?.proc.kill();
    await simulator?.stop();
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const clientEnv = () => baseClientEnv(dir, { AWS_CONTAINER_CREDENTIALS_FULL_URI: agent.discovery.credentialsUrl, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: agent.tokenFile });

  test('agent.json and the token file are in the state folder; the token has 256 bits', async () => {
    assert.equal(agent.discovery.tokenFile, `${toWinPath(stateDir())}\\token`, 'a Windows path in the discovery file');
    assert.match(agent.discovery.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(agent.token, /^[0-9a-f]{64,}$/, 'at least 256 random bits, hex');
    const unauthorised = await fetch(agent.discovery.credentialsUrl, { headers: { authorization: 'wrong' } });
    assert.equal(unauthorised.status, 401);
  });

  test('boto3 and the JS SDK v3 on Linux get the simulated role from the agent under Wine', async () => {
    const boto = await boto3Identity(moto.url, clientEnv());
    assert.ok(boto.Arn.startsWith(`${ASSUMED_ROLE_PREFIX}appstream-sim-`), boto.Arn);
    assert.equal(boto.method, 'container-role');
    const js = await jsSdkIdentity(moto.url, clientEnv());
    assert.ok(js.Arn.startsWith(`${ASSUMED_ROLE_PREFIX}appstream-sim-`), js.Arn);
  });

  test('a rotation written by the simulator is picked up and reaches both clients', async () => {
    const current = async () => JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { AccessKeyId: string };
    const served = async () => ((await (await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } })).json()) as { AccessKeyId: string }).AccessKeyId;
    const first = await served();
    await waitFor(async () => (await served()) !== first, 30_000, () => `the agent under Wine kept serving ${first.slice(-4)} past a rotation`);
    // Exactly what the simulator wrote last (polled: it rotates every 2 s).
    await waitFor(async () => (await served()) === (await current()).AccessKeyId, 30_000, () => 'the agent under Wine never served the current generation');
    const boto = await boto3Identity(moto.url, clientEnv());
    const js = await jsSdkIdentity(moto.url, clientEnv());
    for (const identity of [boto, js]) assert.ok(identity.accessKeyId !== first, `${identity.Arn} still uses the first generation`);
  });

  test("with strictPermissions on, a client under Wine does not send the token: the listener's owner cannot be found (pid 0)", async () => {
    const run = await runWinCli(rig, ['doctor', '--json', '--state-dir', toWinPath(stateDir())], { env: toolEnv() });
    const findings = (JSON.parse(run.stdout) as { findings: { code: string; severity: string; message: string }[] }).findings;
    const held = findings.find((f) => f.code === 'port-held');
    assert.equal(held?.severity, 'error', run.stdout);
    assert.match(held!.message, /the owner of port \d+ cannot be found: GetExtendedTcpTable names no owning process \(pid 0; Wine reports 0 for every socket\); the token was not sent/);
  });

  // The clients below run with the rig switch strictPermissions=false: under Wine no listener's
  // owner can be seen (pid 0), and strict clients refuse to send the token (the test above).
  const lenientClientEnv = () => ({ ...toolEnv(), APPSTREAM_CREDS_STRICT_PERMISSIONS: 'false' });

  test('status under Wine: ready, key id masked, no secret in the output', async () => {
    const run = await runWinCli(rig, ['status', '--json', '--state-dir', toWinPath(stateDir())], { env: lenientClientEnv() });
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as { state: string };
    assert.match(status.state, /^(ready|refresh-overdue|expiring)$/);
    assertNoSecrets(run.stdout + run.stderr, secrets.secrets, 'status --json under Wine');
  });

  test('exec gives the Windows child the endpoint variables and the inline token, not static keys', async () => {
    // The child (node.exe) compares the inline token (for clients older than the token file) with
    // the file rather than printing it: the token must never reach any output.
    const show = "const e = process.env; const t = e.AWS_CONTAINER_AUTHORIZATION_TOKEN; process.stdout.write(JSON.stringify({ uri: e.AWS_CONTAINER_CREDENTIALS_FULL_URI, file: e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, inline: t === undefined ? null : t === require('fs').readFileSync(e.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8'), secret: e.AWS_SECRET_ACCESS_KEY ?? null }))";
    const run = await runWinCli(rig, ['exec', '--state-dir', toWinPath(stateDir()), '--', toWinPath(rig.nodeExe), '-e', show], { env: lenientClientEnv() });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { uri: agent.discovery.credentialsUrl, file: agent.discovery.tokenFile, inline: true, secret: null });
  });

  test('wait under Wine: ready through the PowerShell-free reader (ipconfig), naming the ENI', async (t) => {
    const eni = await linuxEni();
    if (!eni) return t.skip('this machine has no default route through a usable IPv4 address, so Wine sees no ENI either');
    const run = await runWinCli(rig, ['wait', '--timeout', '60s', '--json'], { env: toolEnv() });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout) as { ready: boolean; eni: { name: string; address: string } };
    assert.equal(report.ready, true);
    assert.equal(report.eni.name, eni, 'the interface Linux routes through');
    assert.ok(os.networkInterfaces()[eni]?.some((a) => a.address === report.eni.address), `address ${report.eni.address} is on ${eni}`);
  });

  test('wait under Wine times out with exit 3 and the reason when no interface qualifies', async () => {
    const run = await runWinCli(rig, ['wait', '--timeout', '3s', '--interface', 'no-such-adapter'], { env: toolEnv() });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /no-such-adapter/);
  });

  test('the agent log under Wine holds no secret; Ctrl+C stops it and removes agent.json', async () => {
    const code = await interrupt(agent);
    assert.equal(code, 0, await agent.proc.output());
    await assert.rejects(readFile(path.join(stateDir(), 'agent.json')), { code: 'ENOENT' });
    assertNoSecrets(await agent.proc.output(), await secrets.stop(), 'agent output under Wine');
  });
});

describe('serve under Wine with the default state folder', { skip }, () => {
  test('%ProgramData%\\AppStreamCredentialAgent holds agent.json and the token; with the default allowUsers a caller Wine cannot name (pid 0) is refused', async () => {
    const dir = await wineTempDir(rig, 'winpd');
    const sim = await simulateOneGeneration(dir);
    const stateDir = path.join(rig.prefix, 'drive_c', 'ProgramData', 'AppStreamCredentialAgent');
    let agent: WinAgent | undefined;
    try {
      agent = await startWinAgent(dir, [], { AWS_SHARED_CREDENTIALS_FILE: toWinPath(path.join(dir, '.aws', 'credentials')), AWS_CONFIG_FILE: toWinPath(path.join(dir, '.aws', 'config')) }, stateDir);
      assert.equal(agent.discovery.tokenFile, 'C:\\ProgramData\\AppStreamCredentialAgent\\token');
      assert.ok(sim.startsWith('ASIA'));
      // The token is right, but the caller check finds no owner for the Linux-side socket (pid 0
      // under Wine): refused, as on Linux when the owner cannot be found, and the log says why.
      const response = await fetch(agent.discovery.credentialsUrl, { headers: { authorization: agent.token } });
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { code: string }).code, 'unknown-user');
      await waitFor(async () => /refused a caller/.test(await agent!.proc.output()), 10_000, () => 'no log line for the refused caller');
      assert.match(await agent.proc.output(), /GetExtendedTcpTable names no owning process \(pid 0/);
      assert.match(await agent.proc.output(), /"callerLookup":"GetExtendedTcpTable owner pid \+ process token \(native\)"/);
      assert.equal(await interrupt(agent), 0);
      await assert.rejects(readFile(path.join(stateDir, 'agent.json')), { code: 'ENOENT' });
    } finally {
      await agent?.proc.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** One static generation written by the Linux-side simulator; returns its key id. */
async function simulateOneGeneration(dir: string): Promise<string> {
  const sim = startCli(['simulate', '--dir', dir, '--form', 'static', '--rotations', '1', '--validity', '30m']);
  assert.equal(await sim.exited, 0, sim.output());
  return (JSON.parse(await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8')) as { AccessKeyId: string }).AccessKeyId;
}
