/**
 * The agent -> direct fallback of credential-process (and every command built on the same
 * lookup): an agent that is alive but has no valid credentials, an agent.json naming a dead
 * pid, and an agent.json whose credentialsUrl is not loopback. In each case the built CLI
 * must print the profile's own keys, and in the last two it must not even contact the URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startCli, waitFor } from '../helpers/daemon.js';
import { withSandbox } from '../helpers/sandbox.js';

const PROFILE_KEY = 'ASIAFALLBACKDIRECT01';
const PROFILE_SECRET = 'DirectSecretDirectSecretDirectSecret0001';
const AGENT_KEY = 'ASIAFALLBACKAGENT001';

interface Profile {
  env: Record<string, string>;
  stateDir: string;
}

/** A static profile written now (valid for the default validity) and an empty state folder. */
async function profile(dir: string): Promise<Profile> {
  await mkdir(path.join(dir, '.aws'), { recursive: true });
  const credentials = path.join(dir, '.aws', 'credentials');
  await writeFile(credentials, `[appstream_machine_role]\naws_access_key_id = ${PROFILE_KEY}\naws_secret_access_key = ${PROFILE_SECRET}\naws_session_token = direct-session-token\n`, { mode: 0o600 });
  const stateDir = path.join(dir, 'state');
  await mkdir(stateDir, { recursive: true });
  return { env: { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') }, stateDir };
}

/** A stand-in agent on `host`: answers every request with `answer` and records what it got. */
async function fakeAgent(host: string, answer: { status: number; body: unknown }): Promise<{ server: Server; port: number; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

const closeServer = (server: Server) => new Promise((resolve) => server.close(resolve));

/** agent.json plus an owner-only token file, as a running agent would leave them. */
async function publish(stateDir: string, pid: number, credentialsUrl: string): Promise<void> {
  const tokenFile = path.join(stateDir, 'token');
  await writeFile(tokenFile, 'f'.repeat(64), { mode: 0o600 });
  const url = new URL(credentialsUrl).origin;
  await writeFile(path.join(stateDir, 'agent.json'), JSON.stringify({ pid, url, credentialsUrl, tokenFile, imdsEndpoint: null, startedAt: new Date().toISOString() }));
}

async function credentialProcess(p: Profile) {
  const run = await runCli(['credential-process', '--state-dir', p.stateDir], { env: p.env });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as { AccessKeyId: string; SecretAccessKey: string; Expiration: string };
}

function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

test('fallback: the agent is alive but answers 503 -> credential-process asks it, then reads the profile', async () => {
  await withSandbox(async (dir) => {
    const p = await profile(dir);
    const agent = await fakeAgent('127.0.0.1', { status: 503, body: { code: 'credentials-expired', message: 'no valid credentials' } });
    try {
      await publish(p.stateDir, process.pid, `http://127.0.0.1:${agent.port}/v1/credentials`);
      const out = await credentialProcess(p);
      assert.equal(out.AccessKeyId, PROFILE_KEY);
      assert.equal(out.SecretAccessKey, PROFILE_SECRET);
      assert.equal(agent.requests.length, 1, 'the live agent was asked first');
      assert.equal(agent.requests[0]!.headers.authorization, 'f'.repeat(64), 'with the token from its token file');
    } finally {
      await closeServer(agent.server);
    }
  });
});

test('fallback: the agent answers 200 with credentials that have expired -> they are not printed', async () => {
  await withSandbox(async (dir) => {
    const p = await profile(dir);
    const body = { AccessKeyId: AGENT_KEY, SecretAccessKey: 'A'.repeat(40), Token: 'agent-token', Expiration: new Date(Date.now() - 60_000).toISOString() };
    const agent = await fakeAgent('127.0.0.1', { status: 200, body });
    try {
      await publish(p.stateDir, process.pid, `http://127.0.0.1:${agent.port}/v1/credentials`);
      const out = await credentialProcess(p);
      assert.equal(agent.requests.length, 1);
      assert.equal(out.AccessKeyId, PROFILE_KEY, 'expired agent credentials were handed out');
    } finally {
      await closeServer(agent.server);
    }
  });
});

test('fallback: a real agent whose credentials expired (serve --validity 1s) -> the direct read with its own validity wins', async () => {
  await withSandbox(async (dir) => {
    const p = await profile(dir);
    // The file is 10 s old: with a 1 s validity the agent holds only an expired generation.
    const past = new Date(Date.now() - 10_000);
    await utimes(p.env.AWS_SHARED_CREDENTIALS_FILE!, past, past);
    const agent = startCli(['serve', '--state-dir', p.stateDir, '--port', '0', '--validity', '1s', '--expiry-warning', '0s'], p.env);
    try {
      await waitFor(
        async () => {
          const discovery = (await readFile(path.join(p.stateDir, 'agent.json'), 'utf8').then(JSON.parse, () => undefined)) as { pid: number; url: string } | undefined;
          if (!discovery || discovery.pid !== agent.child.pid) return false;
          const health = await fetch(`${discovery.url}/healthz`).then((r) => r.json() as Promise<{ state: string }>, () => undefined);
          return health?.state === 'expired';
        },
        30_000,
        () => `the agent never reported expired: ${agent.output()}`,
      );
      const out = await credentialProcess(p);
      assert.equal(out.AccessKeyId, PROFILE_KEY);
      assert.ok(Date.parse(out.Expiration) > Date.now(), 'the direct read used the default validity, not the agent\'s');
      // And with the same validity as the agent, the direct read agrees that they expired: exit 5.
      const strict = await runCli(['credential-process', '--state-dir', p.stateDir], { env: { ...p.env, APPSTREAM_CREDS_VALIDITY: '1s' } });
      assert.equal(strict.code, 5, strict.stderr);
      assert.match(strict.stderr, /expired at/);
    } finally {
      await agent.stop();
    }
  });
});

test('fallback: agent.json names a dead pid -> its URL is never contacted', async () => {
  await withSandbox(async (dir) => {
    const p = await profile(dir);
    // Something else now listens where the dead agent did: it must not be trusted.
    const squatter = await fakeAgent('127.0.0.1', { status: 200, body: { AccessKeyId: AGENT_KEY, SecretAccessKey: 'A'.repeat(40), Token: 't', Expiration: new Date(Date.now() + 3_600_000).toISOString() } });
    try {
      await publish(p.stateDir, await deadPid(), `http://127.0.0.1:${squatter.port}/v1/credentials`);
      const out = await credentialProcess(p);
      assert.equal(out.AccessKeyId, PROFILE_KEY);
      assert.equal(squatter.requests.length, 0, 'the token was sent to whatever listens on a dead agent\'s port');
    } finally {
      await closeServer(squatter.server);
    }
  });
});

test('fallback: a non-loopback credentialsUrl in agent.json is refused; the token never leaves loopback', async (t) => {
  const address = externalAddress();
  if (!address) {
    t.skip('this machine has no non-loopback IPv4 address to stand in for a remote host');
    return;
  }
  await withSandbox(async (dir) => {
    const p = await profile(dir);
    const remote = await fakeAgent('0.0.0.0', { status: 200, body: { AccessKeyId: AGENT_KEY, SecretAccessKey: 'A'.repeat(40), Token: 't', Expiration: new Date(Date.now() + 3_600_000).toISOString() } });
    try {
      // The plain case, and userinfo that makes a loopback-looking prefix point elsewhere.
      for (const url of [`http://${address}:${remote.port}/v1/credentials`, `http://127.0.0.1:1@${address}:${remote.port}/v1/credentials`]) {
        await publish(p.stateDir, process.pid, url);
        const out = await credentialProcess(p);
        assert.equal(out.AccessKeyId, PROFILE_KEY, url);
      }
      // The control: the same server reached over loopback is used, so the refusals above were the guard's.
      await publish(p.stateDir, process.pid, `http://127.0.0.1:${remote.port}/v1/credentials`);
      assert.equal(remote.requests.length, 0, `the agent token was sent off loopback: ${remote.requests.map((r) => r.headers.host).join(', ')}`);
      const control = await credentialProcess(p);
      assert.equal(control.AccessKeyId, AGENT_KEY);
      assert.equal(remote.requests.length, 1);
    } finally {
      await closeServer(remote.server);
    }
  });
});
