import type { ExitCodeValue } from '../errors.js';

/** Where a command writes. Injected so tests capture output without touching process.stdout. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * What every command handler receives besides its own options. Only the composition root
 * (src/main.ts) builds this from the real process.
 */
export interface CliContext {
  io: CliIO;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Absolute path of the CLI entry script, for writing command lines that re-run this tool. */
  selfScript: string;
  /** Set when this CLI is the self-contained appstream-creds.exe (a Node SEA): its own path. */
  selfExe?: string;
  /** Signals the command wants forwarded (exec) or handled (serve). */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  /**
   * Ends the process now with this code, whatever is still pending (serve's shutdown deadline:
   * a cleanup stuck on a broken filesystem must not keep the daemon alive).
   */
  exit(code: number): void;
  /** Whether stdout is a terminal (affects formatting only, never data). */
  isTTY: boolean;
  /** Whether stderr is a terminal: the daemon logs readable lines there instead of JSON. */
  stderrIsTTY: boolean;
  /** Facts about the machine, read once by the composition root so commands never ask `process`. */
  platform: NodeJS.Platform;
  /** The node running this CLI (the Linux service runs the same one). */
  execPath: string;
  /** Effective user id; undefined where the OS has none (Windows). */
  uid: number | undefined;
  /** The OS's idea of the user's home, used when HOME/USERPROFILE are unset. */
  homeDir: string;
  /** The machine's host name (`{instance}` in a role's session name); optional for test contexts. */
  hostname?: string;
}

/** A command's handler resolves to the process exit code; errors are mapped by runCli. */
export type CommandResult = Promise<ExitCodeValue | number>;
