/**
 * moto's real STS/IAM server with authentication ON, so a client's successful call proves the
 * whole credential triple (key id, secret, session token): a wrong secret gets
 * SignatureDoesNotMatch, a wrong session token InvalidClientTokenId.
 *
 * moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls are used up.
 * The three free calls create an admin user, give it an allow-all policy and an access key;
 * everything after that (roles, AssumeRole by the simulator, clients) is signed for real.
 * Readiness is probed with a TCP connect: an HTTP request could spend the allowance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { runProgram } from './cli.js';
import { registerSecret } from './leakScan.js';

export const ACCOUNT_ID = '123456789012';
export const MACHINE_ROLE_NAME = 'appstream-fleet-machine-role';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${MACHINE_ROLE_NAME}`;
/** moto reports assumed roles as arn:aws:sts::<acct>:assumed-role/<role>/<session>. */
export const ASSUMED_ROLE_PREFIX = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${MACHINE_ROLE_NAME}/`;

export interface AdminCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface MotoServer {
  url: string;
  /** The bootstrapped IAM user's key: it signs role creation and the simulator's AssumeRole. */
  adminCredentials: AdminCredentials;
  /** The machine role (ROLE_ARN). */
  roleArn: string;
  /** Every role created, by name (the machine role plus any asked for). */
  roleArns: Record<string, string>;
  /** ASSUMED_ROLE_PREFIX: assumed sessions of the machine role. */
  assumedRolePrefix: string;
  /** AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of the admin, for `simulate --sts-endpoint`. */
  callerEnv: Record<string, string>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** Extra roles to create (each trusts any principal and may do anything), e.g. for chaining. */
  roles?: string[];
  /** A role's permission policy instead of allow-all (e.g. one without cloudwatch:PutMetricData). */
  rolePolicies?: Record<string, unknown>;
}

/** A free loopback port (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const connects = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * One boto3 process does the whole bootstrap: the three free calls, then (signed with the new
 * key) the roles and their allow-all inline policies. moto matches trust principals exactly,
 * so the machine role trusts the admin user (standing in for appstream.amazonaws.com) and extra
 * roles trust "*" (a session of the machine role has a per-session ARN).
 */
const BOOTSTRAP = `
import boto3, json, sys
url, policies, roles = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
allow_all = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]})
def trust(principal):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': principal}, 'Action': 'sts:AssumeRole'}]})
anonymous = boto3.session.Session(aws_access_key_id='AKIABOOTSTRAPNOAUTH0', aws_secret_access_key='unauthenticated-bootstrap', region_name='us-east-1')
iam = anonymous.client('iam', endpoint_url=url)
user = iam.create_user(UserName='moto-admin')['User']
iam.put_user_policy(UserName='moto-admin', PolicyName='allow-all', PolicyDocument=allow_all)
key = iam.create_access_key(UserName='moto-admin')['AccessKey']
admin = boto3.session.Session(aws_access_key_id=key['AccessKeyId'], aws_secret_access_key=key['SecretAccessKey'], region_name='us-east-1')
iam = admin.client('iam', endpoint_url=url)
arns = {}
for index, name in enumerate(roles):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(user['Arn'] if index == 0 else '*'))['Role']['Arn']
    iam.put_role_policy(RoleName=name, PolicyName='permissions' if name in policies else 'allow-all', PolicyDocument=json.dumps(policies[name]) if name in policies else allow_all)
    arns[name] = arn
identity = admin.client('sts', endpoint_url=url).get_caller_identity()
print(json.dumps({'accessKeyId': key['AccessKeyId'], 'secretAccessKey': key['SecretAccessKey'], 'roleArns': arns, 'adminArn': identity['Arn']}))
`;

/** Starts moto (`python3 -m moto.server`) on loopback with authentication on, bootstrapped. */
export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '3', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  while (!(await connects(port))) {
    if (child.exitCode !== null) throw new Error(`moto.server exited early: ${stderr}`);
    if (Date.now() - started > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`moto.server did not listen within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const roles = [MACHINE_ROLE_NAME, ...(options.roles ?? []).filter((r) => r !== MACHINE_ROLE_NAME)];
  const boot = await runProgram('python3', ['-c', BOOTSTRAP, url, JSON.stringify(options.rolePolicies ?? {}), ...roles], { timeoutMs: 60_000 });
  if (boot.code !== 0) {
    await stop();
    throw new Error(`moto bootstrap (create-user, put-user-policy, create-access-key, roles) failed (${boot.code}): ${boot.stderr}\nmoto: ${stderr}`);
  }
  const result = JSON.parse(boot.stdout) as AdminCredentials & { roleArns: Record<string, string> };
  const adminCredentials = { accessKeyId: result.accessKeyId, secretAccessKey: result.secretAccessKey };
  registerSecret(`moto admin secret (${url})`, adminCredentials.secretAccessKey);
  const server: MotoServer = {
    url,
    adminCredentials,
    roleArn: result.roleArns[MACHINE_ROLE_NAME]!,
    roleArns: result.roleArns,
    assumedRolePrefix: ASSUMED_ROLE_PREFIX,
    callerEnv: { AWS_ACCESS_KEY_ID: adminCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: adminCredentials.secretAccessKey },
    stop: async () => {
      running.delete(url);
      await stop();
    },
  };
  running.set(url, server);
  return server;
}

const running = new Map<string, MotoServer>();

/**
 * The signing caller for `simulate --sts-endpoint URL` when URL is a moto this process started
 * (empty otherwise), so helpers that only know the endpoint still mint with a real signature.
 */
export function stsCallerEnv(stsUrl: string | undefined): Record<string, string> {
  return (stsUrl && running.get(stsUrl)?.callerEnv) || {};
}

/**
 * `count` real sessions of the machine role (AssumeRole signed by the admin): sets moto checks
 * in full, so a mix of two (one's key id, another's secret or token) is refused like on AWS.
 * Secrets and tokens are registered with the leak scan.
 */
export async function assumeMachineRole(moto: MotoServer, count: number, session = 'generation'): Promise<Array<{ id: string; secret: string; token: string }>> {
  const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  const client = new STSClient({ region: 'us-east-1', endpoint: moto.url, credentials: moto.adminCredentials });
  try {
    const sets = [];
    for (let i = 0; i < count; i += 1) {
      const { Credentials: c } = await client.send(new AssumeRoleCommand({ RoleArn: moto.roleArn, RoleSessionName: `${session}-${i}` }));
      registerSecret(`moto session secret ${session}-${i}`, c!.SecretAccessKey);
      registerSecret(`moto session token ${session}-${i}`, c!.SessionToken);
      sets.push({ id: c!.AccessKeyId!, secret: c!.SecretAccessKey!, token: c!.SessionToken! });
    }
    return sets;
  } finally {
    client.destroy();
  }
}
