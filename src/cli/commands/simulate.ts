import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandSettings } from '../commandSetup.js';
import { AgentError, ExitCode, usageError } from '../../errors.js';
import { parseDuration, formatDuration } from '../../config/duration.js';
import { systemClock } from '../../clock.js';
import { Simulator, readCurrentGeneration, type ProfileForm } from '../../simulate/Simulator.js';
import { mintFakeCredentials, mintStsCredentials, type StsMintInit } from '../../simulate/mintCredentials.js';
import { maskKeyId } from '../../credentials.js';
import { processJson } from '../../client/credentialVars.js';

interface SimulateOptions {
  dir: string;
  form: ProfileForm;
  refreshInterval?: string;
  validity?: string;
  speed: string;
  rotations: string;
  inPlace?: boolean;
  stsEndpoint?: string;
  roleArn?: string;
  region?: string;
  emit?: boolean;
  user?: string;
  sessionId?: string;
  resourceName?: string;
}

const quote = (value: string): string => `"${value.replace(/"/g, '\\"')}"`;

/** The AssumeRole caller from the standard variables; none means an unsigned-STS placeholder. */
function stsCaller(env: Readonly<Record<string, string | undefined>>): StsMintInit['caller'] {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

const FILE_REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way of a folder',
  EISDIR: 'a folder is in the way of a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/**
 * A sandbox the simulator cannot write (--dir naming a file, a read-only folder) is a usage
 * problem, not a crash: exit 2 naming the path and why. Errors without a path (STS) pass as they are.
 */
function sandboxError(dir: string, error: unknown): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string' || e.path === undefined) return error;
  return usageError(`simulate --dir ${dir}: cannot write ${e.path} (${FILE_REASONS[e.code] ?? e.code})`, 'simulate-dir');
}

const SIMPLE = /^[A-Za-z0-9_.@\\ -]{1,64}$/;

/** The AppStream_* values of the simulated session; plain values only (the file is sourced by shells). */
function simulatedIdentity(opts: SimulateOptions): Record<string, string> {
  const values: Record<string, string | undefined> = { AppStream_UserName: opts.user, AppStream_Session_ID: opts.sessionId ?? `sim-${Date.now().toString(36)}`, AppStream_Resource_Name: opts.resourceName, AppStream_Resource_Type: 'fleet' };
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !SIMPLE.test(value)) throw usageError(`simulate: the value for ${name} must be 1 to 64 letters, digits, spaces or _ . @ \\ -`);
  }
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}

