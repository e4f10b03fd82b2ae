/**
 * runDoctor through its injected dependencies: a fake clock, a scripted network and STS, a
 * scripted source and service manager, and a real temp state folder (agent.json, token file,
 * a real loopback server for the "agent answers 503" case). Each test seeds one fault and
 * asserts the finding's severity, code and that the message says what was found.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runDoctor } from '../../src/doctor/runDoctor.js';
import type { DoctorDeps } from '../../src/doctor/types.js';
import type { Finding } from '../../src/findings.js';
import { loadSettings } from '../../src/config/loadSettings.js';
import type { NetworkSnapshot } from '../../src/network/types.js';
import type { ServiceStatus } from '../../src/service/managerTypes.js';
import { createFakeClock } from '../helpers/fakeClock.js';
import { pathTrust, type CheckTrust } from '../../src/trust/pathTrust.js';
import { trustPolicy } from '../../src/trust/trustPolicy.js';
import type { TrustRefusal } from '../../src/trust/checkPathTrust.js';
import { makeSandbox } from '../helpers/sandbox.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const KEY = 'ASIAUNITDOCTOR00TEST';

const READY_NETWORK: NetworkSnapshot = {
  interfaces: [
    { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ipv4: ['127.0.0.1'], internal: true },
    { name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', operstate: 'up', ipv4: ['10.0.1.25'], internal: false },
  ],
  defaultRouteInterface: 'eth1',
};

let sandboxDir: string;
let cleanup: () => Promise<void>;
let dirCount = 0;
before(async () => {
  ({ dir: sandboxDir, cleanup } = await makeSandbox());
});
after(async () => {
  await cleanup?.();
});

/** A fresh state folder per test: the agent checks read agent.json and the token file from it. */
async function stateDir(): Promise<string> {
  dirCount += 1;
  const dir = path.join(sandboxDir, `state-${dirCount}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

interface Overrides {
  state: string;
  expectAgent?: boolean;
  tokenGroup?: string;
  /** Credentials: expiration and issue time relative to NOW. */
  expiresIn?: number;
  issuedAgo?: number;
  stsDate?: DoctorDeps['stsDate'];
  identity?: DoctorDeps['identity'];
  serviceStatus?: ServiceStatus;
  refusals?: TrustRefusal[];
  folderTrust?: CheckTrust;
  strictPermissions?: boolean;
}

function deps(o: Overrides): DoctorDeps {
  const settings = loadSettings({
    flags: { stateDir: o.state, refreshInterval: '1h', validity: '6h', refreshGrace: '10m', expiryWarning: '15m', ...(o.tokenGroup ? { tokenGroup: o.tokenGroup } : {}), ...(o.strictPermissions === false ? { strictPermissions: false } : {}) },
    env: {},
    platform: 'linux',
    readFile: () => '',
  });
  const clock = createFakeClock(NOW);
  return {
    settings,
    clock,
    platform: 'linux',
    source: async () => ({
      credentials: { accessKeyId: KEY, secretAccessKey: 's'.repeat(40), sessionToken: 'token', expiration: new Date(NOW + (o.expiresIn ?? 5 * HOUR)) },
      issuedAt: new Date(NOW - (o.issuedAgo ?? 5 * MIN)),
      origin: 'unit test profile',
    }),
    readNetwork: async () => READY_NETWORK,
    identity: o.identity ?? (async () => ({ arn: 'arn:aws:sts::123456789012:assumed-role/fleet/i-1' })),
    stsDate: o.stsDate ?? (async () => new Date(NOW)),
    ...(o.serviceStatus ? { serviceStatus: async () => o.serviceStatus! } : {}),
    expectAgent: o.expectAgent ?? false,
    agentTrust: pathTrust('linux', trustPolicy({ owners: [], uid: process.getuid!(), strict: true, passwd: '' })),
    ...(o.refusals ? { refusals: o.refusals } : {}),
    ...(o.folderTrust ? { folderTrust: o.folderTrust } : {}),
  };
}

function only(findings: Finding[], checkPath: string): Finding {
  const matching = findings.filter((f) => f.path === checkPath);
  assert.equal(matching.length, 1, `expected one ${checkPath} finding, got ${JSON.stringify(findings, null, 2)}`);
  return matching[0]!;
}

function expectFinding(findings: Finding[], checkPath: string, severity: Finding['severity'], code: string, message: RegExp): Finding {
  const f = only(findings, checkPath);
  assert.equal(f.severity, severity, JSON.stringify(f));
  assert.equal(f.code, code, JSON.stringify(f));
  assert.match(f.message, message);
  assert.ok(f.fix.length > 0 && f.fix !== 'none needed', `a ${severity} needs a fix: ${JSON.stringify(f)}`);
  return f;
}

/** A token file the agent checks accept (owner-only) plus agent.json naming `pid` and `url`. */
async function seedAgent(state: string, pid: number, url: string, tokenFile = path.join(state, 'token')): Promise<void> {
  await writeFile(path.join(state, 'token'), 'a'.repeat(64), { mode: 0o600 });
  await chmod(path.join(state, 'token'), 0o600);
  const discovery = { pid, url, credentialsUrl: `${url}/v1/credentials`, tokenFile, imdsEndpoint: null, startedAt: new Date(NOW).toISOString() };
  await writeFile(path.join(state, 'agent.json'), JSON.stringify(discovery));
}

/** The pid of a process that has exited (and been reaped), so nothing runs under it. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

/** A loopback server that answers every request with `status` and a {code, message} body. */
async function answering(status: number): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'credentials-expired', message: 'no valid credentials' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests: () => requests };
}

describe('runDoctor: clock and STS', () => {
  test('a healthy instance: every check is info/ok (the baseline the fault tests differ from)', async () => {
    const findings = await runDoctor(deps({ state: await stateDir() }));
    assert.deepEqual(findings.filter((f) => f.severity !== 'info'), []);
    assert.deepEqual(findings.map((f) => f.path), ['profile', 'credentials', 'eni', 'clock', 'sts']);
  });

  test('clock 10 min off STS -> error clock-skew', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), stsDate: async () => new Date(NOW - 10 * MIN) }));
    expectFinding(findings, 'clock', 'error', 'clock-skew', /600s off/);
  });

  test('clock 2 min ahead of STS -> warning clock-skew, not an error', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), stsDate: async () => new Date(NOW + 2 * MIN) }));
    expectFinding(findings, 'clock', 'warning', 'clock-skew', /-120s off/);
  });

  test('STS unreachable (no Date, or the request fails) -> warning sts-unreachable', async () => {
    for (const stsDate of [async () => undefined, async () => Promise.reject(new Error('ECONNREFUSED'))]) {
      const findings = await runDoctor(deps({ state: await stateDir(), stsDate }));
      expectFinding(findings, 'clock', 'warning', 'sts-unreachable', /could not reach the STS endpoint/);
    }
  });

  test('GetCallerIdentity fails -> error sts-failed with its cause, secret-looking values masked', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const failure = Object.assign(new Error(`denied for ${KEY} with secret ${'s'.repeat(40)}`, { cause }), { name: 'InvalidClientTokenId' });
    const findings = await runDoctor(deps({ state: await stateDir(), identity: async () => Promise.reject(failure) }));
    const f = expectFinding(findings, 'sts', 'error', 'sts-failed', new RegExp(`^GetCallerIdentity failed: InvalidClientTokenId: denied for ${KEY} with secret \\[masked\\] <- connect ECONNREFUSED 127\\.0\\.0\\.1:9$`));
    assert.doesNotMatch(f.message, /s{40}/, 'a secret quoted in the error message is masked');
  });
});

describe('runDoctor: credentials', () => {
  test('expiring within expiryWarning -> warning expiring', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), expiresIn: 10 * MIN }));
    expectFinding(findings, 'credentials', 'warning', 'expiring', /expires in 10m/);
  });

  test('no refresh for longer than refreshInterval + refreshGrace -> warning refresh-overdue', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), issuedAgo: 2 * HOUR, expiresIn: 4 * HOUR }));
    expectFinding(findings, 'credentials', 'warning', 'refresh-overdue', /no new credentials for 2h/);
  });
});

describe('runDoctor: agent and token file', () => {
  test('agent.json names a pid that is not running -> error agent-down (stale pid)', async () => {
    const state = await stateDir();
    const pid = await deadPid();
    await seedAgent(state, pid, 'http://127.0.0.1:9');
    const findings = await runDoctor(deps({ state, expectAgent: true }));
    expectFinding(findings, 'agent', 'error', 'agent-down', new RegExp(`pid ${pid}, which is not running`));
  });

  test('the token file named in agent.json cannot be read -> error token-unreadable', async () => {
    const state = await stateDir();
    const missing = path.join(state, 'elsewhere', 'token');
    await seedAgent(state, process.pid, 'http://127.0.0.1:9', missing);
    const findings = await runDoctor(deps({ state, expectAgent: true, tokenGroup: 'ascreaders' }));
    const f = expectFinding(findings, 'agent', 'error', 'token-unreadable', new RegExp(`its token file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read \\(ENOENT\\)`));
    assert.match(f.fix, /\(ascreaders\)/, 'the fix names the configured token group');
  });

  test('the agent answers 503 -> error agent-unhealthy with the status', async () => {
    const state = await stateDir();
    const agent = await answering(503);
    try {
      await seedAgent(state, process.pid, agent.url);
      const findings = await runDoctor(deps({ state, expectAgent: true }));
      expectFinding(findings, 'agent', 'error', 'agent-unhealthy', /HTTP 503/);
      assert.equal(agent.requests(), 1, 'doctor asked the agent once');
      assert.match(only(findings, 'token-file').message, /mode 600/, 'the token file itself is fine: only the answer is wrong');
    } finally {
      await new Promise((r) => agent.server.close(r));
    }
  });

  test('token file readable by its group with no tokenGroup configured -> warning token-group-readable', async () => {
    const state = await stateDir();
    await writeFile(path.join(state, 'token'), 'a'.repeat(64));
    await chmod(path.join(state, 'token'), 0o640);
    const findings = await runDoctor(deps({ state }));
    expectFinding(findings, 'token-file', 'warning', 'token-group-readable', /group-readable \(mode 640\)/);
    // With the group configured the same mode is what the agent itself writes: fine.
    const withGroup = await runDoctor(deps({ state, tokenGroup: 'ascreaders' }));
    assert.equal(only(withGroup, 'token-file').severity, 'info');
  });
});

describe('runDoctor: ownership rule', () => {
  const refusal = (file: string): TrustRefusal => ({ file, culprit: file, reason: 'owned by uid 1001 (as2-streaming-user), mode 0644', fix: `chown root ${file}` });

  test('a profile file the source refused -> error untrusted-profile with the fix, once per file', async () => {
    const state = await stateDir();
    const findings = await runDoctor(deps({ state, refusals: [refusal('/home/x/.aws/config'), refusal('/home/x/.aws/config')] }));
    const f = expectFinding(findings, 'profile-file', 'error', 'untrusted-profile', /\/home\/x\/\.aws\/config is not trusted: owned by uid 1001 \(as2-streaming-user\), mode 0644; it is not read, run or served/);
    assert.equal(f.fix, 'chown root /home/x/.aws/config');
    assert.equal(findings.filter((x) => x.code === 'untrusted-profile').length, 1);
  });

  test('strictPermissions off -> warning strict-permissions-off, refusals only warnings', async () => {
    const state = await stateDir();
    const findings = await runDoctor(deps({ state, strictPermissions: false, refusals: [refusal('/h/.aws/credentials')] }));
    expectFinding(findings, 'settings', 'warning', 'strict-permissions-off', /strictPermissions is false/);
    expectFinding(findings, 'profile-file', 'warning', 'untrusted-profile', /used anyway/);
  });

  test('a foreign or loose state folder -> error foreign-state-dir naming owner and mode', async () => {
    const state = await stateDir();
    const findings = await runDoctor(deps({ state, folderTrust: async (dir) => ({ file: dir, culprit: dir, reason: 'a folder owned by uid 1001 (x), mode 0777 (writable by every user)', fix: `chmod go-w ${dir}` }) }));
    expectFinding(findings, 'state-dir', 'error', 'foreign-state-dir', /mode 0777 \(writable by every user\); `serve` refuses to start with it/);
    const fine = await runDoctor(deps({ state, folderTrust: async () => undefined }));
    assert.equal(only(fine, 'state-dir').severity, 'info');
  });

  test('agent.json with a non-loopback URL, or in a folder others can write -> error agent-untrusted; the token is never sent', async () => {
    const listener = await answering(200);
    try {
      const state = await stateDir();
      const port = new URL(listener.url).port;
      await seedAgent(state, process.pid, `http://localhost:${port}`);
      expectFinding(await runDoctor(deps({ state, expectAgent: true })), 'agent', 'error', 'agent-untrusted', /not a literal loopback address/);
      const loose = await stateDir();
      await seedAgent(loose, process.pid, listener.url);
      await chmod(loose, 0o777);
      expectFinding(await runDoctor(deps({ state: loose, expectAgent: true })), 'agent', 'error', 'agent-untrusted', /writable by every user/);
      assert.equal(listener.requests(), 0, 'no request reached the listener');
    } finally {
      await new Promise((r) => listener.server.close(r));
    }
  });
});

describe('runDoctor: service', () => {
  test('service stopped and no agent serving -> error service-stopped', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), expectAgent: true, serviceStatus: { state: 'stopped', detail: 'appstream-credential-agent is inactive (dead)' } }));
    expectFinding(findings, 'service', 'error', 'service-stopped', /inactive \(dead\)/);
  });

  test('service stopped while an agent started by hand serves -> only a warning', async () => {
    const state = await stateDir();
    const agent = await answering(200);
    try {
      await seedAgent(state, process.pid, agent.url);
      const findings = await runDoctor(deps({ state, expectAgent: true, serviceStatus: { state: 'stopped', detail: 'inactive' } }));
      assert.equal(only(findings, 'agent').code, 'ok');
      expectFinding(findings, 'service', 'warning', 'service-stopped', /inactive/);
    } finally {
      await new Promise((r) => agent.server.close(r));
    }
  });

  test('service stopped when no agent is expected (--no-agent) -> a warning, not an error', async () => {
    const findings = await runDoctor(deps({ state: await stateDir(), expectAgent: false, serviceStatus: { state: 'stopped', detail: 'inactive' } }));
    expectFinding(findings, 'service', 'warning', 'service-stopped', /inactive/);
  });
});
