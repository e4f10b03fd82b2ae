/**
 * Composition root: the only module that reads process.env, touches process.stdout and
 * sets the exit code.
 */
import os from 'node:os';
import { isSea } from 'node:sea';
import type { CliContext } from './cli/context.js';
import { reportError } from './cli/runAction.js';
import { parseFastCredentialProcess } from './cli/fastCredentialProcess.js';

// Snapshot first: children started by `exec` get the user's environment untouched.
const env = { ...process.env };
// The bundled SDK's notice about its own future Node requirement is not actionable for users
// of this tool (the SDK ships inside dist/); it would also break one-line error output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ctx: CliContext = {
  io: {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  },
  env,
  cwd: process.cwd(),
  selfScript: process.argv[1] ?? '',
  ...(isSea() ? { selfExe: process.execPath } : {}),
  isTTY: Boolean(process.stdout.isTTY),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  platform: process.platform,
  execPath: process.execPath,
  uid: process.getuid?.(),
  homeDir: os.homedir(),
  hostname: os.hostname(),
  exit(code) {
    process.exit(code);
  },
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => void process.off(signal, handler);
  },
};

// A reader that went away (`appstream-creds --help | head`) is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exitCode ??= 0;
  process.stdout.destroy();
});

const argv = process.argv.slice(2);
// Decided once, here: the hot command skips building the commander program (see fastCredentialProcess.ts).
const fast = parseFastCredentialProcess(argv);
const run = fast
  ? import('./cli/fastCredentialProcess.js').then((m) => m.runFastCredentialProcess(ctx, fast))
  : import('./cli/program.js').then((m) => m.runCli(argv, ctx));

run.then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(ctx, error);
  },
);
