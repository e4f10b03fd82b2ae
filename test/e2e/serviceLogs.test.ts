import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startCli, waitFor, type Discovery, type RunningProcess } from '../helpers/daemon.js';
import { makeSandbox } from '../helpers/sandbox.js';
import { assertNoSecrets, watchSecrets } from '../helpers/secrets.js';

const MAX_FILES = 3;
const SIZE_BYTES = Math.round(0.01 * 1024 * 1024);
const LOG_FILE = /^appstream-creds\.(\d{4}-\d{2}-\d{2}\.)?\d+\.log$/;

/** What the log folder holds right now; file contents are kept so pruned files are checked too. */
async function snapshot(logDir: string, contents: Map<string, string>): Promise<{ names: string[]; bytes: number }> {
  const names = (await readdir(logDir).catch(() => [] as string[])).filter((n) => LOG_FILE.test(n));
  let bytes = 0;
  for (const name of names) {
    bytes += (await stat(path.join(logDir, name)).catch(() => ({ size: 0 }))).size;
    const text = await readFile(path.join(logDir, name), 'utf8').catch(() => undefined);
    if (text !== undefined && text.length >= (contents.get(name)?.length ?? 0)) contents.set(name, text);
  }
  return { names, bytes };
}

async function startAgent(dir: string, env: Record<string, string>): Promise<{ agent: RunningProcess; discovery: Discovery; token: string }> {
  const stateDir = path.join(dir, 'state');
  const agent = startCli(['serve', '--state-dir', stateDir, '--port', '0', '--refresh-interval', '1s', '--validity', '30s'], {
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'),
    AWS_CONFIG_FILE: path.join(dir, '.aws', 'config'),
    ...env,
  });
  let discovery: Discovery | undefined;
  await waitFor(
    async () => {
      discovery = JSON.parse(await readFile(path.join(stateDir, 'agent.json'), 'utf8').catch(() => 'null')) as Discovery | undefined;
      return discovery?.pid === agent.child.pid;
    },
    15_000,
    () => `agent did not publish agent.json: ${agent.output()}`,
  );
  await waitFor(async () => (await fetch(`${discovery!.url}/healthz`).catch(() => undefined))?.status === 200, 15_000, () => `agent never became healthy: ${agent.output()}`);
  return { agent, discovery: discovery!, token: (await readFile(discovery!.tokenFile, 'utf8')).trim() };
}

test('service mode: JSON log files rotate, stay bounded in count and size, and hold no secret', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  const processes: RunningProcess[] = [];
  t.after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup();
  });
  const logDir = path.join(dir, 'logs');
  const logEnv = {
    APPSTREAM_CREDS_LOG_DIR: logDir,
    APPSTREAM_CREDS_LOG_MAX_SIZE_MB: '0.01',
    APPSTREAM_CREDS_LOG_MAX_FILES: String(MAX_FILES),
    APPSTREAM_CREDS_LOG_LEVEL: 'debug',
  };

  const simulator = startCli(['simulate', '--dir', dir, '--refresh-interval', '200ms', '--validity', '30s']);
  processes.push(simulator);
  await waitFor(async () => (await readFile(path.join(dir, 'simulator', 'current.json'), 'utf8').catch(() => '')).length > 0, 15_000, () => `simulator did not start: ${simulator.output()}`);
  const secrets = watchSecrets(dir, 100);

  const { agent, discovery, token } = await startAgent(dir, logEnv);
  processes.push(agent);
  secrets.secrets.add('auth token (token file)', token);

  const contents = new Map<string, string>();
  const seen = new Set<string>();
  let mostFiles = 0;
  let mostBytes = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { names, bytes } = await snapshot(logDir, contents);
      names.forEach((n) => seen.add(n));
      mostFiles = Math.max(mostFiles, names.length);
      mostBytes = Math.max(mostBytes, bytes);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  // Authorized requests log at debug; the simulator's rotations add generation lines.
  let requests = 0;
  const deadline = Date.now() + 45_000;
  while (seen.size < MAX_FILES + 2 && Date.now() < deadline && requests < 5_000) {
    const batch = Array.from({ length: 20 }, () => fetch(discovery.credentialsUrl, { headers: { authorization: token } }).then((r) => r.status));
    for (const status of await Promise.all(batch)) assert.equal(status, 200);
    requests += batch.length;
  }
  assert.equal(await agent.stop(), 0, agent.output());
  await simulator.stop();
  sampling = false;
  await sampler;
  await snapshot(logDir, contents);
  const collected = await secrets.stop();
  t.diagnostic(`${requests} requests, ${seen.size} log files over the run, at most ${mostFiles} at once, at most ${mostBytes} bytes`);

  assert.ok(seen.size > MAX_FILES, `logs rotated through more files than kept: ${[...seen].join(', ')}`);
  assert.ok(mostFiles <= MAX_FILES, `never more than ${MAX_FILES} files at once; saw ${mostFiles}`);
  assert.ok(mostBytes <= (MAX_FILES + 1) * SIZE_BYTES * 1.5, `total size stays bounded; saw ${mostBytes} bytes`);
  const finalNames = (await readdir(logDir)).filter((n) => LOG_FILE.test(n));
  assert.ok(finalNames.length >= 1 && finalNames.length <= MAX_FILES, finalNames.join(', '));

  let lines = 0;
  const messages = new Set<string>();
  for (const [name, text] of contents) {
    // A snapshot may end mid-line while a write is in flight; complete lines must be JSON.
    const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    for (const line of complete.split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { level?: unknown; time?: unknown; msg?: unknown };
      assert.equal(typeof entry.level, 'number', `${name}: ${line}`);
      assert.equal(typeof entry.msg, 'string', `${name}: ${line}`);
      messages.add(entry.msg as string);
      lines += 1;
    }
  }
  assert.ok(lines > 50, `JSON lines were written (${lines})`);
  assert.ok(messages.has('request'), 'debug request lines are in the files');
  assert.ok(messages.has('stopped'), 'the last line before a clean stop reached the file');
  assertNoSecrets([...contents.values()].join('\n'), collected, 'log files');
  assert.ok(!agent.output().includes('"msg"'), `service mode keeps stderr free of log lines: ${agent.output()}`);

  // A restart with a smaller limit prunes what earlier runs left behind, at once.
  const again = await startAgent(dir, { ...logEnv, APPSTREAM_CREDS_LOG_MAX_FILES: '1' });
  processes.push(again.agent);
  const afterRestart = (await readdir(logDir)).filter((n) => LOG_FILE.test(n));
  assert.equal(afterRestart.length, 1, afterRestart.join(', '));
  assert.equal(await again.agent.stop(), 0, again.agent.output());
});
