/**
 * evaluateEni: every rule that decides whether the customer ENI is ready, on hand-made
 * snapshots (no network needed). The ENI is an interface that is up, holds an IPv4 address
 * outside excludeCidrs and carries the default route; --interface narrows it by name or MAC.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateEni } from '../../src/network/evaluateEni.js';
import type { InterfaceInfo, NetworkSnapshot } from '../../src/network/types.js';

/** The settings default (docs/contract.md): management network, link-local, loopback. */
const DEFAULT_EXCLUDES = ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'];
const criteria = (match?: string) => ({ excludeCidrs: DEFAULT_EXCLUDES, ...(match === undefined ? {} : { match }) });

const lo: InterfaceInfo = { name: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', ipv4: ['127.0.0.1'], internal: true };
const iface = (over: Partial<InterfaceInfo> = {}): InterfaceInfo => ({
  name: 'eth1',
  mac: '0a:1b:2c:3d:4e:5f',
  operstate: 'up',
  ipv4: ['10.0.1.25'],
  internal: false,
  ...over,
});
/** `null` means "no default route" (undefined would pick the default parameter). */
const snap = (interfaces: InterfaceInfo[], defaultRoute: string | null = 'eth1'): NetworkSnapshot => ({
  interfaces,
  defaultRouteInterface: defaultRoute ?? undefined,
});

describe('evaluateEni: the ready case', () => {
  test('an up interface with a VPC address and the default route is the ENI', () => {
    const verdict = evaluateEni(snap([lo, iface()]), criteria());
    assert.equal(verdict.ready, true);
    assert.deepEqual(verdict.eni, { name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', address: '10.0.1.25' });
  });

  test('operstate "unknown" (how Linux reports some virtual NICs) counts as up', () => {
    assert.equal(evaluateEni(snap([iface({ operstate: 'unknown' })]), criteria()).ready, true);
  });

  test('of several candidates, the one carrying the default route wins', () => {
    const a = iface({ name: 'eth0', mac: '0a:00:00:00:00:01', ipv4: ['10.0.0.5'] });
    const b = iface({ name: 'eth1', mac: '0a:00:00:00:00:02', ipv4: ['172.31.4.9'] });
    const verdict = evaluateEni(snap([lo, a, b], 'eth1'), criteria());
    assert.equal(verdict.ready, true);
    assert.equal(verdict.eni?.name, 'eth1');
    assert.equal(verdict.eni?.address, '172.31.4.9');
  });
});

describe('evaluateEni: excluded ranges', () => {
  for (const address of ['198.19.0.1', '198.19.255.254', '169.254.169.254', '169.254.0.10', '127.0.0.1', '127.255.0.3']) {
    test(`an interface holding only ${address} does not count, even with the default route`, () => {
      const verdict = evaluateEni(snap([lo, iface({ ipv4: [address] })]), criteria());
      assert.equal(verdict.ready, false);
      assert.equal(verdict.eni, undefined);
      assert.equal(verdict.reason, 'no interface with an IPv4 address outside 198.19.0.0/16, 169.254.0.0/16, 127.0.0.0/8');
    });
  }

  for (const address of ['198.18.255.255', '198.20.0.0', '169.253.255.255', '128.0.0.1']) {
    test(`${address}, just outside an excluded range, counts`, () => {
      const verdict = evaluateEni(snap([iface({ ipv4: [address] })]), criteria());
      assert.equal(verdict.ready, true, verdict.reason);
      assert.equal(verdict.eni?.address, address);
    });
  }

  test('with a management address and a VPC address on the same interface, the VPC address is reported', () => {
    const verdict = evaluateEni(snap([iface({ ipv4: ['198.19.4.7', '10.0.1.25'] })]), criteria());
    assert.equal(verdict.ready, true);
    assert.equal(verdict.eni?.address, '10.0.1.25');
  });

  test('the AppStream layout: management ENI with the default route, customer ENI without -> not ready', () => {
    const mgmt = iface({ name: 'eth0', mac: '0a:00:00:00:00:01', ipv4: ['198.19.33.4'] });
    const customer = iface({ name: 'eth1', mac: '0a:00:00:00:00:02', ipv4: ['10.0.1.25'] });
    const verdict = evaluateEni(snap([lo, mgmt, customer], 'eth0'), criteria());
    assert.equal(verdict.ready, false);
    assert.equal(verdict.reason, 'interface eth1 is up but carries no default route');
  });

  test('excludeCidrs is a setting: other ranges can be excluded, and an empty list excludes nothing', () => {
    const vpc = snap([iface({ ipv4: ['10.0.1.25'] })]);
    const excluded = evaluateEni(vpc, { excludeCidrs: ['10.0.0.0/8'] });
    assert.equal(excluded.ready, false);
    assert.equal(excluded.reason, 'no interface with an IPv4 address outside 10.0.0.0/8');
    const management = snap([iface({ ipv4: ['198.19.1.1'] })]);
    assert.equal(evaluateEni(management, { excludeCidrs: [] }).ready, true);
  });

  test('a bare address in excludeCidrs is a /32; an unparsable entry is ignored, not fatal', () => {
    const vpc = snap([iface({ ipv4: ['10.0.1.25'] })]);
    assert.equal(evaluateEni(vpc, { excludeCidrs: ['10.0.1.25'] }).ready, false);
    assert.equal(evaluateEni(vpc, { excludeCidrs: ['10.0.1.26'] }).ready, true);
    assert.equal(evaluateEni(vpc, { excludeCidrs: ['not-a-cidr', '10.0.1.0/33'] }).ready, true);
  });
});

describe('evaluateEni: not up', () => {
  for (const operstate of ['down', 'lowerlayerdown', 'dormant', 'notpresent']) {
    test(`operstate "${operstate}" is not up`, () => {
      const verdict = evaluateEni(snap([lo, iface({ operstate })]), criteria());
      assert.equal(verdict.ready, false);
      assert.equal(verdict.reason, 'interface eth1 has an address but is not up');
    });
  }
});

describe('evaluateEni: default route', () => {
  test('no default route at all -> not ready, and the reason says so', () => {
    const verdict = evaluateEni(snap([lo, iface()], null), criteria());
    assert.equal(verdict.ready, false);
    assert.equal(verdict.reason, 'interface eth1 is up but carries no default route');
  });

  test('the default route through another interface (not a candidate) -> not ready', () => {
    const other = iface({ name: 'eth9', mac: '0a:00:00:00:00:09', ipv4: ['198.19.0.9'] });
    const verdict = evaluateEni(snap([lo, iface(), other], 'eth9'), criteria());
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /carries no default route/);
  });

  test('the default route through an interface that is down does not make a down interface ready', () => {
    const verdict = evaluateEni(snap([iface({ operstate: 'down' })], 'eth1'), criteria());
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /is not up/);
  });
});

describe('evaluateEni: internal and loopback', () => {
  test('loopback alone -> not ready (the namespace-with-only-lo case)', () => {
    const verdict = evaluateEni(snap([lo], null), criteria());
    assert.equal(verdict.ready, false);
    assert.equal(verdict.reason, 'no interface with an IPv4 address outside 198.19.0.0/16, 169.254.0.0/16, 127.0.0.0/8');
  });

  test('an internal interface never counts, even with a routable address and the default route', () => {
    const internal = iface({ name: 'lo', mac: '00:00:00:00:00:00', ipv4: ['127.0.0.1', '10.9.9.9'], internal: true, operstate: 'unknown' });
    const verdict = evaluateEni(snap([internal], 'lo'), criteria());
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /no interface with an IPv4 address outside/);
  });

  test('no interfaces at all -> not ready with its own reason', () => {
    const verdict = evaluateEni(snap([], null), criteria());
    assert.equal(verdict.ready, false);
    assert.equal(verdict.reason, 'no network interface besides loopback');
  });

  test('an interface with no IPv4 address (IPv6 only, or none yet) does not count', () => {
    const verdict = evaluateEni(snap([lo, iface({ ipv4: [] })]), criteria());
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /no interface with an IPv4 address outside/);
  });
});

