import { Command, CommanderError } from 'commander';
import type { CliContext } from './context.js';
import type { ExitSlot } from './runAction.js';
import { ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { registerWait } from './commands/wait.js';
import { registerCredentialProcess } from './commands/credentialProcess.js';
import { registerEnv } from './commands/env.js';
import { registerExec } from './commands/exec.js';
import { registerStatus } from './commands/status.js';
import { registerSimulate } from './commands/simulate.js';
import { registerServe } from './commands/serve.js';
import { registerStart } from './commands/start.js';
import { registerDoctor } from './commands/doctor.js';
import { registerPolicy } from './commands/policy.js';
import { registerSaml } from './commands/saml.js';
import { registerService } from './commands/service.js';

function buildProgram(ctx: CliContext, slot: ExitSlot): Command {
  const program = new Command('appstream-creds');
  program
    .description(
      'Credentials for scripts on Amazon AppStream 2.0 instances: waits for the VPC network interface, ' +
        'reads and tracks the appstream_machine_role profile, and hands the credentials to local scripts.',
    )
    .version(VERSION, '-V, --version', 'print the version and exit')
    .option('--config <file>', 'JSON settings file (flags > APPSTREAM_CREDS_* env > this file > defaults)')
    .option('--profile <name>', 'credential profile to read (default: appstream_machine_role, else workspaces_machine_role when only that exists)')
    .option('--state-dir <dir>', "the agent's state folder (discovery file, token)")
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 runtime failure, 2 usage/config error, 3 network wait timed out,\n' +
      '4 credentials wait timed out, 5 credentials expired or unavailable, 6 a check found errors.\n\n' +
      'Examples:\n' +
      '  appstream-creds wait --timeout 50s          # in a session script, before calling AWS\n' +
      '  appstream-creds exec -- aws s3 ls            # run a command with the machine role\n' +
      '  appstream-creds credential-process          # as credential_process in ~/.aws/config\n',
  );

  const deps = { ctx, slot };
  registerWait(program, deps);
  registerCredentialProcess(program, deps);
  registerEnv(program, deps);
  registerExec(program, deps);
  registerStatus(program, deps);
  registerServe(program, deps);
  registerStart(program, deps);
  registerDoctor(program, deps);
  registerSimulate(program, deps);
  registerPolicy(program, deps);
  registerSaml(program, deps);
  registerService(program, deps);

  // Sub-commands inherit output routing and exit override so no path calls process.exit.
  const propagate = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (text) => ctx.io.stdout(text),
        writeErr: (text) => ctx.io.stderr(text),
      });
      propagate(sub);
    }
  };
  propagate(program);
  return program;
}

/** Parses argv and runs the chosen command; returns the exit code. Never exits the process. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const slot: ExitSlot = { code: ExitCode.ok };
  const program = buildProgram(ctx, slot);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here with exitCode 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    throw error;
  }
  return slot.code;
}
