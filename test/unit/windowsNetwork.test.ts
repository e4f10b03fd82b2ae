/**
 * The Windows network reader without PowerShell: `ipconfig /all` parsing (real Windows
 * layout, Wine's layout) and the snapshot it builds with os.networkInterfaces(). The same
 * reader runs for real under Wine in test/windows/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type os from 'node:os';
import { parseIpconfig } from '../../src/network/parseIpconfig.js';
import { createWindowsNetworkReader } from '../../src/network/readWindowsNetwork.js';
import { evaluateEni } from '../../src/network/evaluateEni.js';

// Layout of Windows Server 2019/2022 `ipconfig /all` on an AppStream-like instance: the
// management ENI (198.19.x) and the customer ENI; IPv6 gateway first, IPv4 on the next line.
const WINDOWS = [
  '',
  'Windows IP Configuration',
  '',
  '   Host Name . . . . . . . . . . . . : EC2AMAZ-4V2L0QK',
  '   Primary Dns Suffix  . . . . . . . : ',
  '   Node Type . . . . . . . . . . . . : Hybrid',
  '   IP Routing Enabled. . . . . . . . : No',
  '',
  'Ethernet adapter Ethernet:',
  '',
  '   Connection-specific DNS Suffix  . : ',
  '   Description . . . . . . . . . . . : Amazon Elastic Network Adapter',
  '   Physical Address. . . . . . . . . : 06-11-22-33-44-55',
  '   DHCP Enabled. . . . . . . . . . . : Yes',
  '   IPv4 Address. . . . . . . . . . . : 198.19.17.4(Preferred)',
  '   Subnet Mask . . . . . . . . . . . : 255.255.192.0',
  '   Lease Obtained. . . . . . . . . . : Tuesday, November 24, 2026 9:00:01 AM',
  '   Default Gateway . . . . . . . . . : ',
  '   DNS Servers . . . . . . . . . . . : fec0:0:0:ffff::1%1',
  '                                       fec0:0:0:ffff::2%1',
  '',
  'Ethernet adapter Ethernet 2:',
  '',
  '   Connection-specific DNS Suffix  . : us-west-2.compute.internal',
  '   Description . . . . . . . . . . . : Amazon Elastic Network Adapter #2',
  '   Physical Address. . . . . . . . . : 0A-1B-2C-3D-4E-5F',
  '   DHCP Enabled. . . . . . . . . . . : Yes',
  '   Link-local IPv6 Address . . . . . : fe80::9c1:2ff:fe3d:4e5f%7(Preferred)',
  '   IPv4 Address. . . . . . . . . . . : 10.0.1.25(Preferred)',
  '   Subnet Mask . . . . . . . . . . . : 255.255.255.0',
  '   Default Gateway . . . . . . . . . : fe80::1%7',
  '                                       10.0.1.1',
  '   DHCP Server . . . . . . . . . . . : 10.0.1.1',
  '',
  'Ethernet adapter Ethernet 3:',
  '',
  '   Media State . . . . . . . . . . . : Media disconnected',
  '   Physical Address. . . . . . . . . : 0A-99-99-99-99-99',
].join('\r\n');

// Wine 8's ipconfig (captured on this machine): no colon after the header, lower-case labels.
const WINE = [
  '',
  '    Hostname. . . . . . . . . . . . . : vm',
  '',
  'Ethernet adapter lo',
  '',
  '    Physical address. . . . . . . . . : ',
  '    IPv4 address. . . . . . . . . . . : 127.0.0.1',
  '    Default gateway . . . . . . . . . : ',
  '',
  'Ethernet adapter eth0',
  '',
  '    Description . . . . . . . . . . . : eth0',
  '    Physical address. . . . . . . . . : 02-FC-00-00-00-01',
  '    IPv6 address. . . . . . . . . . . : fe80::fc:ff:fe00:1%4',
  '    IPv4 address. . . . . . . . . . . : 192.0.2.2',
  '    Default gateway . . . . . . . . . : 192.0.2.1',
].join('\r\n');

const info = (address: string, mac: string, internal = false): os.NetworkInterfaceInfo =>
  ({ address, netmask: '255.255.255.0', family: 'IPv4', mac, internal, cidr: `${address}/24` }) as os.NetworkInterfaceInfo;
const CRITERIA = { excludeCidrs: ['198.19.0.0/16', '169.254.0.0/16', '127.0.0.0/8'] };

describe('parseIpconfig', () => {
  test('Windows layout: MACs, and the IPv4 gateway on the continuation line after the IPv6 one', () => {
    const adapters = parseIpconfig(WINDOWS).filter((a) => a.mac);
    assert.deepEqual(adapters, [
      { name: 'Ethernet', mac: '06:11:22:33:44:55', gateways: [] },
      { name: 'Ethernet 2', mac: '0a:1b:2c:3d:4e:5f', gateways: ['10.0.1.1'] },
      { name: 'Ethernet 3', mac: '0a:99:99:99:99:99', gateways: [] },
    ]);
  });

  test('IPv6 continuation lines (DNS servers) are not read as labels or gateways', () => {
    const first = parseIpconfig(WINDOWS).find((a) => a.name === 'Ethernet');
    assert.deepEqual(first?.gateways, []);
  });

  test("Wine's layout: headers without a colon", () => {
    assert.deepEqual(parseIpconfig(WINE), [
      { name: 'lo', mac: undefined, gateways: [] },
      { name: 'eth0', mac: '02:fc:00:00:00:01', gateways: ['192.0.2.1'] },
    ]);
  });

  test('a localised label still gives the gateway and the MAC (German)', () => {
    const text = 'Ethernet-Adapter Ethernet 2:\r\n\r\n   Physische Adresse . . . . . . . . : 0A-1B-2C-3D-4E-5F\r\n   Standardgateway . . . . . . . . . : 10.0.1.1\r\n';
    assert.deepEqual(parseIpconfig(text), [{ name: 'Ethernet 2', mac: '0a:1b:2c:3d:4e:5f', gateways: ['10.0.1.1'] }]);
  });
});

describe('createWindowsNetworkReader', () => {
  const interfaces = () => ({
    Ethernet: [info('198.19.17.4', '06:11:22:33:44:55')],
    'Ethernet 2': [info('10.0.1.25', '0a:1b:2c:3d:4e:5f')],
    'Loopback Pseudo-Interface 1': [info('127.0.0.1', '00:00:00:00:00:00', true)],
  });

  test('the default route is the adapter with an IPv4 gateway; the ENI check then passes', async () => {
    const snapshot = await createWindowsNetworkReader({ interfaces, ipconfig: async () => WINDOWS })();
    assert.equal(snapshot.defaultRouteInterface, 'Ethernet 2');
    assert.deepEqual(snapshot.interfaces.find((i) => i.name === 'Ethernet 2'), { name: 'Ethernet 2', mac: '0a:1b:2c:3d:4e:5f', operstate: 'up', ipv4: ['10.0.1.25'], internal: false });
    assert.equal(snapshot.interfaces.find((i) => i.name.startsWith('Loopback'))?.internal, true);
    const verdict = evaluateEni(snapshot, CRITERIA);
    assert.deepEqual(verdict.eni, { name: 'Ethernet 2', mac: '0a:1b:2c:3d:4e:5f', address: '10.0.1.25' });
  });

  test('matched by MAC when the connection name differs from the header', async () => {
    const renamed = () => ({ 'VPC uplink': [info('10.0.1.25', '0a:1b:2c:3d:4e:5f')] });
    const snapshot = await createWindowsNetworkReader({ interfaces: renamed, ipconfig: async () => WINDOWS })();
    assert.equal(snapshot.defaultRouteInterface, 'VPC uplink');
  });

  test('only the management ENI up: not ready, and the reason says why', async () => {
    const managementOnly = () => ({ Ethernet: [info('198.19.17.4', '06:11:22:33:44:55')] });
    const snapshot = await createWindowsNetworkReader({ interfaces: managementOnly, ipconfig: async () => WINDOWS })();
    assert.equal(snapshot.defaultRouteInterface, undefined);
    const verdict = evaluateEni(snapshot, CRITERIA);
    assert.equal(verdict.ready, false);
    assert.match(verdict.reason, /outside 198\.19\.0\.0\/16/);
  });

  test('a failing ipconfig rejects (waitForNetwork reports it as the reason)', async () => {
    const reader = createWindowsNetworkReader({ interfaces, ipconfig: async () => Promise.reject(new Error('ipconfig /all failed: spawn ipconfig ENOENT')) });
    await assert.rejects(reader(), /ipconfig \/all failed/);
  });
});
