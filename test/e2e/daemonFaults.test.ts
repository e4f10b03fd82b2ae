/**
 * Acceptance point 5: faults while serving. The profile is deleted, then replaced with
 * garbage, then restored; a credential_process fails for a while. Through each fault the
 * agent keeps the last good generation until it expires, reports the fault in /v1/status,
 * logs it once, and recovers without a restart. Nothing secret reaches its debug log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startCli, startSandboxAgent, waitFor, type Discovery, type RunningProcess } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { assertNoSecrets, collectSecrets, Secrets } from '../helpers/secrets.js';

interface Status {
  state: string;
  current: { keyId: string } | null;
  lastError: { code: string; message: string; at: string } | null;
}

interface Endpoint {
  url: string;
  credentialsUrl: string;
  token: string;
}

const get = async (url: string, token?: string): Promise<{ status: number; json: Record<string, unknown> }> => {
  const response = await fetch(url, token ? { headers: { authorization: token } } : {});
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};
const status = async (e: Endpoint): Promise<Status> => (await get(`${e.url}/v1/status`, e.token)).json as unknown as Status;
const health = async (e: Endpoint) => get(`${e.url}/healthz`);
const served = async (e: Endpoint) => get(e.credentialsUrl, e.token);

function mint(prefix: string, secrets: Secrets): { id: string; secret: string; session: string } {
  const id = `ASIA${prefix}${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20);
  const secret = randomBytes(30).toString('base64');
  const session = randomBytes(120).toString('base64');
  secrets.add(`secret of ${id}`, secret).add(`session token of ${id}`, session);
  return { id, secret, session };
}

async function replace(file: string, data: string | Buffer): Promise<void> {
  await writeFile(`${file}.tmp`, data);
  await rename(`${file}.tmp`, file);
}

const staticProfile = (c: { id: string; secret: string; session: string }): string =>
  `[appstream_machine_role]\naws_access_key_id = ${c.id}\naws_secret_access_key = ${c.secret}\naws_session_token = ${c.session}\n`;

const failureLines = (output: string): number => output.split('\n').filter((l) => l.includes('credential source failed')).length;

/** Fault → last good kept → expiry → 503 → restore → recovery; returns the fault's error code. */
async function faultCycle(t: { diagnostic(m: string): void }, e: Endpoint, agent: RunningProcess, file: string, fault: () => Promise<void>, restore: { id: string; text: string }, label: string) {
  const good = (await served(e)).json.AccessKeyId as string;
  const linesBefore = failureLines(agent.output());
  await fault();
  let first: Status | undefined;
  await waitFor(async () => Boolean((first = await status(e)).lastError), 30_000, () => `${label}: hang guard: no lastError in /v1/status`);
  const during = first!;
  assert.match(during.lastError!.code, /^[a-z][a-z-]+$/, `${label}: lastError has a code`);
  t.diagnostic(`${label}: lastError ${during.lastError!.code} ("${during.lastError!.message}")`);
  // Until it expires, the last good generation is served and the agent is healthy.
  const kept = await served(e);
  const healthDuring = await health(e);
  assert.equal(kept.status, 200, `${label}: the last good generation is still served`);
  assert.equal(kept.json.AccessKeyId, good, `${label}: the same generation as before the fault`);
  assert.equal(healthDuring.status, 200, `${label}: healthy while the last good generation is valid`);
  assert.ok(['ready', 'refresh-overdue', 'expiring'].includes(during.state), `${label}: state ${during.state}`);
  assert.equal(during.current?.keyId, `…${good.slice(-4)}`);

  await waitFor(async () => (await health(e)).status === 503, 90_000, () => `${label}: hang guard: never became unhealthy`);
  const expiredHealth = await health(e);
  assert.deepEqual(expiredHealth.json, { state: 'expired' });
  const expired = await served(e);
  assert.equal(expired.status, 503);
  assert.equal(expired.json.code, 'credentials-expired');
  assert.equal(typeof expired.json.message, 'string');
  assert.equal(expired.json.AccessKeyId, undefined, 'an expired generation is never handed out');
  const atExpiry = await status(e);
  assert.equal(atExpiry.state, 'expired');
  assert.equal(atExpiry.current, null);
  assert.equal(atExpiry.lastError?.code, during.lastError!.code, `${label}: the fault is still reported`);
  assert.ok(Date.parse(atExpiry.lastError!.at) > Date.parse(during.lastError!.at), `${label}: the agent kept retrying (lastError.at moved on)`);
  assert.equal(failureLines(agent.output()) - linesBefore, 1, `${label}: exactly one "credential source failed" line over all the retries`);

  await replace(file, restore.text);
  await waitFor(async () => (await served(e)).json.AccessKeyId === restore.id, 30_000, () => `${label}: hang guard: the restored generation was never served`);
  const recovered = await status(e);
  assert.equal((await health(e)).status, 200);
  assert.equal(recovered.lastError, null, `${label}: lastError cleared`);
  assert.equal(recovered.state, 'ready');
}

