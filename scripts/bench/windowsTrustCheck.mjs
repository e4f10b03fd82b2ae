// Under Wine: the cost per file of the Windows ownership rule's native route (owner + DACL of the
// file and every folder above it, read as SIDs through advapi32 via koffi, then judged), against
// baselines taken in the same node.exe process, alternating: a plain lstat of the same parts (the
// walk without security) and the icacls route it replaces (one icacls process per part; Wine's
// icacls is a stub that prints nothing, so this is the process cost alone, a floor).
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { root, sandbox } from './lib.mjs';
import { openWindowsRig } from './windowsRig.mjs';

// Runs inside node.exe: the agent's own check (src/), bundled for the bench like dist/ is.
const PROBE = `
import { lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { checkWindowsSidTrust } from './src/trust/checkWindowsSidTrust.js';
import { trustedSids } from './src/trust/pathTrust.js';
import { trustPolicy } from './src/trust/trustPolicy.js';
import { nativeSecurityReader, windowsApi } from './src/native/win32/windowsSecurity.js';
const [file, runsText, icaclsRunsText, out] = process.argv.slice(2);
const load = windowsApi();
if (!load.ok) throw new Error(load.reason);
const reader = nativeSecurityReader(load.api);
const sids = trustedSids(trustPolicy({ owners: [], uid: undefined, strict: true, passwd: '' }), load.api);
const parts = [];
for (let p = file; parts.at(-1) !== p; p = path.win32.dirname(p)) parts.push(p);
const time = async (fn) => { const t = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t) / 1e6; };
const native = async () => { if (await checkWindowsSidTrust(file, sids, reader)) throw new Error('refused'); };
const stat = async () => { for (const p of parts) lstatSync(p); };
const icacls = async () => { for (const p of parts) execFileSync('icacls', [p], { windowsHide: true }); };
(async () => {
const nativeRuns = [], statRuns = [], nativeBeside = [], icaclsRuns = [];
for (let i = 0; i < 20; i += 1) { await native(); await stat(); }
for (let i = 0; i < Number(runsText); i += 1) { nativeRuns.push(await time(native)); statRuns.push(await time(stat)); }
for (let i = 0; i < Number(icaclsRunsText); i += 1) { nativeBeside.push(await time(native)); icaclsRuns.push(await time(icacls)); }
require('node:fs').writeFileSync(out, JSON.stringify({ parts: parts.length, nativeRuns, statRuns, nativeBeside, icaclsRuns }));
})().catch((error) => { require('node:fs').writeFileSync(out + '.error', String(error?.stack ?? error)); process.exitCode = 1; });
`;

const stats = (samples) => {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, median: at(0.5), p10: at(0.1), p90: at(0.9), max: sorted.at(-1) };
};

let measured;

/** One probe run under Wine feeds both rows (each baseline alternates with the check in the same process). */
export async function run({ runs = 200, icaclsRuns = 5, baseline = 'stat' } = {}) {
  const scenario = baseline === 'stat' ? 'Windows ownership check per file, native SIDs, under Wine (vs lstat of the same 5 parts)' : 'Windows ownership check per file, native SIDs, under Wine (vs the icacls route: a process per part)';
  measured ??= measure(runs, icaclsRuns);
  const result = await measured;
  if (result.skip) return { scenario, unit: 'ms', target: 'report', skipped: result.skip, candidate: { median: NaN }, baseline: null, ratio: null };
  const [candidate, base] = baseline === 'stat' ? [stats(result.nativeRuns), stats(result.statRuns)] : [stats(result.nativeBeside), stats(result.icaclsRuns)];
  return { scenario, unit: 'ms per file', target: 'report', candidate, baseline: base, ratio: candidate.median / base.median };
}

async function measure(runs, icaclsRuns) {
  const rig = await openWindowsRig();
  if (rig.skip) return { skip: rig.skip };
  const { dir, cleanup } = await sandbox();
  try {
    const bundle = path.join(dir, 'probe', 'probe.cjs');
    await build({ stdin: { contents: PROBE, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: bundle, logLevel: 'warning', external: ['koffi'] });
    await mkdir(path.join(dir, 'probe', 'native'), { recursive: true });
    await copyFile(path.join(root, 'dist', 'native', 'koffi-win32-x64.node'), path.join(dir, 'probe', 'native', 'koffi-win32-x64.node'));
    // A profile 4 folders below C:\\ in the prefix (Z:\\tmp would be refused: Wine shows /tmp as Everyone-writable).
    const driveC = path.join(rig.prefix, 'drive_c');
    await mkdir(path.join(driveC, 'bench', 'a', 'b', 'aws'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(driveC, 'bench', 'a', 'b', 'aws', 'credentials'), '[x]\n', { mode: 0o600 });
    const out = path.join(dir, 'result.json');
    const { status, file } = rig.runWine(rig.nodeExe, [`Z:${bundle.replace(/\//g, '\\')}`, 'C:\\bench\\a\\b\\aws\\credentials', String(runs), String(icaclsRuns), `Z:${out.replace(/\//g, '\\')}`]);
    if (status !== 0) throw new Error(`the probe under Wine exited ${status}: ${readFileSync(file, 'utf8').slice(-2000)}`);
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    await cleanup();
    await rig.close();
  }
}
