/**
 * Issue 23 end to end, through the built CLI and daemon. Three agents run side by side:
 * - publishing to moto's CloudWatch (signatures checked), identity from the simulated
 *   instance's system variables file: the AWS CLI v1 lists CredentialsRemainingSeconds with the
 *   fleet's dimensions and reads back a value in (0, 3600];
 * - publishing to a blackholed CloudWatch (accepts, never answers): credentials still served,
 *   the failure logged once and counted in `status` (text on a real terminal under `script`,
 *   colour there only; JSON unchanged), and `status --watch` redraws;
 * - EMF: JSON lines with `_aws` in the log file, and not one connection to the CloudWatch endpoint.
 * Every agent's output and log are scanned for secrets when it stops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { startMoto, type MotoServer } from '../helpers/moto.js';
import { startSandboxAgent, waitFor, getCredentials, type SandboxAgent } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { cliPath, runCli, runProgram } from '../helpers/cli.js';
import { findLeak, describeLeak } from '../helpers/leakScan.js';
import { hasCommand } from '../helpers/envProfile.js';

const NAMESPACE = 'AppStreamCreds/E2E';
const FLEET = 'fleet-metrics-e2e';
const sandboxes: Array<{ dir: string; cleanup: () => Promise<void> }> = [];
let moto: MotoServer;
let published: SandboxAgent;
let blackholed: SandboxAgent;
let emf: SandboxAgent;
/** Its machine role may call STS only: CloudWatch refuses its PutMetricData. */
let denied: SandboxAgent;
const NO_METRICS_ROLE = 'FleetRoleWithoutMetrics';
let emfLogDir: string;
/** Accepts and never answers; counts connections. */
let blackhole: { url: string; connections: () => number; close: () => void };
let emfEndpoint: { url: string; connections: () => number; close: () => void };

function holdingServer(): Promise<{ url: string; connections: () => number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('error', () => {}).on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        connections: () => count,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

async function sandbox(): Promise<string> {
  const made = await makeSandbox();
  sandboxes.push(made);
  return made.dir;
}

const metricsEnv = (dir: string, endpoint: string, extra: Record<string, string> = {}): Record<string, string> => ({
  APPSTREAM_CREDS_METRICS_NAMESPACE: NAMESPACE,
  APPSTREAM_CREDS_METRICS_INTERVAL: '1s',
  APPSTREAM_CREDS_SYSTEM_VARS_FILE: path.join(dir, 'appstream_system_vars.sh'),
  APPSTREAM_CREDS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_CLOUDWATCH: endpoint,
  ...extra,
});

const statusJson = async (agent: SandboxAgent): Promise<Record<string, any>> => (await (await fetch(`${agent.discovery.url}/v1/status`, { headers: { authorization: agent.token } })).json()) as Record<string, any>;

before(async () => {
  [moto, blackhole, emfEndpoint] = await Promise.all([
    startMoto({ roles: [NO_METRICS_ROLE], rolePolicies: { [NO_METRICS_ROLE]: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] } } }),
    holdingServer(),
    holdingServer(),
  ]);
  const [a, b, c, d] = await Promise.all([sandbox(), sandbox(), sandbox(), sandbox()]);
  emfLogDir = path.join(c, 'logs');
  const identity = ['--user', 'alice', '--resource-name', FLEET];
  [published, blackholed, emf, denied] = await Promise.all([
    // Real STS credentials from moto (1 h): the agent signs PutMetricData with them.
    startSandboxAgent({ dir: a, stsEndpoint: moto.url, refreshInterval: '1h', validity: '1h', simulateArgs: identity, agentEnv: metricsEnv(a, moto.url) }),
    startSandboxAgent({ dir: b, refreshInterval: '1h', validity: '1h', simulateArgs: identity, agentEnv: metricsEnv(b, blackhole.url) }),
    startSandboxAgent({ dir: c, refreshInterval: '1h', validity: '1h', simulateArgs: identity, agentEnv: metricsEnv(c, emfEndpoint.url, { APPSTREAM_CREDS_METRICS_FORMAT: 'emf', APPSTREAM_CREDS_LOG_DIR: emfLogDir }) }),
    startSandboxAgent({ dir: d, stsEndpoint: moto.url, roleArn: moto.roleArns[NO_METRICS_ROLE]!, refreshInterval: '1h', validity: '1h', simulateArgs: identity, agentEnv: metricsEnv(d, moto.url) }),
  ]);
});

after(async () => {
  await Promise.all([published?.stop(), blackholed?.stop(), emf?.stop(), denied?.stop()]);
  blackhole?.close();
  emfEndpoint?.close();
  await moto?.stop();
  await Promise.all(sandboxes.map((s) => s.cleanup()));
});

