// `npm run demo`: the agent against a simulated AppStream instance on a compressed clock
// (a new generation every 3 s, each valid 12 s), and a script that gets its credentials
// through the agent with the AWS SDK for JavaScript v3's default provider chain.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'appstream-creds.cjs');
const dir = await mkdtemp(path.join(os.tmpdir(), 'appstream-demo-'));
const stateDir = path.join(dir, 'state');
const children = [];
const say = (text) => console.log(`demo: ${text}`);

function start(name, args, env = {}) {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr.setEncoding('utf8').on('data', (text) => {
    for (const line of text.split('\n').filter(Boolean)) console.log(`  [${name}] ${summarize(line)}`);
  });
  children.push(child);
  return child;
}

// The agent logs JSON; show its message and state, which never hold secrets.
function summarize(line) {
  try {
    const entry = JSON.parse(line);
    return entry.msg + (entry.keyId ? ` (key ${entry.keyId})` : '');
  } catch {
    return line;
  }
}

async function until(check, ms, what) {
  const started = Date.now();
  while (!(await check().catch(() => false))) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let exitCode = 1;
try {
  say(`sandbox ${dir}`);
  start('appstream', ['simulate', '--dir', dir, '--refresh-interval', '3s', '--validity', '12s']);
  await until(async () => (await readFile(path.join(dir, '.aws', 'credentials'), 'utf8')).includes('aws_access_key_id'), 15_000, 'the simulated profile');

  const profileEnv = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };
  // The simulated sets are made up: STS would refuse every one, so the demo does not ask it (verifyNewCredentials).
  start('agent', ['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', '3s', '--validity', '12s', '--refresh-grace', '1s', '--expiry-warning', '2s'], { ...profileEnv, APPSTREAM_CREDS_VERIFY_NEW_CREDENTIALS: 'false' });
  const discoveryFile = path.join(stateDir, 'agent.json');
  await until(async () => (await fetch(`${JSON.parse(await readFile(discoveryFile, 'utf8')).url}/healthz`)).ok, 20_000, 'the agent to become ready');
  const discovery = JSON.parse(await readFile(discoveryFile, 'utf8'));
  say(`agent ready at ${discovery.credentialsUrl}`);

  // The "user script": no code change, just the two standard container variables.
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = discovery.credentialsUrl;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = discovery.tokenFile;
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const provider = fromNodeProviderChain();
  const seen = [];
  for (let i = 0; i < 10; i += 1) {
    const credentials = await provider({ forceRefresh: true });
    const keyId = `…${credentials.accessKeyId.slice(-4)}`;
    if (seen.at(-1) !== keyId) seen.push(keyId);
    say(`script got key ${keyId}, expires ${credentials.expiration?.toISOString()}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const rotations = seen.length - 1;
  say(`the script saw ${seen.length} generations (${seen.join(' -> ')}): ${rotations} rotation(s) followed with no restart`);
  exitCode = rotations >= 1 ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${error.message}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
