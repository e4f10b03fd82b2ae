/**
 * The ownership rule (ssh's StrictModes) on described trees: a fake lstat/realpath answers for
 * each path, so every owner and mode combination is tried without real accounts. The e2e test
 * test/e2e/trustProfile.test.ts does the same with a real second user.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPathTrust, refusalMessage, type PathStat, type TrustFs } from '../../src/trust/checkPathTrust.js';
import { describeTrusted, parsePasswd, trustPolicy } from '../../src/trust/trustPolicy.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nagent:x:990:990::/var/lib/a:/sbin/nologin\nImageBuilderAdmin:x:1000:1000::/home/ImageBuilderAdmin:/bin/bash\nas2-streaming-user:x:1001:1001::/home/as2-streaming-user:/bin/bash\n';
const policy = trustPolicy({ owners: ['ImageBuilderAdmin', 'nobody-here'], uid: 990, strict: true, passwd: PASSWD });

interface Node {
  uid: number;
  mode: number;
  kind?: 'dir' | 'file' | 'link';
  target?: string;
}

function treeFs(nodes: Record<string, Node>): TrustFs & { calls: number } {
  const fs = {
    calls: 0,
    async lstat(p: string): Promise<PathStat> {
      fs.calls += 1;
      const node = nodes[p];
      if (!node) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      const kind = node.kind ?? (p.includes('.aws/') ? 'file' : 'dir');
      return { uid: node.uid, mode: node.mode, isDirectory: () => kind === 'dir', isSymbolicLink: () => kind === 'link' };
    },
    async realpath(p: string): Promise<string> {
      fs.calls += 1;
      if (!nodes[p]) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return nodes[p]!.target ?? p;
    },
  };
  return fs;
}

const ROOT = { '/': { uid: 0, mode: 0o755 }, '/home': { uid: 0, mode: 0o755 } };
const ADMIN_HOME = { '/home/ImageBuilderAdmin': { uid: 1000, mode: 0o700 }, '/home/ImageBuilderAdmin/.aws': { uid: 1000, mode: 0o755 } };
const FILE = '/home/ImageBuilderAdmin/.aws/config';

describe('trustPolicy', () => {
  test('root, the current uid and configured owners resolved from /etc/passwd once; unknown names skipped; uids accepted', () => {
    assert.deepEqual([...policy.uids].sort((a, b) => a - b), [0, 990, 1000]);
    assert.deepEqual([...trustPolicy({ owners: ['1234'], uid: undefined, strict: true, passwd: '' }).uids], [0, 1234]);
    assert.equal(parsePasswd(PASSWD).get('as2-streaming-user'), 1001);
    assert.equal(describeTrusted(policy), 'root, uid 990 (agent) or uid 1000 (ImageBuilderAdmin)');
  });
});

describe('checkPathTrust', () => {
  test('a file owned by a trusted account under trusted folders passes, in one stat per part', async () => {
    const fs = treeFs({ ...ROOT, ...ADMIN_HOME, [FILE]: { uid: 1000, mode: 0o600 } });
    assert.equal(await checkPathTrust(FILE, policy, fs), undefined);
    assert.ok(fs.calls <= 6, `${fs.calls} calls`);
    assert.equal(await checkPathTrust(FILE, policy, treeFs({ ...ROOT, ...ADMIN_HOME, [FILE]: { uid: 0, mode: 0o644 } })), undefined, 'root-owned file');
  });

  test('a missing file is not refused here (the read reports it missing)', async () => {
    assert.equal(await checkPathTrust('/home/nobody/.aws/config', policy, treeFs(ROOT)), undefined);
  });

  test('a file owned by the streaming user is refused, naming owner and mode', async () => {
    const refusal = await checkPathTrust(FILE, policy, treeFs({ ...ROOT, ...ADMIN_HOME, [FILE]: { uid: 1001, mode: 0o644 } }));
    assert.ok(refusal);
    assert.equal(refusalMessage(refusal), `${FILE} is not trusted: owned by uid 1001 (as2-streaming-user), mode 0644`);
    assert.match(refusal.fix, /chown root/);
  });

  test('a file or a folder above it writable by group or others is refused (chmod go-w)', async () => {
    for (const [over, culprit, who] of [
      [{ [FILE]: { uid: 0, mode: 0o666 } }, FILE, 'every user'],
      [{ [FILE]: { uid: 0, mode: 0o620 } }, FILE, 'its group'],
      [{ '/home/ImageBuilderAdmin/.aws': { uid: 1000, mode: 0o777 } }, '/home/ImageBuilderAdmin/.aws', 'every user'],
      [{ '/home': { uid: 0, mode: 0o775 } }, '/home', 'its group'],
    ] as const) {
      const refusal = await checkPathTrust(FILE, policy, treeFs({ ...ROOT, ...ADMIN_HOME, [FILE]: { uid: 1000, mode: 0o600 }, ...(over as Record<string, Node>) }));
      assert.ok(refusal, culprit);
      assert.equal(refusal.culprit, culprit);
      assert.match(refusal.reason, new RegExp(`writable by ${who}`));
      assert.equal(refusal.fix, `chmod go-w ${culprit}`);
    }
  });

  test('a folder above owned by a hostile account is refused even when the file is root-owned', async () => {
    const refusal = await checkPathTrust(FILE, policy, treeFs({ ...ROOT, ...ADMIN_HOME, '/home/ImageBuilderAdmin/.aws': { uid: 1001, mode: 0o755 }, [FILE]: { uid: 0, mode: 0o600 } }));
    assert.equal(refusal?.culprit, '/home/ImageBuilderAdmin/.aws');
    assert.match(refusalMessage(refusal!), /\.aws is a folder owned by uid 1001/);
  });

  test("root's sticky /tmp is safe; a sticky folder owned by someone else is not", async () => {
    const file = '/tmp/x/.aws/config';
    const tree = { '/': { uid: 0, mode: 0o755 }, '/tmp/x': { uid: 990, mode: 0o700 }, '/tmp/x/.aws': { uid: 990, mode: 0o755 }, [file]: { uid: 990, mode: 0o600 } };
    assert.equal(await checkPathTrust(file, policy, treeFs({ ...tree, '/tmp': { uid: 0, mode: 0o1777 } })), undefined);
    assert.equal((await checkPathTrust(file, policy, treeFs({ ...tree, '/tmp': { uid: 1000, mode: 0o1777 } })))?.culprit, '/tmp');
  });

  test('a symlink: its owner must be trusted, and the real path is checked too', async () => {
    const link = '/tmp/x/.aws/config';
    const base = { '/': { uid: 0, mode: 0o755 }, '/tmp': { uid: 0, mode: 0o1777 }, '/tmp/x': { uid: 0, mode: 0o755 }, '/tmp/x/.aws': { uid: 0, mode: 0o755 } };
    const hostileTarget = { ...base, ...ROOT, '/home/evil': { uid: 1001, mode: 0o755 }, '/home/evil/.aws': { uid: 1001, mode: 0o755 }, '/home/evil/.aws/c': { uid: 1001, mode: 0o644 } };
    const viaLink = (linkUid: number, target: string) => ({ [link]: { uid: linkUid, mode: 0o777, kind: 'link' as const, target } });
    assert.equal((await checkPathTrust(link, policy, treeFs({ ...hostileTarget, ...viaLink(0, '/home/evil/.aws/c') })))?.culprit, '/home/evil/.aws/c', 'a root link to a hostile file');
    const good = { ...base, ...ROOT, ...ADMIN_HOME, [FILE]: { uid: 1000, mode: 0o600 } };
    assert.equal(await checkPathTrust(link, policy, treeFs({ ...good, ...viaLink(0, FILE) })), undefined, "root's link to a trusted file");
    assert.equal((await checkPathTrust(link, policy, treeFs({ ...good, ...viaLink(1001, FILE) })))?.culprit, link, 'a link the streaming user can swap');
  });
});
