import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientRow, encodeTcpTable, listenerPids, parseTcpTable, TCP_STATE, type TcpRow } from '../../src/native/win32/tcpTable.js';
import { allowsWindowsCaller, verifyWindowsListener, windowsPeerLookup, type WindowsProcessApi } from '../../src/native/win32/windowsCallers.js';
import { WELL_KNOWN } from '../../src/native/win32/sid.js';

// Two rows as GetExtendedTcpTable(AF_INET, TCP_TABLE_OWNER_PID_ALL) wrote them under Wine 8: a
// listener on 127.0.0.1:35765 and the agent's accepted connection from port 44401, pid 0 (Wine).
const WINE_ROWS = '02000000' + '020000007f0000018bb50000000000000000000000000000' + '050000007f0000018bb500007f000001ad71000000000000';

const AGENT = 'S-1-5-21-1111111111-2222222222-3333333333-1001';
const PHOTON = 'S-1-5-21-1111111111-2222222222-3333333333-1002';
const SCRIPTS = 'S-1-5-21-1111111111-2222222222-3333333333-1100';
const AGENT_PORT = 8765;
const row = (state: number, local: [string, number], remote: [string, number], pid: number): TcpRow => ({ state, localAddress: local[0], localPort: local[1], remoteAddress: remote[0], remotePort: remote[1], pid });

/** A machine's table: the agent (pid 500) listening and accepted, a caller (pid 700) connected to it. */
const machine = (callerPid = 700, listener = 500): TcpRow[] => [
  row(TCP_STATE.listen, ['127.0.0.1', AGENT_PORT], ['0.0.0.0', 0], listener),
  row(TCP_STATE.established, ['127.0.0.1', AGENT_PORT], ['127.0.0.1', 50123], 500),
  row(TCP_STATE.established, ['127.0.0.1', 50123], ['127.0.0.1', AGENT_PORT], callerPid),
  row(TCP_STATE.established, ['127.0.0.1', 50124], ['127.0.0.1', 443], 900),
];
const api = (rows: TcpRow[], users: Record<number, { user: string; groups: string[] } | { error: string }>): WindowsProcessApi => ({
  tcpTable: () => encodeTcpTable(rows),
  processUser: (pid) => users[pid] ?? { error: `OpenProcess(${pid}): Win32 error 87 (invalid parameter)` },
});
const CLIENT = { address: '127.0.0.1', port: 50123 };
const SERVER = { address: '127.0.0.1', port: AGENT_PORT };

describe('MIB_TCPTABLE_OWNER_PID', () => {
  test('parses the rows Wine wrote: network-order addresses and ports, owner pid', () => {
    assert.deepEqual(parseTcpTable(new Uint8Array(Buffer.from(WINE_ROWS, 'hex'))), [
      { state: TCP_STATE.listen, localAddress: '127.0.0.1', localPort: 35765, remoteAddress: '0.0.0.0', remotePort: 0, pid: 0 },
      { state: TCP_STATE.established, localAddress: '127.0.0.1', localPort: 35765, remoteAddress: '127.0.0.1', remotePort: 44401, pid: 0 },
    ]);
  });

  test('a row layout built by hand (state, addr, port, addr, port, pid) reads back; encode is its inverse', () => {
    const hand = '01000000' + '05000000' + '0a000002' + '1f900000' + '7f000001' + 'c3500000' + 'd2040000';
    assert.deepEqual(parseTcpTable(new Uint8Array(Buffer.from(hand, 'hex'))), [row(5, ['10.0.0.2', 8080], ['127.0.0.1', 50000], 1234)]);
    assert.deepEqual(parseTcpTable(encodeTcpTable(machine())), machine());
  });

  test('a count larger than the bytes is an error', () => {
    const bytes = encodeTcpTable(machine());
    new DataView(bytes.buffer).setUint32(0, 9, true);
    assert.throws(() => parseTcpTable(bytes), /claims 9 rows, only 4 there/);
  });

  test("clientRow finds the caller's own socket, never the agent's accepted one; listeners by port", () => {
    assert.equal(clientRow(machine(), CLIENT, SERVER)?.pid, 700);
    assert.equal(clientRow(machine(), { address: '::ffff:127.0.0.1', port: 50123 }, { address: '::ffff:127.0.0.1', port: AGENT_PORT })?.pid, 700, 'dual-stack notation');
    assert.equal(clientRow(machine(), { address: '::1', port: 50123 }, { address: '::1', port: AGENT_PORT }), undefined, 'IPv6 is not in this table');
    assert.deepEqual(listenerPids(machine(), AGENT_PORT), [500]);
  });
});