const awsEnv = (): Record<string, string> => ({ ...moto.callerEnv, AWS_DEFAULT_REGION: 'us-east-1', AWS_REGION: 'us-east-1' });

test('moto CloudWatch: list-metrics shows CredentialsRemainingSeconds with the fleet dimension; get-metric-statistics reads a value in (0, 3600]', async () => {
  await waitFor(async () => (await statusJson(published)).metrics?.published >= 1, 30_000, () => `no batch published: ${published.agent.output()}`);
  const list = await runProgram('aws', ['cloudwatch', 'list-metrics', '--namespace', NAMESPACE, '--metric-name', 'CredentialsRemainingSeconds', '--endpoint-url', moto.url, '--output', 'json'], { env: awsEnv() });
  assert.equal(list.code, 0, list.stderr);
  const metrics = (JSON.parse(list.stdout) as { Metrics: Array<{ Dimensions: Array<{ Name: string; Value: string }> }> }).Metrics;
  // moto lists a metric once per batch received: the distinct dimension sets are what CloudWatch shows.
  const sets = new Set(metrics.map((m) => JSON.stringify(Object.fromEntries(m.Dimensions.map((d) => [d.Name, d.Value])))));
  assert.deepEqual([...sets], [JSON.stringify({ ResourceName: FLEET, ResourceType: 'fleet' })], 'fleet and type from AppStream_*; no per-instance dimension by default');

  const now = Date.now();
  const stats = await runProgram('aws', [
    'cloudwatch', 'get-metric-statistics', '--namespace', NAMESPACE, '--metric-name', 'CredentialsRemainingSeconds',
    '--dimensions', `Name=ResourceName,Value=${FLEET}`, 'Name=ResourceType,Value=fleet',
    '--start-time', new Date(now - 10 * 60_000).toISOString(), '--end-time', new Date(now + 60_000).toISOString(),
    '--period', '60', '--statistics', 'Minimum', 'Maximum', '--endpoint-url', moto.url, '--output', 'json',
  ], { env: awsEnv() });
  assert.equal(stats.code, 0, stats.stderr);
  const points = (JSON.parse(stats.stdout) as { Datapoints: Array<{ Minimum: number; Maximum: number; Unit: string }> }).Datapoints;
  assert.ok(points.length > 0, stats.stdout);
  for (const p of points) {
    assert.ok(p.Minimum > 0 && p.Maximum <= 3600, `value out of (0, 3600]: ${JSON.stringify(p)}`);
    assert.equal(p.Unit, 'Seconds');
  }
  const all = await runProgram('aws', ['cloudwatch', 'list-metrics', '--namespace', NAMESPACE, '--endpoint-url', moto.url, '--output', 'json'], { env: awsEnv() });
  const names = new Set((JSON.parse(all.stdout) as { Metrics: Array<{ MetricName: string }> }).Metrics.map((m) => m.MetricName));
  assert.deepEqual([...names].sort(), ['CredentialsRemainingSeconds', 'Expired', 'RefreshOverdue', 'RequestsRefused']);
  // Signed calls accepted: no refusal or error from moto (a timeout on a loaded machine is no fault of the signature).
  const status = await statusJson(published);
  assert.ok(status.metrics.failures === 0 || status.metrics.lastError.cause === 'timeout', JSON.stringify(status.metrics));
  assert.doesNotMatch(published.agent.output(), /fleet metrics not published: (?!CloudWatch did not answer)/);
});

test('CloudWatch blackholed: credentials still served, the failure logged once and counted in status', async () => {
  await waitFor(async () => (await statusJson(blackholed)).metrics?.failures >= 2, 30_000, () => `fewer than 2 failures: ${blackholed.agent.output()}`);
  assert.ok(blackhole.connections() >= 1, 'the agent did reach the blackhole');
  for (let i = 0; i < 20; i += 1) assert.equal((await getCredentials(blackholed)).status, 200);
  const status = await statusJson(blackholed);
  assert.equal(status.state, 'ready');
  assert.equal(status.metrics.lastError.cause, 'timeout', JSON.stringify(status.metrics));
  assert.equal(status.metrics.published, 0);
  const warnings = blackholed.agent.output().split('\n').filter((l) => /fleet metrics not published/.test(l));
  assert.equal(warnings.length, 1, `logged once for ${status.metrics.failures} failures:\n${warnings.join('\n')}`);
});

