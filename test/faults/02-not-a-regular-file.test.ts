/**
 * Fault 2: the profile path becomes a FIFO (or a socket, device, directory), then a regular file
 * again. Must be: only regular files are opened (checked without blocking); anything else is a
 * clear error naming the file type; the next regular file is picked up; SIGTERM still exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/daemon.js';
import { mintTriple, replaceFile, startFaultAgent, staticProfile } from '../helpers/faultAgent.js';
import { withSandbox } from '../helpers/sandbox.js';

const isRoot = process.getuid?.() === 0;

test('fault 2: the profile path becomes a FIFO, socket, device or directory -> a clear error naming the type, never a blocking open; the next regular file is picked up; SIGTERM exits', async (t) => {
  if (process.platform === 'win32') return t.skip('FIFOs and unix sockets are POSIX');
  await withSandbox(async (dir) => {
    const rig = await startFaultAgent({ dir, args: ['--refresh-interval', '1s'] });
    const sockets: net.Server[] = [];
    try {
      const first = mintTriple();
      await replaceFile(rig.credentialsFile, staticProfile(first));
      await rig.waitServing(first.id, 'the first generation');
      const env = { AWS_SHARED_CREDENTIALS_FILE: rig.credentialsFile, AWS_CONFIG_FILE: rig.configFile, APPSTREAM_CREDS_STATE_DIR: `${dir}/no-agent` };

      const kinds: [string, () => Promise<void>][] = [
        ['fifo', async () => void execFileSync('mkfifo', [rig.credentialsFile])],
        ['socket', async () => {
          const server = net.createServer();
          sockets.push(server);
          await new Promise<void>((resolve) => server.listen(rig.credentialsFile, resolve));
        }],
        // A device the ownership rule accepts (root's, not writable by others): a fresh node as root, else kmsg.
        ['character device', async () => void (isRoot ? execFileSync('mknod', ['-m', '600', rig.credentialsFile, 'c', '1', '3']) : await symlink('/dev/kmsg', rig.credentialsFile))],
        ['directory', () => mkdir(rig.credentialsFile)],
      ];
      for (const [kind, make] of kinds) {
        if (kind === 'character device' && !isRoot && !existsSync('/dev/kmsg')) {
          t.diagnostic('character device case skipped: not root (mknod) and no /dev/kmsg to link to');
          continue;
        }
        await rm(rig.credentialsFile, { recursive: true, force: true });
        await make();
        await waitFor(async () => (await rig.status()).lastError?.message.includes(`is a ${kind}`) ?? false, 20_000, () => `no "${kind}" error in lastError: ${rig.agent.output().slice(-1500)}`);
        const kept = await rig.credentials();
        assert.equal(kept.status, 200, `${kind}: the last good generation is still served`);
        assert.equal(kept.body.AccessKeyId, first.id);
        // The CLI, reading directly, answers at once with the type rather than blocking on the open.
        const direct = await runCli(['credential-process'], { env, timeoutMs: 30_000 });
        assert.equal(direct.signal, null, `${kind}: credential-process blocked`);
        assert.equal(direct.code, 5, direct.stderr);
        assert.match(direct.stderr, new RegExp(`is a ${kind}, not a regular file`));
      }

      // SIGTERM while the path is a FIFO with no writer: the daemon exits (nothing pending on the open).
      await rm(rig.credentialsFile, { recursive: true, force: true });
      execFileSync('mkfifo', [rig.credentialsFile]);
      await waitFor(async () => (await rig.status()).lastError?.message.includes('is a fifo') ?? false, 20_000, () => 'no fifo error');

      // A regular file again: picked up.
      await rm(rig.credentialsFile, { force: true });
      const second = mintTriple();
      await writeFile(rig.credentialsFile, staticProfile(second), { mode: 0o600 });
      await rig.waitServing(second.id, 'the regular file after the fifo');
      await rm(rig.credentialsFile, { force: true });
      execFileSync('mkfifo', [rig.credentialsFile]);
      await waitFor(async () => (await rig.status()).lastError?.message.includes('is a fifo') ?? false, 20_000, () => 'no fifo error the second time');
      const stopped = await Promise.race([rig.agent.stop('SIGTERM'), new Promise<string>((r) => setTimeout(() => r('hung'), 30_000))]);
      assert.notEqual(stopped, 'hung', `SIGTERM did not stop the agent with a FIFO in place: ${rig.agent.output().slice(-1500)}`);
    } finally {
      for (const server of sockets) server.close();
      await rig.agent.stop('SIGKILL');
    }
  });
});
