import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { commandLogger, commandSettings } from '../setup.js';
import { readCurrentCredentials } from '../currentCredentials.js';
import { fetchFromAgent, findRunningAgent } from '../agentClient.js';
import { credentialVars } from '../credentialVars.js';
import { AgentError, ExitCode, usageError } from '../../errors.js';

const STATIC_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'];
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Variables that would make the child's SDK pick another source before ours. */
const CONFLICTING = ['AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE'];

export function registerExec(program: Command, deps: CommandDeps): void {
  program
    .command('exec')
    .description('run a command with the machine-role credentials in its environment')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  appstream-creds exec -- aws sts get-caller-identity\n' +
        '  appstream-creds exec -- python3 sync.py --bucket reports\n\n' +
        'With the agent running, the child gets AWS_CONTAINER_CREDENTIALS_FULL_URI and\n' +
        'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, so it follows refreshes however long it runs;\n' +
        'otherwise static AWS_* variables, valid until AWS_CREDENTIAL_EXPIRATION.\n' +
        "The child's exit code is passed through; SIGINT/SIGTERM/SIGHUP are forwarded to it.\n",
    )
    .action(
      runAction(deps.ctx, deps.slot, async (argv: string[], _opts: unknown, command: Command) => {
        const settings = commandSettings(command, deps);
        const logger = await commandLogger(settings, 'warn');
        const env: Record<string, string | undefined> = { ...deps.ctx.env };
        for (const name of CONFLICTING) delete env[name];
        const agent = await findRunningAgent(settings.stateDir);
        if (agent && (await fetchFromAgent(agent))) {
          // Endpoint variables: the child's SDK asks the agent on each refresh, so a
          // long-running child follows the hourly rotation.
          for (const name of STATIC_VARS) delete env[name];
          env.AWS_CONTAINER_CREDENTIALS_FULL_URI = agent.discovery.credentialsUrl;
          env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = agent.discovery.tokenFile;
          if (settings.region) env.AWS_REGION = env.AWS_DEFAULT_REGION = settings.region;
        } else {
          const { generation } = await readCurrentCredentials(settings, deps, logger);
          Object.assign(env, credentialVars(generation.credentials, settings.region));
        }
        return runChild(argv, env, deps);
      }),
    );
}

function runChild(argv: string[], env: Record<string, string | undefined>, deps: CommandDeps): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw usageError('exec: give a command after --, e.g. appstream-creds exec -- aws s3 ls');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: env as NodeJS.ProcessEnv });
    const unsubscribe = FORWARDED.map((signal) => deps.ctx.onSignal(signal, () => child.kill(signal)));
    child.on('error', (error: NodeJS.ErrnoException) => {
      unsubscribe.forEach((off) => off());
      reject(
        new AgentError(
          error.code === 'ENOENT' ? `exec: command not found: ${file}` : `exec: cannot run ${file} (${error.code ?? error.message})`,
          { exitCode: error.code === 'ENOENT' ? ExitCode.usage : ExitCode.runtime, code: 'exec-failed' },
        ),
      );
    });
    child.on('exit', (code, signal) => {
      unsubscribe.forEach((off) => off());
      // Shell convention: 128 + signal number when the child died of a signal.
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
}