describe('evaluateEni: --interface by name or MAC', () => {
  const eth0 = iface({ name: 'eth0', mac: '0a:00:00:00:00:01', ipv4: ['10.0.0.5'] });
  const eth1 = iface({ name: 'eth1', mac: '0a:1b:2c:3d:4e:5f', ipv4: ['10.0.1.25'] });

  test('a matching name selects that interface (case-insensitively)', () => {
    for (const match of ['eth1', 'ETH1']) {
      const verdict = evaluateEni(snap([lo, eth0, eth1], 'eth1'), criteria(match));
      assert.equal(verdict.ready, true, `${match}: ${verdict.reason}`);
      assert.equal(verdict.eni?.name, 'eth1');
    }
  });

  test('a matching MAC selects that interface, in upper case and with dashes too (Windows style)', () => {
    for (const match of ['0a:1b:2c:3d:4e:5f', '0A:1B:2C:3D:4E:5F', '0A-1B-2C-3D-4E-5F']) {
      const verdict = evaluateEni(snap([lo, eth0, eth1], 'eth1'), criteria(match));
      assert.equal(verdict.ready, true, `${match}: ${verdict.reason}`);
      assert.equal(verdict.eni?.mac, '0a:1b:2c:3d:4e:5f');
    }
  });

  test('a name or MAC that matches nothing -> not ready, naming what was asked for', () => {
    const byName = evaluateEni(snap([lo, eth0, eth1], 'eth1'), criteria('eth7'));
    assert.equal(byName.ready, false);
    assert.equal(byName.reason, 'no interface named or with MAC eth7');
    const byMac = evaluateEni(snap([lo, eth0, eth1], 'eth1'), criteria('0a:1b:2c:3d:4e:60'));
    assert.equal(byMac.ready, false);
    assert.equal(byMac.reason, 'no interface named or with MAC 0a:1b:2c:3d:4e:60');
  });

  test('the match narrows the choice: a ready eth0 does not satisfy --interface eth1', () => {
    const verdict = evaluateEni(snap([lo, eth0, eth1], 'eth0'), criteria('eth1'));
    assert.equal(verdict.ready, false);
    assert.equal(verdict.reason, 'interface eth1 is up but carries no default route');
  });

  test('the match does not bypass the other rules (a matching 198.19-only interface is still not the ENI)', () => {
    const mgmt = iface({ name: 'eth0', ipv4: ['198.19.3.3'] });
    const verdict = evaluateEni(snap([lo, mgmt], 'eth0'), criteria('eth0'));
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /no interface with an IPv4 address outside/);
  });

  test('a name containing a dash matches', () => {
    const dashed = iface({ name: 'veth-eni', ipv4: ['10.0.1.25'] });
    const verdict = evaluateEni(snap([lo, dashed], 'veth-eni'), criteria('veth-eni'));
    assert.equal(verdict.ready, true, verdict.reason);
  });
});

test('parseProcNetRoute: best default route by metric; none; gateway-less default', async () => {
  const { parseProcNetRoute } = await import('../../src/network/parseProcNetRoute.js');
  const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
  assert.equal(parseProcNetRoute(`${header}\nvn0\t0000C80A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`), undefined);
  assert.equal(parseProcNetRoute(`${header}\nvn0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n`), 'vn0');
  assert.equal(
    parseProcNetRoute(`${header}\na\t00000000\t0100C80A\t0003\t0\t0\t200\t00000000\t0\t0\t0\nb\t00000000\t0100C80A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n`),
    'b',
  );
  assert.equal(parseProcNetRoute(`${header}\nc\t00000000\t0100C80A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n`), undefined, 'a route that is not up does not count');
});
