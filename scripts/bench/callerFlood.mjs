// Issue 19 point 1: a second local user fills the socket table with TIME_WAIT sockets (no fd
// needed) and floods IMDS token PUTs at IMDS's own port (imdsEndpoint) that it resets at once,
// so each makes the agent look the caller up. Root meanwhile asks for credentials with the
// token on the agent's port, a fresh connection each and a 1 s timeout (the JS SDK v3 default).
// Target: 0 timeouts in 40. It prints the deepest accept queue seen on each of the two ports
// (a full queue drops SYNs, retried only after 1 s) and the namespace's listen overflows. Also, same run: the caller
// lookup's cost at the quiet table (~13 lines) and at the flooded one (~150,000 lines).
// Everything runs in a network namespace made here (the socket table and TIME_WAIT are per
// namespace), so the flood never touches the machine's other work. Needs root; reported as
// skipped otherwise.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, root, sandbox, stats, until } from './lib.mjs';

const CLIENTS_SOURCE = path.join(root, 'scripts', 'bench', 'callerFloodClients.mjs');
const LOOKUP_COST = path.join(root, 'scripts', 'bench', 'lookupCost.ts');
const sh = (cmd, args, options = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });

function inNs(ns, args, { user, env = {}, stdio = ['ignore', 'pipe', 'pipe'] } = {}) {
  // ip netns exec and setpriv both exec: the child's pid is the program's, killed by pid.
  const drop = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : [];
  return spawn('ip', ['netns', 'exec', ns, ...drop, ...args], { env: { ...process.env, ...env }, stdio, cwd: root });
}