test('static form: deleted, then garbage, then restored; the last good generation is kept until it expires', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  let stop: (() => Promise<void>) | undefined;
  try {
    // Validity 20 s: the window in which "the last good generation is kept" is checked. The
    // fault is seen within about one refresh (2 s); 20 s leaves a loaded machine room to spare.
    const sandbox = await startSandboxAgent({ dir, form: 'static', rotations: 1, refreshInterval: '2s', validity: '20s', agentEnv: { APPSTREAM_CREDS_LOG_LEVEL: 'debug' } });
    stop = sandbox.stop;
    const secrets = await collectSecrets(dir);
    const e: Endpoint = { url: sandbox.discovery.url, credentialsUrl: sandbox.discovery.credentialsUrl, token: sandbox.token };
    const file = sandbox.credentialsFile;
    await sandbox.simulator.exited;

    // A fresh generation of our own, so each fault starts with a full validity.
    const a = mint('A', secrets);
    await replace(file, staticProfile(a));
    await waitFor(async () => (await served(e)).json.AccessKeyId === a.id, 10_000, () => 'generation A never served');

    const b = mint('B', secrets);
    await faultCycle(t, e, sandbox.agent, file, () => rm(file), { id: b.id, text: staticProfile(b) }, 'deleted');
    const c = mint('C', secrets);
    const garbage = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x9c]), Buffer.from('\n[appstream_machine_role\n\u0007=', 'utf8'), Buffer.alloc(64, 0xc3)]);
    await faultCycle(t, e, sandbox.agent, file, () => replace(file, garbage), { id: c.id, text: staticProfile(c) }, 'garbage');

    const generations = ((await get(`${e.url}/v1/status`, e.token)).json.generations as Array<{ keyId: string }>).map((g) => g.keyId);
    for (const id of [a.id, b.id, c.id]) assert.ok(generations.includes(`…${id.slice(-4)}`), `generation ${id} in /v1/status`);
    await sandbox.stop();
    stop = undefined;
    assert.equal(failureLines(sandbox.agent.output()), 2, 'two distinct failures, two lines');
    assertNoSecrets(sandbox.agent.output(), secrets, 'agent debug log (static faults)');
  } finally {
    await stop?.();
    await cleanup();
  }
});

test('process form: credential_process fails for a while; the last good generation is kept, then it recovers', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  let agent: RunningProcess | undefined;
  try {
    const aws = path.join(dir, '.aws');
    const stateDir = path.join(dir, 'state');
    const flag = path.join(dir, 'fail');
    const output = path.join(dir, 'process-output.json');
    await mkdir(aws, { recursive: true });
    const script = path.join(dir, 'creds.sh');
    await writeFile(script, `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'simulated outage' >&2; exit 1; fi\ncat '${output}'\n`, { mode: 0o755 });
    await writeFile(path.join(aws, 'config'), `[profile appstream_machine_role]\ncredential_process = /bin/sh '${script}'\n`);
    await writeFile(path.join(aws, 'credentials'), '');
    const secrets = new Secrets();
    const emit = async (c: { id: string; secret: string; session: string }, lifeMs: number): Promise<void> =>
      replace(output, JSON.stringify({ Version: 1, AccessKeyId: c.id, SecretAccessKey: c.secret, SessionToken: c.session, Expiration: new Date(Date.now() + lifeMs).toISOString() }));

    const p1 = mint('P', secrets);
    await emit(p1, 60_000);
    agent = startCli(
      ['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', '2s', '--validity', '6s', '--refresh-grace', '1s', '--expiry-warning', '1s'],
      { AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials'), AWS_CONFIG_FILE: path.join(aws, 'config'), APPSTREAM_CREDS_LOG_LEVEL: 'debug' },
    );
    const running = agent;
    let discovery: Discovery | undefined;
    await waitFor(async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
      return discovery?.pid === running.child.pid;
    }, 15_000, () => `no agent.json: ${running.output()}`);
    const e: Endpoint = { url: discovery!.url, credentialsUrl: discovery!.credentialsUrl, token: (await readFile(discovery!.tokenFile, 'utf8')).trim() };
    secrets.add('auth token', e.token);
    await waitFor(async () => (await health(e)).status === 200, 15_000, () => `never healthy: ${running.output()}`);
    assert.equal((await served(e)).json.AccessKeyId, p1.id);

    await writeFile(flag, '');
    await waitFor(async () => Boolean((await status(e)).lastError), 30_000, () => `hang guard: the failing credential_process was never reported: ${running.output()}`);
    const during = await status(e);
    assert.equal(during.lastError?.code, 'process-failed');
    assert.match(during.lastError!.message, /exit 1/);
    t.diagnostic(`credential_process failure reported: ${during.lastError!.message}`);
    // Until the agent has retried (lastError.at moves on), the last good generation is served all along.
    await waitFor(
      async () => {
        const kept = await served(e);
        assert.equal(kept.status, 200);
        assert.equal(kept.json.AccessKeyId, p1.id);
        assert.equal((await health(e)).status, 200);
        return Date.parse((await status(e)).lastError!.at) > Date.parse(during.lastError!.at);
      },
      45_000,
      () => 'hang guard: the agent never retried the failing credential_process',
    );
    assert.equal(failureLines(running.output()), 1, 'the repeated, identical failure is logged once');

    const p2 = mint('Q', secrets);
    await emit(p2, 60_000);
    await rm(flag);
    await waitFor(async () => (await served(e)).json.AccessKeyId === p2.id, 30_000, () => `hang guard: never recovered: ${running.output()}`);
    const recovered = await status(e);
    assert.equal(recovered.lastError, null);
    assert.equal(recovered.state, 'ready');
    assert.equal(await agent.stop(), 0);
    assertNoSecrets(running.output(), secrets, 'agent debug log (process faults)');
  } finally {
    await agent?.stop();
    await cleanup();
  }
});