describe('caller check (Windows)', () => {
  const rule = { agentSid: AGENT, allowed: new Set([PHOTON]), tokenGroupSid: SCRIPTS };

  test('the owner of the caller socket is the user of its process', async () => {
    const lookup = windowsPeerLookup(api(machine(), { 700: { user: PHOTON, groups: [WELL_KNOWN.users] } }));
    assert.deepEqual(await lookup(CLIENT, SERVER), { sid: PHOTON, groups: [WELL_KNOWN.users] });
  });

  test('pid 0 (as under Wine), a vanished socket and an unreadable process are unknown, each saying why', async () => {
    assert.match(((await windowsPeerLookup(api(machine(0), {}))(CLIENT, SERVER)) as { unknown: string }).unknown, /no owning process \(pid 0; Wine reports 0/);
    assert.match(((await windowsPeerLookup(api(machine(), {}))({ address: '127.0.0.1', port: 1 }, SERVER)) as { unknown: string }).unknown, /not in the IPv4 TCP table/);
    assert.match(((await windowsPeerLookup(api(machine(), { 700: { error: 'OpenProcess(700): Win32 error 5 (access denied)' } }))(CLIENT, SERVER)) as { unknown: string }).unknown, /user of pid 700: .*access denied/);
    const wine = windowsPeerLookup({ tcpTable: () => new Uint8Array(Buffer.from(WINE_ROWS, 'hex')), processUser: () => assert.fail('pid 0 is never opened') });
    assert.ok('unknown' in (await wine({ address: '127.0.0.1', port: 44401 }, { address: '127.0.0.1', port: 35765 })), 'the real Wine rows give no owner');
  });

  test('the allow rule in SIDs: SYSTEM, the agent, elevated admins, tokenGroup members and allowUsers pass; others do not', () => {
    const allows = allowsWindowsCaller(rule);
    assert.equal(allows({ sid: WELL_KNOWN.system, groups: [] }), true);
    assert.equal(allows({ sid: AGENT, groups: [] }), true);
    assert.equal(allows({ sid: PHOTON, groups: [] }), true, 'in allowUsers');
    assert.equal(allows({ sid: 'S-1-5-21-1-2-3-2000', groups: [WELL_KNOWN.administrators] }), true, 'elevated administrator');
    assert.equal(allows({ sid: 'S-1-5-21-1-2-3-2001', groups: [SCRIPTS] }), true, 'tokenGroup member');
    assert.equal(allows({ sid: 'S-1-5-21-1-2-3-2002', groups: [WELL_KNOWN.users, WELL_KNOWN.everyone] }), false);
    assert.equal(allowsWindowsCaller({ agentSid: AGENT, allowed: new Set() })({ sid: PHOTON, groups: [] }), false, 'the streaming user is refused unless allowed');
  });
});

describe('listener check (Windows clients)', () => {
  test('a listener running as SYSTEM or as the owner of agent.json is the agent', () => {
    assert.deepEqual(verifyWindowsListener(api(machine(), { 500: { user: WELL_KNOWN.system, groups: [] } }), AGENT_PORT, WELL_KNOWN.system), { ok: true });
    assert.deepEqual(verifyWindowsListener(api(machine(), { 500: { user: AGENT, groups: [] } }), AGENT_PORT, AGENT), { ok: true });
    assert.deepEqual(verifyWindowsListener(api(machine(), { 500: { user: 'S-1-5-21-1-2-3-500', groups: [WELL_KNOWN.administrators] } }), AGENT_PORT, WELL_KNOWN.administrators), { ok: true }, 'agent.json made by an elevated admin');
    assert.deepEqual(verifyWindowsListener(api(machine(), {}), 9, AGENT), { ok: true }, 'nobody listening: nothing to send the token to');
  });

  test('a squatter (the streaming user) on the port is refused, naming pid and SID', () => {
    const verdict = verifyWindowsListener(api(machine(700, 777), { 777: { user: PHOTON, groups: [WELL_KNOWN.administrators.replace('544', '545')] } }), AGENT_PORT, AGENT);
    assert.deepEqual(verdict, { ok: false, reason: `port ${AGENT_PORT} is held by pid 777 running as ${PHOTON}, not by SYSTEM or the agent's account (${AGENT})` });
  });

  test('only listeners a loopback connection reaches count: one bound to another address is not the agent\'s concern', () => {
    const rows = [...machine(), row(TCP_STATE.listen, ['10.0.0.5', AGENT_PORT], ['0.0.0.0', 0], 777)];
    const users = { 500: { user: AGENT, groups: [] }, 777: { user: PHOTON, groups: [] } };
    assert.deepEqual(verifyWindowsListener(api(rows, users), AGENT_PORT, AGENT, '127.0.0.1'), { ok: true });
    const anyAddress = [...machine(), row(TCP_STATE.listen, ['0.0.0.0', AGENT_PORT], ['0.0.0.0', 0], 777)];
    assert.equal(verifyWindowsListener(api(anyAddress, users), AGENT_PORT, AGENT, '127.0.0.1').ok, false, '0.0.0.0 receives loopback connections too');
    assert.equal(verifyWindowsListener(api(rows, users), AGENT_PORT, AGENT).ok, false, 'without a host every listener counts');
  });

  test('pid 0 (Wine) or an unreadable process is unknown, with the reason', () => {
    const wine = verifyWindowsListener({ tcpTable: () => new Uint8Array(Buffer.from(WINE_ROWS, 'hex')), processUser: () => ({ error: 'unused' }) }, 35765, AGENT);
    assert.deepEqual(wine, { ok: 'unknown', reason: 'the owner of port 35765 cannot be found: GetExtendedTcpTable names no owning process (pid 0; Wine reports 0 for every socket)' });
    assert.equal(verifyWindowsListener(api(machine(), { 500: { error: 'OpenProcess(500): Win32 error 5 (access denied)' } }), AGENT_PORT, AGENT).ok, 'unknown');
  });
});
