/** Exit codes are part of the public contract (docs/contract.md); scripts branch on them. */
export const ExitCode = {
  ok: 0,
  runtime: 1,
  usage: 2,
  networkTimeout: 3,
  credentialsTimeout: 4,
  credentialsUnavailable: 5,
  checkFailed: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
/** `exec` follows shells when its child cannot start: 127 not found, 126 cannot be run. */
export const ShellExitCode = { notFound: 127, cannotRun: 126 } as const;
type ShellExitCodeValue = (typeof ShellExitCode)[keyof typeof ShellExitCode];

export interface AgentErrorOptions {
  exitCode?: ExitCodeValue | ShellExitCodeValue;
  /** Stable machine-readable code, used in HTTP 503 bodies and --json output. */
  code?: string;
  /** True when a later source (another home folder, another form) may still succeed. */
  tryNextSource?: boolean;
  /** True when retrying the same source shortly may succeed (half-written file). */
  transient?: boolean;
  cause?: unknown;
}

/**
 * The one error type the product throws on purpose. Its message is shown to users as-is,
 * so it must never carry a secret value.
 */
export class AgentError extends Error {
  readonly exitCode: ExitCodeValue | ShellExitCodeValue;
  readonly code: string;
  readonly tryNextSource: boolean;
  readonly transient: boolean;

  constructor(message: string, options: AgentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.exitCode = options.exitCode ?? ExitCode.runtime;
    this.code = options.code ?? 'runtime-error';
    this.tryNextSource = options.tryNextSource ?? false;
    this.transient = options.transient ?? false;
  }
}

export const usageError = (message: string, code = 'usage'): AgentError =>
  new AgentError(message, { exitCode: ExitCode.usage, code });

export const isAgentError = (value: unknown): value is AgentError => value instanceof AgentError;