function output(child) {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d) => (err = (err + d).slice(-2000)));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${child.spawnargs.join(' ')} exited ${code}: ${err}`)))));
}

const timeWaitCount = (ns) => {
  const text = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/sockstat']);
  return Number(/TCP: .*\btw (\d+)/.exec(text)?.[1] ?? 0);
};
/** Each listener's drop count (`ss -m`: skmem's d, the socket's sk_drops; a SYN refused on a full accept queue counts there), by port. */
const listenerDrops = (ns) => {
  const drops = {};
  let port;
  for (const line of sh('ip', ['netns', 'exec', ns, 'ss', '-ltnmH']).split('\n')) {
    const listener = /^LISTEN\s+\S+\s+\S+\s+\S+:(\d+)\s/.exec(line);
    if (listener) port = listener[1];
    const skmem = /skmem:\(.*\bd(\d+)\)/.exec(line);
    if (skmem && port) drops[port] = Number(skmem[1]);
  }
  return drops;
};
const tableLines = (ns) => Number(sh('ip', ['netns', 'exec', ns, 'sh', '-c', 'cat /proc/net/tcp /proc/net/tcp6 | wc -l']).trim()) - 2;

export async function run({ requests = 40, timeWait = 150_000 } = {}) {
  const scenario = `root's credential requests under a TIME_WAIT + reset IMDS PUT flood from a second user (fresh connection each, 1 s timeout)`;
  const target = `0 timeouts in ${requests}; lookup cost at ~150k lines within 2x of ~13 lines`;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { scenario, unit: 'timeouts', target, skipped: 'needs root on Linux (network namespace, a second local user)' };
  const ns = `as2flood${process.pid}`;
  const userName = `as2fl${process.pid}`.slice(0, 31);
  const peer = `bfl${process.pid % 1_000_000}`;
  const children = [];
  const { dir, cleanup } = await sandbox();
  // The second user cannot read the work tree: its clients run from a world-readable copy.
  const shared = mkdtempSync(path.join(os.tmpdir(), 'as2-flood-'));
  chmodSync(shared, 0o755);
  const CLIENTS = path.join(shared, 'callerFloodClients.mjs');
  const FILL = path.join(shared, 'fillTimeWait.py');
  copyFileSync(CLIENTS_SOURCE, CLIENTS);
  copyFileSync(path.join(root, 'scripts', 'bench', 'fillTimeWait.py'), FILL);
  for (const file of [CLIENTS, FILL]) chmodSync(file, 0o644);
  const cleanUp = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {}
    try {
      sh('ip', ['link', 'del', peer]);
    } catch {}
    try {
      sh('userdel', [userName]);
    } catch {}
    rmSync(shared, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  try {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // A veth plays the ENI, so the agent serves (its outer end stays down-to-earth: no address).
    sh('ip', ['link', 'add', 'dev', peer, 'type', 'veth', 'peer', 'name', 'eni0', 'netns', ns]);
    sh('ip', ['link', 'set', 'dev', peer, 'addrgenmode', 'none']);
    sh('ip', ['link', 'set', 'dev', peer, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'dev', 'eni0', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', '10.214.9.2/24', 'dev', 'eni0']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.214.9.1', 'dev', 'eni0']);
    // Room for the flood inside the namespace only.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.tcp_max_tw_buckets=${timeWait + 20_000}`, 'net.ipv4.ip_local_port_range=1024 65535']);
    sh('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', userName]);
    const user = { uid: Number(sh('id', ['-u', userName]).trim()), gid: Number(sh('id', ['-g', userName]).trim()) };

    sh(process.execPath, [cli, 'simulate', '--dir', dir, '--rotations', '1', '--validity', '6h']);
    const stateDir = path.join(dir, 'state');
    const env = { AWS_SHARED_CREDENTIALS_FILE: path.join(dir, '.aws', 'credentials'), AWS_CONFIG_FILE: path.join(dir, '.aws', 'config') };
    const agent = inNs(ns, [process.execPath, cli, 'serve', '--state-dir', stateDir, '--port', '0', '--imds', '--log-level', 'warn'], { env });
    children.push(agent);
    let agentErr = '';
    agent.stderr.setEncoding('utf8').on('data', (d) => (agentErr = (agentErr + d).slice(-2000)));
    await until(async () => JSON.parse(readFileSync(path.join(stateDir, 'agent.json'), 'utf8')).url, 20_000, `the agent (${agentErr})`);
    const discovery = JSON.parse(readFileSync(path.join(stateDir, 'agent.json'), 'utf8'));
    const token = readFileSync(discovery.tokenFile, 'utf8').trim();
    const measure = async (n) => JSON.parse(await output(inNs(ns, [process.execPath, CLIENTS, 'measure', discovery.credentialsUrl, String(n)], { env: { TOKEN: token } })));
    const lookupCost = async () => JSON.parse(await output(inNs(ns, [process.execPath, '--import', 'tsx', LOOKUP_COST])));
    await until(async () => (await measure(1))[0].status === 200, 20_000, `credentials from the agent (${agentErr})`);

    const quietCost = await lookupCost();
    const quiet = await measure(10);

    const fillers = [0, 1].map(() => inNs(ns, ['/usr/bin/python3', FILL, String(timeWait)], { user, stdio: ['ignore', 'ignore', 'inherit'] }));
    children.push(...fillers);
    const fillStarted = Date.now();
    await until(async () => timeWaitCount(ns) >= timeWait * 0.95, 120_000, `${timeWait} TIME_WAIT sockets`);
    const fillSeconds = (Date.now() - fillStarted) / 1000;
    const nstat = () => Object.fromEntries(sh('ip', ['netns', 'exec', ns, 'nstat', '-az', 'TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpExtTCPReqQFullDrop']).split('\n').filter((l) => /^Tcp/.test(l)).map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
    const imdsUrl = discovery.imdsEndpoint;
    if (!imdsUrl || new URL(imdsUrl).port === new URL(discovery.url).port) throw new Error(`the agent has no IMDS listener of its own (imdsEndpoint ${imdsUrl})`);
    const ports = [new URL(discovery.url).port, new URL(imdsUrl).port];
    const beforeFlood = nstat();
    const flood = inNs(ns, [process.execPath, CLIENTS, 'flood', imdsUrl], { user, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(flood);
    await new Promise((r) => setTimeout(r, 1000));
    const queues = inNs(ns, [process.execPath, CLIENTS, 'queues', ...ports]);
    children.push(queues);
    const deepest = output(queues);
    const linesBefore = tableLines(ns);
    const flooded = await measure(requests);
    const linesAfter = tableLines(ns);
    queues.kill('SIGTERM');
    const depth = JSON.parse(await deepest);
    const afterFlood = nstat();
    const drops = listenerDrops(ns);
    const listenDrops =
      Object.keys(afterFlood).map((k) => `${k}=${afterFlood[k] - (beforeFlood[k] ?? 0)}`).join(', ') +
      ` during the flood (namespace-wide, the fillers' sinks included); per listener (its sk_drops since start: SYNs dropped on a full accept queue): agent port ${ports[0]} ${drops[ports[0]] ?? '?'}, IMDS port ${ports[1]} ${drops[ports[1]] ?? '?'}; ` +
      `deepest accept queue seen: agent port ${depth[ports[0]]}, IMDS port ${depth[ports[1]]} (backlog 511)`;
    const floodCost = await lookupCost();
    const metrics = await output(inNs(ns, ['sh', '-c', `exec ${process.execPath} -e "fetch('${discovery.url}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"`]));
    const imdsCounts = metrics.split('\n').filter((l) => /route="imds-token"/.test(l) && !l.startsWith('#')).map((l) => l.replace(/^\S+\{/, '{')).join(' ');

    const timeouts = flooded.filter((r) => r.error === 'timeout').length;
    const failures = flooded.filter((r) => r.status !== 200).length;
    const ok = flooded.filter((r) => r.status === 200).map((r) => r.ms);
    const quietMs = stats(quiet.filter((r) => r.status === 200).map((r) => r.ms));
    const floodMs = stats(ok.length ? ok : [NaN]);
    const costRatio = floodCost.netlinkMs / quietCost.netlinkMs;
    return {
      scenario:
        `${scenario}: ${timeouts}/${requests} timed out, ${failures} not 200; table ${linesBefore}–${linesAfter} lines (${timeWait} TIME_WAIT asked, filled in ${fillSeconds.toFixed(1)} s); ` +
        `quiet median ${quietMs.median.toFixed(2)} ms, flooded median ${floodMs.median.toFixed(2)} ms (p90 ${floodMs.p90.toFixed(2)}, max ${floodMs.max.toFixed(2)}); ` +
        `caller lookup (netlink sock_diag) ${(quietCost.netlinkMs * 1000).toFixed(1)} µs at ${quietCost.tableLines} lines, ${(floodCost.netlinkMs * 1000).toFixed(1)} µs at ${floodCost.tableLines} lines (${costRatio.toFixed(2)}×); ` +
        `the /proc/net/tcp fallback: ${quietCost.procMs.toFixed(2)} ms and ${floodCost.procMs.toFixed(1)} ms; IMDS PUT answers ${imdsCounts || 'none counted'}; ${listenDrops}`,
      unit: 'timeouts',
      target,
      summary: `${timeouts} timeouts / ${requests}; lookup ${costRatio.toFixed(2)}× (${quietCost.tableLines} → ${floodCost.tableLines} lines)`,
    };
  } finally {
    cleanUp();
    process.removeListener('exit', cleanUp);
    await cleanup();
  }
}
