/**
 * Network namespaces for the `wait` end-to-end tests (docs/architecture.md, "Real parts for tests"):
 * a fresh namespace holds only loopback; a veth pair plays the customer ENI. The inner end
 * lives in the namespace with a test address (10.213.x.y) and, optionally, the default
 * route. The outer end stays in the root namespace, is brought up (so the inner end's
 * operstate becomes 'up') and never gets an address there - not even an IPv6 link-local one.
 *
 * Every name is unique per process and per call, and everything made here is deleted by
 * destroy(), and again on process exit as a last resort.
 */
import { execFile, execFileSync } from 'node:child_process';

const IP = 'ip';
/** Linux IFNAMSIZ - 1. */
const MAX_LINK_NAME = 15;

export interface IpResult {
  stdout: string;
  stderr: string;
}

/** Runs `ip ARGS…` and rejects with the command line and ip's own message on failure. */
export function ip(args: string[]): Promise<IpResult> {
  return new Promise((resolve, reject) => {
    execFile(IP, args, { encoding: 'utf8', timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')} failed: ${(stderr || error.message).trim()}`));
      else resolve({ stdout, stderr });
    });
  });
}

let counter = 0;
/** A name unique to this process and call: PREFIX + pid (base 36) + counter (base 36). */
function uniqueName(prefix: string): string {
  counter += 1;
  const name = `${prefix}${process.pid.toString(36)}${counter.toString(36)}`;
  if (name.length > MAX_LINK_NAME) throw new Error(`link name ${name} is longer than ${MAX_LINK_NAME} characters`);
  return name;
}

// Last-resort cleanup if a test process dies without running its hooks.
const liveNamespaces = new Set<string>();
const livePeers = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const ns of liveNamespaces) {
      try {
        execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    for (const peer of livePeers) {
      try {
        execFileSync(IP, ['link', 'del', peer], { stdio: 'ignore' });
      } catch {
        // already gone (deleting the namespace deletes the pair)
      }
    }
  });
}

let support: Promise<string | undefined> | undefined;
/**
 * Why namespace tests cannot run here, or undefined when they can: they need root, the
 * iproute2 `ip` tool and permission to create a namespace (some containers forbid it).
 */
export function netnsSkipReason(): Promise<string | undefined> {
  support ??= (async () => {
    if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'needs root to create network namespaces (run the tests as root)';
    try {
      await ip(['-V']);
    } catch {
      return 'the iproute2 `ip` command is not available';
    }
    const probe = uniqueName('ascprobe');
    try {
      await ip(['netns', 'add', probe]);
    } catch (error) {
      return `cannot create a network namespace here: ${(error as Error).message}`;
    } finally {
      await ip(['netns', 'del', probe]).catch(() => undefined);
    }
    return undefined;
  })();
  return support;
}

export interface EniOptions {
  /** Address with prefix inside the namespace, e.g. '10.213.1.2/24'. */
  address?: string;
  /** Extra addresses for the same interface. */
  moreAddresses?: string[];
  /** Add `default via GATEWAY dev INNER` (the gateway must be in the address's subnet). */
  defaultVia?: string;
  /** Bring the outer end up (default true); left down, the inner end stays 'lowerlayerdown'. */
  peerUp?: boolean;
}

export interface Eni {
  /** The interface name inside the namespace. */
  name: string;
  /** The outer end, in the root namespace, with no address. */
  peer: string;
  /** The inner end's MAC, lower case with colons. */
  mac: string;
}

export interface Netns {
  name: string;
  /** Prefix for runCli: runs the command inside the namespace. */
  exec: string[];
  /** `ip -n NAME ARGS…`: anything inside the namespace. */
  ip(args: string[]): Promise<IpResult>;
  /** Adds a veth pair whose inner end is the "ENI", configured as asked. */
  addEni(options?: EniOptions): Promise<Eni>;
  /** Deletes the namespace (with the inner ends) and any outer end left behind. Idempotent. */
  destroy(): Promise<void>;
}

/** Creates a namespace holding only loopback (brought up, as on a booted machine). */
export async function createNetns(): Promise<Netns> {
  installExitHook();
  const name = uniqueName('asc-ns-');
  await ip(['netns', 'add', name]);
  liveNamespaces.add(name);
  const peers: string[] = [];
  const inNs = (args: string[]): Promise<IpResult> => ip(['-n', name, ...args]);

  const destroy = async (): Promise<void> => {
    const problems: string[] = [];
    if (liveNamespaces.has(name)) {
      await ip(['netns', 'del', name]).catch((error: Error) => problems.push(error.message));
      liveNamespaces.delete(name);
    }
    for (const peer of peers.splice(0)) {
      // Normally gone already: deleting the inner end deletes the pair.
      const exists = await ip(['link', 'show', 'dev', peer]).then(() => true, () => false);
      // The kernel removes the pair asynchronously after the namespace goes, so a peer seen a
      // moment ago may vanish before the delete: that is success, not a problem.
      if (exists) await ip(['link', 'del', 'dev', peer]).catch((error: Error) => /Cannot find device/.test(error.message) || problems.push(error.message));
      livePeers.delete(peer);
    }
    if (problems.length > 0) throw new Error(`netns cleanup: ${problems.join('; ')}`);
  };

  const addEni = async (options: EniOptions = {}): Promise<Eni> => {
    const inner = uniqueName('asce');
    const peer = uniqueName('ascp');
    // The inner end is created directly in the namespace; only the peer touches the root one.
    await ip(['link', 'add', 'dev', peer, 'type', 'veth', 'peer', 'name', inner, 'netns', name]);
    peers.push(peer);
    livePeers.add(peer);
    // No address on the outer end, IPv6 link-local included; then up, so the pair has carrier.
    await ip(['link', 'set', 'dev', peer, 'addrgenmode', 'none']);
    if (options.peerUp ?? true) await ip(['link', 'set', 'dev', peer, 'up']);
    await inNs(['link', 'set', 'dev', inner, 'up']);
    for (const address of [...(options.address ? [options.address] : []), ...(options.moreAddresses ?? [])]) {
      await inNs(['addr', 'add', address, 'dev', inner]);
    }
    if (options.defaultVia) await inNs(['route', 'add', 'default', 'via', options.defaultVia, 'dev', inner]);
    const { stdout } = await inNs(['-j', 'link', 'show', 'dev', inner]);
    const [info] = JSON.parse(stdout) as Array<{ address?: string }>;
    return { name: inner, peer, mac: (info?.address ?? '').toLowerCase() };
  };

  const netns: Netns = { name, exec: ['ip', 'netns', 'exec', name], ip: inNs, addEni, destroy };
  try {
    await inNs(['link', 'set', 'dev', 'lo', 'up']);
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }
  return netns;
}
