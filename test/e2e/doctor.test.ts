import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { startSandboxAgent, type SandboxAgent } from '../helpers/daemon.js';

interface Report {
  findings: Array<{ severity: string; code: string; path: string; message: string; fix: string }>;
  errors: number;
}

let moto: MotoServer;
let agent: SandboxAgent;
let dir: string;
let cleanup: () => Promise<void>;

before(async () => {
  moto = await startMoto();
  ({ dir, cleanup } = await makeSandbox());
  agent = await startSandboxAgent({ dir, refreshInterval: '1h', validity: '6h', rotations: 1, stsEndpoint: moto.url });
});

after(async () => {
  await agent?.stop();
  await moto?.stop();
  await cleanup?.();
});

async function doctor(env: Record<string, string> = {}, extra: string[] = [], prefix?: string[]) {
  const run = await runCli(['doctor', '--json', '--state-dir', agent.stateDir, ...extra], {
    env: { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1', ...env },
    ...(prefix ? { prefix } : {}),
  });
  return { ...run, report: JSON.parse(run.stdout) as Report };
}

const problem = (report: Report, code: string) => report.findings.find((f) => f.code === code && f.severity === 'error');

test('doctor on a healthy simulated instance: every check passes, exit 0', async () => {
  const { code, report, stderr } = await doctor();
  assert.equal(code, 0, JSON.stringify(report, null, 2) + stderr);
  assert.equal(report.errors, 0);
  const paths = report.findings.map((f) => f.path);
  for (const check of ['profile', 'credentials', 'eni', 'clock', 'sts', 'token-file', 'agent']) assert.ok(paths.includes(check), `missing check ${check}`);
  assert.ok(report.findings.every((f) => f.severity === 'info'), JSON.stringify(report.findings));
  assert.match(report.findings.find((f) => f.path === 'sts')!.message, /assumed-role\/appstream-fleet-machine-role/);
});

test('seeded fault: profile missing', async () => {
  const empty = path.join(dir, 'empty-credentials');
  await writeFile(empty, '');
  const { code, report } = await doctor({ AWS_SHARED_CREDENTIALS_FILE: empty, AWS_CONFIG_FILE: empty });
  assert.equal(code, 6);
  const f = problem(report, 'profile-missing');
  assert.ok(f, JSON.stringify(report.findings));
  assert.match(f.fix, /IAM role|AWS_SHARED_CREDENTIALS_FILE/);
});

test('seeded fault: expired credentials (file written 7 h ago, validity 6 h)', async () => {
  const stale = path.join(dir, 'stale-credentials');
  execFileSync('cp', [agent.credentialsFile, stale]);
  const sevenHoursAgo = new Date(Date.now() - 7 * 3600_000);
  await utimes(stale, sevenHoursAgo, sevenHoursAgo);
  const { code, report } = await doctor({ AWS_SHARED_CREDENTIALS_FILE: stale });
  assert.equal(code, 6);
  const f = problem(report, 'expired');
  assert.ok(f, JSON.stringify(report.findings));
  assert.match(f.message, /expired at/);
  assert.ok(f.fix.length > 10);
});

test('seeded fault: world-readable token file', async () => {
  const tokenFile = agent.discovery.tokenFile;
  await chmod(tokenFile, 0o644);
  try {
    const { code, report } = await doctor();
    assert.equal(code, 6);
    const f = problem(report, 'token-world-readable');
    assert.ok(f, JSON.stringify(report.findings));
    assert.match(f.fix, /chmod 600/);
    assert.ok(!JSON.stringify(report).includes(agent.token), 'the token itself never appears');
  } finally {
    await chmod(tokenFile, 0o600);
  }
});

test('seeded fault: agent down', async () => {
  const other = path.join(dir, 'no-agent-here');
  const run = await runCli(['doctor', '--json', '--state-dir', other], {
    env: { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' },
  });
  assert.equal(run.code, 6);
  const report = JSON.parse(run.stdout) as Report;
  const f = problem(report, 'agent-down');
  assert.ok(f, JSON.stringify(report.findings));
  assert.match(f.fix, /service start|serve/);
  // --no-agent: direct-mode machines do not need one.
  const direct = await runCli(['doctor', '--json', '--no-agent', '--state-dir', other], {
    env: { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' },
  });
  assert.equal(direct.code, 0, direct.stdout);
});

test('seeded fault: no ENI (a network namespace with only loopback)', { skip: process.getuid?.() !== 0 ? 'needs root for ip netns' : false }, async () => {
  const ns = `asdoc${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const { code, report } = await doctor({}, ['--no-agent'], ['ip', 'netns', 'exec', ns]);
    assert.equal(code, 6);
    const f = problem(report, 'no-eni');
    assert.ok(f, JSON.stringify(report.findings));
    assert.match(f.message, /no (network )?interface/);
    assert.match(f.fix, /wait|VPC/);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('doctor text output names each finding and its fix', async () => {
  const run = await runCli(['doctor', '--state-dir', path.join(dir, 'nothing')], {
    env: { AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile, AWS_CONFIG_FILE: agent.configFile, AWS_ENDPOINT_URL_STS: moto.url, AWS_REGION: 'us-east-1' },
  });
  assert.equal(run.code, 6);
  assert.match(run.stdout, /ERROR\s+agent: no agent is running/);
  assert.match(run.stdout, /fix: start it/);
  assert.match(run.stdout, /doctor: 1 error/);
});
