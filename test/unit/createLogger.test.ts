import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, daemonLoggerOptions, type LoggerOptions } from '../../src/log/createLogger.js';
import { LOG_FILE_PATTERN, openLogFiles, rollSize } from '../../src/log/rollingFiles.js';
import { makeSandbox } from '../helpers/sandbox.js';

const SECRETS = {
  secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY',
  session: 'FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789',
  auth: 'c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789',
};

/** Logs every shape a secret could take, through a logger built with `options`. */
async function logSecrets(options: Omit<LoggerOptions, 'level' | 'destination'>): Promise<string> {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = await createLogger({ level: 'debug', destination, ...options });
  logger.info({ secretAccessKey: SECRETS.secret, sessionToken: SECRETS.session, keyId: '…ABCD' }, 'generation seen');
  logger.debug({ credentials: { SecretAccessKey: SECRETS.secret, Token: SECRETS.session, SessionToken: SECRETS.session } }, 'nested');
  logger.warn({ req: { headers: { authorization: SECRETS.auth, 'x-aws-ec2-metadata-token': SECRETS.auth } } }, 'request');
  logger.error({ authorization: SECRETS.auth, token: SECRETS.auth }, 'top-level token');
  return text;
}

function assertNoSecret(text: string): void {
  for (const [name, value] of Object.entries(SECRETS)) assert.ok(!text.includes(value), `${name} leaked: ${text}`);
}

test('JSON mode: one JSON object per line, every secret field censored', async () => {
  const text = await logSecrets({});
  assertNoSecret(text);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  assert.equal(lines[0]!.msg, 'generation seen');
  assert.equal(lines[0]!.secretAccessKey, '[redacted]');
  assert.equal(lines[0]!.keyId, '…ABCD');
  assert.deepEqual(lines[1]!.credentials, { SecretAccessKey: '[redacted]', Token: '[redacted]', SessionToken: '[redacted]' });
  assert.deepEqual((lines[2]!.req as { headers: unknown }).headers, { authorization: '[redacted]', 'x-aws-ec2-metadata-token': '[redacted]' });
  assert.equal(lines[3]!.authorization, '[redacted]');
});

test('pretty mode: readable single lines with level and message, secrets censored, no colour unless asked', async () => {
  const text = await logSecrets({ pretty: { colorize: false } });
  assertNoSecret(text);
  const lines = text.trim().split('\n');
  assert.equal(lines.length, 4, text);
  for (const line of lines) assert.throws(() => JSON.parse(line), `not JSON: ${line}`);
  assert.match(lines[0]!, /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: generation seen .*"secretAccessKey":"\[redacted\]"/);
  assert.match(lines[1]!, /DEBUG: nested/);
  assert.match(lines[2]!, /WARN: request/);
  assert.match(lines[3]!, /ERROR: top-level token/);
  assert.ok(!text.includes('\x1b['), 'no ANSI colour codes');
  assert.ok(!/"pid"|"hostname"/.test(text), 'noise fields are dropped');

  const coloured = await logSecrets({ pretty: { colorize: true } });
  assertNoSecret(coloured);
  assert.ok(coloured.includes('\x1b['), 'colour codes when colorize is on');
});

test('daemonLoggerOptions: files when logDir is set, readable lines on a TTY, JSON on stderr otherwise', () => {
  const base = { logLevel: undefined, logDir: undefined, logMaxSizeMb: 10, logMaxFiles: 5, logFrequency: 'daily' as const };
  assert.deepEqual(daemonLoggerOptions(base, { stderrIsTTY: false }), { level: 'info' });
  assert.deepEqual(daemonLoggerOptions(base, { stderrIsTTY: true }), { level: 'info', pretty: { colorize: true } });
  assert.deepEqual(daemonLoggerOptions(base, { stderrIsTTY: true, noColor: true }), { level: 'info', pretty: { colorize: false } });
  assert.deepEqual(daemonLoggerOptions({ ...base, logLevel: 'debug', logDir: '/var/log/x', logMaxSizeMb: 0.5 }, { stderrIsTTY: true }), {
    level: 'debug',
    files: { dir: '/var/log/x', maxSizeMb: 0.5, maxFiles: 5, frequency: 'daily' },
  });
});

test('rollSize turns fractional megabytes into bytes pino-roll understands', () => {
  assert.equal(rollSize(10), `${10 * 1024 * 1024}b`);
  assert.equal(rollSize(0.01), '10486b');
  assert.equal(rollSize(0.0000001), '1024b', 'floor of 1 KiB');
});

test('rotating files: rotate by size, keep at most maxFiles, JSON lines, dated names with a frequency', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  t.after(cleanup);
  for (const frequency of ['none', 'daily'] as const) {
    const logDir = path.join(dir, frequency);
    const stream = await openLogFiles({ dir: logDir, maxSizeMb: 2 / 1024, maxFiles: 3, frequency });
    const seen = new Set<string>();
    let most = 0;
    for (let i = 0; i < 300; i += 1) {
      stream.write(`${JSON.stringify({ level: 30, i, msg: 'x'.repeat(60) })}\n`);
      await new Promise((r) => setImmediate(r)); // pino-roll rolls on the next drain
      const names = (await readdir(logDir)).filter((n) => LOG_FILE_PATTERN.test(n));
      names.forEach((n) => seen.add(n));
      most = Math.max(most, names.length);
    }
    stream.end();
    assert.ok(seen.size > 3, `${frequency}: rotated through more files than kept (${[...seen].join(', ')})`);
    assert.ok(most <= 3, `${frequency}: at most 3 files at once, saw ${most}`);
    const names = await readdir(logDir);
    let total = 0;
    for (const name of names) {
      total += (await stat(path.join(logDir, name))).size;
      for (const line of (await readFile(path.join(logDir, name), 'utf8')).trim().split('\n')) JSON.parse(line);
    }
    assert.ok(total <= 4 * 2048 * 1.5, `${frequency}: total ${total} bytes stays bounded`);
    if (frequency === 'daily') assert.ok(names.every((n) => /^appstream-creds\.\d{4}-\d{2}-\d{2}\.\d+\.log$/.test(n)), names.join(', '));
    else assert.ok(names.every((n) => /^appstream-creds\.\d+\.log$/.test(n)), names.join(', '));
  }
});

test('rotating files: a restart with fewer maxFiles prunes leftovers at once and leaves other files alone', async (t) => {
  const { dir, cleanup } = await makeSandbox();
  t.after(cleanup);
  const first = await openLogFiles({ dir, maxSizeMb: 1 / 1024, maxFiles: 5, frequency: 'none' });
  for (let i = 0; i < 120; i += 1) {
    first.write(`${JSON.stringify({ i, msg: 'y'.repeat(40) })}\n`);
    await new Promise((r) => setImmediate(r));
  }
  first.end();
  await new Promise((r) => first.once('close', r));
  assert.equal((await readdir(dir)).length, 5);
  await (await import('node:fs/promises')).writeFile(path.join(dir, 'notes.txt'), 'not a log file');
  const second = await openLogFiles({ dir, maxSizeMb: 1 / 1024, maxFiles: 2, frequency: 'none' });
  const logs = (await readdir(dir)).filter((n) => LOG_FILE_PATTERN.test(n));
  assert.equal(logs.length, 2, logs.join(', '));
  assert.ok(logs.includes(path.basename(second.file!)), 'the file being written is kept');
  assert.ok((await readdir(dir)).includes('notes.txt'));
  second.end();
});
