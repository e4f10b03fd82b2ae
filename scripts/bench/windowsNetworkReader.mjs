// Under Wine, inside one win32 node.exe process: what one readiness check of the network costs
// through the PowerShell-free reader (os.networkInterfaces + `ipconfig /all`) against the
// systeminformation path the agent used before (it starts PowerShell on Windows). Calls
// alternate; each is timed in-process. Wine's powershell.exe is a stub that exits at once, so
// on real Windows the systeminformation side is slower still (PowerShell's own start-up).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root, sandbox, stats } from './lib.mjs';
import { openWindowsRig, toWinPath } from './windowsRig.mjs';

const PROBE = `
import { createWindowsNetworkReader } from './src/network/readWindowsNetwork.ts';
import { readNetworkWithSysinfo } from './src/network/readNetwork.ts';
import { writeFileSync } from 'node:fs';
(async () => {
const runs = Number(process.argv[2]);
const ipconfig = createWindowsNetworkReader();
const time = async (read) => { const t = process.hrtime.bigint(); const snapshot = await read(); return [Number(process.hrtime.bigint() - t) / 1e6, snapshot]; };
const a = [], b = [];
let lastA, lastB;
await time(ipconfig); await time(readNetworkWithSysinfo);
for (let i = 0; i < runs; i++) { const [ta, sa] = await time(ipconfig); a.push(ta); lastA = sa; const [tb, sb] = await time(readNetworkWithSysinfo); b.push(tb); lastB = sb; }
writeFileSync(process.argv[3], JSON.stringify({ a, b, routeA: lastA.defaultRouteInterface ?? null, routeB: lastB.defaultRouteInterface ?? null }));
})();
`;

export async function run({ runs = 10 } = {}) {
  const scenario = 'win32 network check under Wine: ipconfig reader (vs systeminformation/PowerShell)';
  const rig = await openWindowsRig();
  if (rig.skip) return { scenario, unit: 'ms', target: 'report', skipped: rig.skip, candidate: { median: NaN }, baseline: null, ratio: null };
  const { dir, cleanup } = await sandbox();
  try {
    const script = path.join(dir, 'probe.cjs');
    await build({ stdin: { contents: PROBE, resolveDir: root, loader: 'ts' }, outfile: script, bundle: true, platform: 'node', target: 'node20', format: 'cjs', supported: { 'dynamic-import': false }, logLevel: 'error' });
    const resultFile = path.join(dir, 'result.json');
    const probe = rig.runWine(rig.nodeExe, [toWinPath(script), String(runs), toWinPath(resultFile)]);
    if (probe.status !== 0) throw new Error(`network probe under Wine failed: ${readFileSync(probe.file, 'utf8').slice(-1000)}`);
    const { a, b, routeA, routeB } = JSON.parse(readFileSync(resultFile, 'utf8'));
    const [sa, sb] = [stats(a), stats(b)];
    return { scenario: `${scenario}; default route seen: ipconfig ${routeA ?? 'none'}, systeminformation ${routeB ?? 'none'}`, unit: 'ms per check', target: 'report', candidate: sa, baseline: sb, ratio: sa.median / sb.median };
  } finally {
    await cleanup();
    await rig.close();
  }
}
