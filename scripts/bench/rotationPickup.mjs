// Delay from a rotation landing on disk (temp-file-and-rename, as AppStream-like writers do)
// to the endpoint serving it, over 100 rotations.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sandbox, startAgent, stats } from './lib.mjs';

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

function currentKey(url, token) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: token }, agent: keepAlive }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body).AccessKeyId));
      })
      .on('error', reject);
  });
}

/** Closes the keep-alive connection the pickup checks share. */
export const releaseClient = () => keepAlive.destroy();

/** Writes one new generation (by rename, or in place) and returns the ms until the endpoint serves it. */
export async function rotate(file, url, token, tag, inPlace = false) {
  const key = `ASIABENCH${randomBytes(6).toString('hex').toUpperCase()}`.slice(0, 20);
  const text = `[appstream_machine_role]\naws_access_key_id = ${key}\naws_secret_access_key = ${randomBytes(30).toString('base64')}\naws_session_token = ${randomBytes(120).toString('base64')}\n`;
  let started;
  if (inPlace) {
    started = performance.now();
    await writeFile(file, text, { mode: 0o600 });
  } else {
    const temp = path.join(path.dirname(file), `.bench-${tag}.tmp`);
    await writeFile(temp, text, { mode: 0o600 });
    started = performance.now();
    await rename(temp, file);
  }
  for (;;) {
    if ((await currentKey(url, token)) === key) break;
    if (performance.now() - started > 10_000) throw new Error(`rotation ${tag} not picked up within 10 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 30));
  return ms;
}

export async function run({ rotations = 100 } = {}) {
  const { dir, cleanup } = await sandbox();
  const { agent, discovery, token, env } = await startAgent(dir);
  try {
    const samples = [];
    for (let i = 0; i < rotations; i += 1) samples.push(await rotate(env.AWS_SHARED_CREDENTIALS_FILE, discovery.credentialsUrl, token, String(i)));
    const s = stats(samples);
    return { scenario: `rotation pickup, ${rotations} rename writes`, unit: 'ms', target: 'p99 ≤ 250 ms', candidate: s, baseline: null, ratio: null };
  } finally {
    releaseClient();
    await agent.stop();
    await cleanup();
  }
}