export function registerSimulate(program: Command, deps: CommandDeps): void {
  program
    .command('simulate')
    .description('play AppStream on a developer machine: write and rotate the profile in a sandbox folder')
    .requiredOption('--dir <folder>', 'sandbox folder (gets .aws/credentials, .aws/config and env.sh)')
    .addOption(new Option('--form <form>', 'profile form to write').choices(['static', 'process']).default('static'))
    .option('--refresh-interval <duration>', 'simulated time between rotations (default: setting refreshInterval)')
    .option('--validity <duration>', 'simulated lifetime of each generation (default: setting validity)')
    .option('--speed <factor>', 'compress the clock: real time = simulated time / factor', '1')
    .option('--rotations <n>', 'stop after this many generations (0 = run until interrupted)', '0')
    .option('--in-place', 'rewrite files in place instead of temp-file-and-rename')
    .option('--sts-endpoint <url>', 'mint real credentials with STS AssumeRole at this endpoint')
    .option('--role-arn <arn>', 'role to assume with --sts-endpoint (signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when set)')
    .option('--region <region>', 'region for STS (default: AWS_REGION or us-east-1)')
    .option('--emit', 'print the current generation as credential_process JSON (the process form calls this)')
    .option('--user <name>', 'a streaming user (AppStream_UserName) for named roles\' {user}: written to DIR/appstream_system_vars.sh, named in env.sh')
    .option('--session-id <id>', 'AppStream_Session_ID for {session} (with --user)')
    .option('--resource-name <name>', 'AppStream_Resource_Name for {resource} (with --user)', 'simulated-fleet')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  appstream-creds simulate --dir /tmp/as2 --refresh-interval 1h --validity 6h --speed 1800\n' +
        '  appstream-creds simulate --dir /tmp/as2 --form process --sts-endpoint http://127.0.0.1:5000 \\\n' +
        '      --role-arn arn:aws:iam::123456789012:role/fleet-machine-role --refresh-interval 2s --validity 12s\n' +
        '  . /tmp/as2/env.sh && appstream-creds status\n' +
        '\nNamed roles (setting roles) as a streaming user, against moto:\n' +
        '  appstream-creds simulate --dir /tmp/as2 --sts-endpoint http://127.0.0.1:5000 --role-arn MACHINE_ROLE_ARN --user alice\n' +
        '  . /tmp/as2/env.sh && AWS_ENDPOINT_URL_STS=http://127.0.0.1:5000 appstream-creds --config roles.json credential-process --role reporting\n',
    )
    .action(
      runAction(deps.ctx, deps.slot, async (opts: SimulateOptions, command: Command) => {
        const dir = path.resolve(deps.ctx.cwd, opts.dir);
        if (opts.emit) {
          const current = await readCurrentGeneration(dir).catch(() => {
            throw new AgentError(`simulate --emit: no generation in ${dir} yet`, { exitCode: ExitCode.credentialsUnavailable, code: 'simulator-empty' });
          });
          deps.ctx.io.stdout(processJson({ accessKeyId: current.AccessKeyId, secretAccessKey: current.SecretAccessKey, sessionToken: current.SessionToken, expiration: new Date(current.Expiration) }));
          return ExitCode.ok;
        }
        const settings = commandSettings(command, deps);
        const speed = Number(opts.speed);
        const rotations = Number(opts.rotations);
        if (!(speed > 0)) throw usageError(`--speed: "${opts.speed}" must be a number above 0`);
        if (!Number.isInteger(rotations) || rotations < 0) throw usageError(`--rotations: "${opts.rotations}" must be a whole number`);
        if (Boolean(opts.stsEndpoint) !== Boolean(opts.roleArn)) throw usageError('--sts-endpoint and --role-arn go together');
        const refreshMs = (opts.refreshInterval ? parseDuration(opts.refreshInterval, '--refresh-interval') : settings.refreshInterval) / speed;
        const validityMs = (opts.validity ? parseDuration(opts.validity, '--validity') : settings.validity) / speed;
        const region = opts.region ?? settings.region ?? 'us-east-1';
        const caller = stsCaller(deps.ctx.env);

        const simulator = new Simulator({
          dir,
          form: opts.form,
          profile: settings.profile,
          refreshMs,
          validityMs,
          inPlace: Boolean(opts.inPlace),
          clock: systemClock,
          // From appstream-creds.exe the exe alone runs the CLI (its argv[1] is itself, not a script).
          emitCommand: `${deps.ctx.selfExe ? quote(deps.ctx.selfExe) : `${quote(deps.ctx.execPath)} ${quote(deps.ctx.selfScript)}`} simulate --emit --dir ${quote(dir)}`,
          ...(opts.user ? { identity: simulatedIdentity(opts) } : {}),
          mint: (expiresAt, generation) =>
            opts.stsEndpoint && opts.roleArn
              ? mintStsCredentials(
                  { endpoint: opts.stsEndpoint, roleArn: opts.roleArn, region, sessionName: `appstream-sim-${generation}`, caller, env: deps.ctx.env, durationSeconds: Math.max(900, Math.ceil(validityMs / 1000)) },
                  expiresAt,
                )
              : Promise.resolve(mintFakeCredentials(expiresAt)),
        });
        await simulator.setup().catch((error: unknown) => {
          throw sandboxError(dir, error);
        });
        deps.ctx.io.stderr(
          `simulating AppStream in ${dir}: ${opts.form} form, a new generation every ${formatDuration(refreshMs)}, each valid ${formatDuration(validityMs)}` +
            `${opts.inPlace ? ', in-place writes' : ''}\n  . ${simulator.paths.envFile}   # points AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE here\n`,
        );

        const controller = new AbortController();
        const offs = (['SIGINT', 'SIGTERM'] as const).map((s) => deps.ctx.onSignal(s, () => controller.abort()));
        try {
          for (let n = 1; rotations === 0 || n <= rotations; n += 1) {
            const minted = await simulator.rotate().catch((error: unknown) => {
              throw sandboxError(dir, error);
            });
            deps.ctx.io.stderr(`generation ${minted.generation}: key ${maskKeyId(minted.AccessKeyId)}, expires ${minted.Expiration}\n`);
            if (rotations !== 0 && n === rotations) break;
            await systemClock.sleep(refreshMs, controller.signal);
            if (controller.signal.aborted) break;
          }
        } finally {
          offs.forEach((off) => off());
        }
        return ExitCode.ok;
      }),
    );
}