test('AccessDenied (the fleet role lacks the statement): logged once, naming the fix, counted in status; credentials still served', async () => {
  await waitFor(async () => (await statusJson(denied)).metrics?.failures >= 2, 30_000, () => `fewer than 2 failures: ${denied.agent.output()}`);
  const status = await statusJson(denied);
  assert.equal(status.metrics.lastError.cause, 'access-denied', JSON.stringify(status.metrics));
  assert.equal(status.metrics.published, 0);
  const warnings = denied.agent.output().split('\n').filter((l) => /fleet metrics not published/.test(l));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /policy fleet-metrics/);
  assert.equal((await getCredentials(denied)).status, 200);
});

test('EMF: the values are JSON lines with _aws in the log file, and no connection is made to CloudWatch', async () => {
  const emfLines = async (): Promise<Array<Record<string, any>>> => {
    const files = await readdir(emfLogDir).catch(() => []);
    const text = (await Promise.all(files.map((f) => readFile(path.join(emfLogDir, f), 'utf8')))).join('\n');
    return text.split('\n').filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, any>);
  };
  await waitFor(async () => (await emfLines()).length >= 2, 30_000, () => `no EMF line in ${emfLogDir}: ${emf.agent.output()}`);
  const line = (await emfLines())[0]!;
  assert.equal(line._aws.CloudWatchMetrics[0].Namespace, NAMESPACE);
  assert.deepEqual(line._aws.CloudWatchMetrics[0].Dimensions, [['ResourceName', 'ResourceType']]);
  assert.equal(line.ResourceName, FLEET);
  assert.ok(line.CredentialsRemainingSeconds > 0 && line.CredentialsRemainingSeconds <= 3600, JSON.stringify(line));
  assert.equal(line.Expired, 0);
  assert.equal(emfEndpoint.connections(), 0, 'EMF mode made no AWS call');
  assert.equal((await statusJson(emf)).metrics.format, 'emf');
});

const ESC = '\u001b[';
const statusEnv = (agent: SandboxAgent): Record<string, string> => ({
  APPSTREAM_CREDS_STATE_DIR: agent.stateDir,
  AWS_SHARED_CREDENTIALS_FILE: agent.credentialsFile,
  AWS_CONFIG_FILE: agent.configFile,
  TERM: 'xterm',
});
/** Runs the CLI on a pseudo-terminal: `script` from util-linux gives it a real TTY for stdout. */
const onTty = (args: string, env: Record<string, string>, seconds?: number): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const command = `${process.execPath} ${cliPath} ${args}`;
  return runProgram(seconds ? 'timeout' : 'script', seconds ? ['-s', 'INT', String(seconds), 'script', '-qec', command, '/dev/null'] : ['-qec', command, '/dev/null'], { env, timeoutMs: 30_000 });
};

test('status on a real terminal: the timeline with colour and the metrics failure; piped: no colour; --json unchanged', { skip: hasCommand('script') ? false : 'script (util-linux) is not installed; .ci/run installs it' }, async () => {
  const tty = await onTty('status', statusEnv(blackholed));
  assert.equal(tty.code, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /timeline: /);
  assert.match(tty.stdout, /gen 1 +.*\[/);
  assert.match(tty.stdout, new RegExp(`${ESC.replace('[', '\\[')}32m=+`), 'green valid part on a terminal');
  assert.match(tty.stdout, /metrics error: CloudWatch did not answer in time .*\(timeout, /);
  const leak = findLeak(tty.stdout, 'status on a tty');
  assert.equal(leak, undefined, leak && describeLeak(leak));

  const piped = await runCli(['status'], { env: statusEnv(blackholed) });
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdout, /timeline: /);
  assert.ok(!piped.stdout.includes('\u001b'), 'no escape codes when stdout is not a terminal');

  const json = await runCli(['status', '--json'], { env: statusEnv(blackholed) });
  const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.ok(!json.stdout.includes('\u001b'));
  for (const key of ['state', 'mode', 'profile', 'current', 'generations', 'lastRefreshAt', 'refreshDueAt', 'lastError']) assert.ok(key in parsed, key);
  assert.ok(!('timeline' in parsed));
});

test('status --watch on a terminal redraws until Ctrl-C', { skip: hasCommand('script') && hasCommand('timeout') ? false : 'script (util-linux) or timeout is not installed' }, async () => {
  const run = await onTty('status --watch --every 300ms', statusEnv(blackholed), 3);
  const frames = run.stdout.split(`${ESC}H${ESC}2J`).length - 1;
  assert.ok(frames >= 3, `expected several redraws in 3 s, got ${frames}: ${run.stdout.slice(0, 400)}`);
  assert.match(run.stdout.split(`${ESC}H${ESC}2J`).at(-1)!, /timeline: /);
});
