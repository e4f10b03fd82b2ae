/**
 * Fault 10: 5,000 idle sockets under a 1,024 file-descriptor limit (a normal client got 4 of 40
 * answers). Must be: the service unit raises the fd limit; past a connection cap the oldest idle
 * connections are closed first; a good client keeps getting answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { cliPath, runCli, runProgram } from '../helpers/cli.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile, type FaultAgent } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const IDLE_SOCKETS = 5_000;

/** One request on a fresh connection (no pooling), as a short-lived script would make it. */
function ask(rig: FaultAgent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(rig.discovery.credentialsUrl, { agent: false, headers: { authorization: rig.token }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

// Keeps IDLE_SOCKETS connections open in its own process (which may raise its own soft limit):
// each one the agent closes is opened again, so the pressure lasts until stdin closes.
const FLOOD = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
let open = 0, connected = 0, reported = false, stopping = false;
function connect() {
  if (stopping) return;
  const s = net.connect(port, '127.0.0.1');
  s.on('connect', () => {
    open += 1;
    connected += 1;
    if (!reported && connected >= count) { reported = true; process.stdout.write(JSON.stringify({ connected, open }) + '\\n'); }
  });
  s.on('error', () => undefined);
  s.on('close', (hadError) => { open -= 1; setTimeout(connect, 5); });
}
for (let i = 0; i < count; i += 1) connect();
process.stdin.on('end', () => { stopping = true; process.exit(0); }).resume();
`;

test('fault 10: 5,000 idle sockets against an agent under a 1,024 fd limit -> the oldest idle connections are closed first and a good client keeps getting answers; the service unit raises LimitNOFILE', async (t) => {
  if (process.platform !== 'linux') return t.skip('ulimit and the systemd unit are Linux');
  const limits = await runProgram('sh', ['-c', `ulimit -n ${IDLE_SOCKETS + 512} && echo ok`]);
  if (limits.stdout.trim() !== 'ok') return t.skip(`cannot raise this shell's fd limit to ${IDLE_SOCKETS + 512} for the flooding client (hard limit too low; runs in CI as root)`);
  await withSandbox(async (dir) => {
    const rig = await startFaultAgent({ dir, launcher: (argv) => ({ command: 'sh', args: ['-c', 'ulimit -n 1024 && exec "$@"', 'sh', ...argv] }) });
    const flood = spawn('sh', ['-c', `ulimit -n ${IDLE_SOCKETS + 512} && exec "${process.execPath}" -e "$0" "$@"`, FLOOD, new URL(rig.discovery.url).port, String(IDLE_SOCKETS)], { stdio: ['pipe', 'pipe', 'inherit'] });
    flood.stdin!.on('error', () => undefined);
    try {
      const c = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(c));
      await rig.waitServing(c.id, 'before the flood');
      const limit = (await readFile(`/proc/${rig.agent.child.pid}/limits`, 'utf8')).split('\n').find((l) => l.startsWith('Max open files'));
      assert.match(limit ?? '', /Max open files\s+1024\s/, 'the agent runs under a 1,024 fd limit');

      const report = await new Promise<{ connected: number; open: number }>((resolve, reject) => {
        let text = '';
        flood.stdout!.setEncoding('utf8').on('data', (d: string) => {
          text += d;
          if (text.includes('\n')) resolve(JSON.parse(text));
        });
        flood.on('exit', (code) => reject(new Error(`the flooding client exited (${code}) before reporting`)));
        setTimeout(() => reject(new Error('hang guard: the flood did not make its connections in 60 s')), 60_000).unref();
      });
      // While the flood keeps every closed socket reopened, a good client asks 40 times.
      const answers: number[] = [];
      for (let i = 0; i < 40; i += 1) answers.push(await ask(rig));
      const ok = answers.filter((s) => s === 200).length;
      t.diagnostic(`flood: ${report.connected} idle connections made, ${report.open} open at that moment, each closed one reopened; good client: ${ok}/40 answered`);
      assert.equal(ok, 40, `the good client got ${ok} of 40 answers under the flood`);
      assert.match(rig.agent.output(), /"msg":"agent listening"/);
      assert.doesNotMatch(rig.agent.output(), /EMFILE/, 'the agent never ran out of descriptors');
    } finally {
      flood.stdin!.end();
      flood.kill();
      await rig.agent.stop();
    }

    // The shipped unit raises the limit for the service.
    const root = path.join(dir, 'root');
    await mkdir(path.join(root, 'opt', 'aca', 'dist'), { recursive: true });
    await copyFile(cliPath, path.join(root, 'opt', 'aca', 'dist', 'appstream-creds.cjs'));
    const install = await runCli(['service', 'install', '--root', root, '--prefix', '/opt/aca', '--no-start']);
    assert.equal(install.code, 0, install.stderr);
    const unit = await readFile(path.join(root, 'etc', 'systemd', 'system', 'appstream-credential-agent.service'), 'utf8');
    assert.match(unit, /^LimitNOFILE=65536$/m);
  });
});
