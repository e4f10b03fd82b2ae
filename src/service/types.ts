/** Runs an OS command; injected so service logic is tested on Linux without touching the OS. */
export interface CommandRunner {
  run(command: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export type ServiceState = 'running' | 'stopped' | 'not-installed' | 'unknown';

export interface ServiceStatus {
  state: ServiceState;
  detail: string;
}

/** One per platform (systemd, Windows SCM through WinSW). */
export interface ServiceManager {
  status(): Promise<ServiceStatus>;
}
