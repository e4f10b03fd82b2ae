// `npm run bench [-- --quick] [scenario…]`: runs each scenario file and prints one table.
import { fmt } from './lib.mjs';

const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const scenarios = {
  credentialProcessDirect: () => import('./credentialProcessDirect.mjs').then((m) => m.run({ runs: quick ? 10 : 30 })),
  credentialProcessAgent: () => import('./credentialProcessAgent.mjs').then((m) => m.run({ runs: quick ? 10 : 30 })),
  httpCredentials: () => import('./httpCredentials.mjs').then((m) => m.run({ seconds: quick ? 3 : 8 })),
  roleRoute: () => import('./roleRoute.mjs').then((m) => m.run({ seconds: quick ? 3 : 8 })),
  newConnections: () => import('./newConnections.mjs').then((m) => m.run({ seconds: quick ? 2 : 5 })),
  // Root only (network namespace, a second user); ~30 s.
  callerFlood: () => import('./callerFlood.mjs').then((m) => m.run({ requests: 40, timeWait: quick ? 100_000 : 150_000 })),
  rotationPickup: () => import('./rotationPickup.mjs').then((m) => m.run({ rotations: quick ? 20 : 100 })),
  rotationPickupInPlace: () => import('./rotationPickupInPlace.mjs').then((m) => m.run({ rotations: quick ? 10 : 40 })),
  // moto's STS on loopback; two agents, verification on and off.
  verificationCost: () => import('./verificationCost.mjs').then((m) => m.run({ rotations: quick ? 10 : 40 })),
  slowClients: () => import('./slowClients.mjs').then((m) => m.run({ blocks: quick ? 1 : 4, perBlock: quick ? 20 : 50 })),
  shutdownUnderLoad: () => import('./shutdownUnderLoad.mjs').then((m) => m.run({ runs: quick ? 2 : 5 })),
  waitNetnsReady: () => import('./waitNetnsReady.mjs').then((m) => m.run({ runs: quick ? 2 : 5 })),
  metricsBlackholed: () => import('./metricsBlackholed.mjs').then((m) => m.run({ requests: quick ? 500 : 2000 })),
  idleDaemon: () => import('./idleDaemon.mjs').then((m) => m.run({ seconds: quick ? 10 : 60 })),
  // Windows, under Wine (skipped with the reason where Wine is missing).
  exeStartup: () => import('./exeStartup.mjs').then((m) => m.run({ runs: quick ? 8 : 20, target: 'exe' })),
  bundleStartupWindows: () => import('./exeStartup.mjs').then((m) => m.run({ runs: quick ? 8 : 20, target: 'bundle' })),
  windowsTrustCheck: () => import('./windowsTrustCheck.mjs').then((m) => m.run({ runs: quick ? 50 : 200, icaclsRuns: quick ? 3 : 10, baseline: 'stat' })),
  windowsTrustCheckVsIcacls: () => import('./windowsTrustCheck.mjs').then((m) => m.run({ runs: quick ? 50 : 200, icaclsRuns: quick ? 3 : 10, baseline: 'icacls' })),
  windowsNetworkReader: () => import('./windowsNetworkReader.mjs').then((m) => m.run({ runs: quick ? 5 : 10 })),
  // Minutes of real time: only when named (`npm run bench -- soak`); see soak.mjs for the compression.
  soak: () => import('./soak.mjs').then((m) => m.run({ durationMs: (quick ? 5 : 30) * 60_000 })),
};
const onlyWhenNamed = new Set(['soak']);

const rows = [];
for (const [name, runScenario] of Object.entries(scenarios)) {
  if (only.length > 0 ? !only.includes(name) : onlyWhenNamed.has(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  const r = await runScenario();
  if (r.summary) {
    rows.push(`| ${r.scenario} | ${r.unit} | ${r.summary} | — | — | ${r.target} |`);
    continue;
  }
  if (r.skipped) {
    rows.push(`| ${r.scenario} | ${r.unit} | skipped: ${r.skipped} | — | — | ${r.target} |`);
    continue;
  }
  const c = r.candidate;
  const b = r.baseline;
  const detail = [
    c.p10 !== undefined ? `median ${fmt(c.median)} (p10 ${fmt(c.p10)}, p90 ${fmt(c.p90)}${c.p99 !== undefined ? `, p99 ${fmt(c.p99)}` : ''}, max ${fmt(c.max)})` : `${fmt(c.median)}`,
    c.p99LatencyMs !== undefined ? `p99 latency ${c.p99LatencyMs} ms` : '',
    c.cpuPercent !== undefined ? `CPU ${fmt(c.cpuPercent, 2)} %` : '',
  ].filter(Boolean).join(', ');
  const base = b
    ? [b.p10 !== undefined ? `median ${fmt(b.median)} (p10 ${fmt(b.p10)}, p90 ${fmt(b.p90)})` : fmt(b.median), b.p99LatencyMs !== undefined ? `p99 latency ${b.p99LatencyMs} ms` : '', b.cpuPercent !== undefined ? `CPU ${fmt(b.cpuPercent, 2)} %` : ''].filter(Boolean).join(', ')
    : '—';
  rows.push(`| ${r.scenario} | ${r.unit} | ${detail} | ${base} | ${r.ratio === null ? '—' : `${fmt(r.ratio, 2)}×`} | ${r.target} |`);
}
console.log(`| scenario | unit | agent | baseline (same run) | ratio | target |\n|---|---|---|---|---|---|\n${rows.join('\n')}`);
