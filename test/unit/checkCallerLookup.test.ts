/** doctor's caller-lookup finding (issue 19 point 1): which route the agent can use here, a warning for the fallback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCallerLookup } from '../../src/doctor/checkPort.js';
import type { DoctorDeps } from '../../src/doctor/types.js';

const deps = (callerLookup?: DoctorDeps['callerLookup']) => ({ callerLookup }) as unknown as DoctorDeps;

test('netlink is an info line; the /proc/net/tcp fallback is a warning with the reason and a fix; no lookup, no finding', async () => {
  const netlink = await checkCallerLookup(deps(async () => ({ route: 'netlink-sock-diag' })));
  assert.deepEqual(netlink.map((f) => [f.severity, f.code, f.path]), [['info', 'ok', 'callers']]);
  assert.match(netlink[0]!.message, /netlink sock_diag/);
  const fallback = await checkCallerLookup(deps(async () => ({ route: 'proc-net-tcp', fallbackReason: 'socket(AF_NETLINK) failed (errno 1)' })));
  assert.deepEqual(fallback.map((f) => [f.severity, f.code]), [['warning', 'caller-lookup-fallback']]);
  assert.match(fallback[0]!.message, /\/proc\/net\/tcp.*errno 1/);
  assert.deepEqual(await checkCallerLookup(deps(undefined)), []);
});
