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

/** What the service runs and how; built by the `service install` command from validated settings. */
export interface ServiceInstallConfig {
  /** Absolute path of node on the target machine (the service runs node + the dist bundle). */
  nodePath: string;
  /**
   * Windows: the self-contained appstream-creds.exe to install (the package's copy, with its
   * native\ folder beside it). Set, the service runs <prefix>\bin\appstream-creds.exe and
   * nodePath and the bundle are not used.
   */
  exeSource?: string;
  stateDir: string;
  /** Where the daemon writes its JSON log files (default <stateDir>/logs). */
  logDir?: string;
  port: number;
  /** IMDS's own port, when the settings the service reads turn `imds` on. */
  imdsPort?: number | undefined;
  /** Group that may read the token besides its owner (Linux default: the service group). */
  tokenGroup?: string;
  /** --config file the service should read, passed on its command line. */
  configFile?: string;
  /** More APPSTREAM_CREDS_* variables for the service (profile, log level, imds…). */
  extraEnv?: Record<string, string>;
  logMaxSizeMb: number;
  logMaxFiles: number;
  /** Opt-in: point every new process at the agent with the container-credentials variables. */
  setMachineEnv: boolean;
  /** false = install and enable, but do not start or restart now. */
  start: boolean;
  /** Windows: the WinSW executable to copy (default <prefix>\dist\winsw\winsw.exe). */
  winswSource?: string;
  /** Windows: the service host: NSSM (default; native, the host that has run under Wine) or WinSW (needs the .NET Framework). */
  host?: 'winsw' | 'nssm';
  /** Windows: the NSSM executable to copy (default <prefix>\dist\nssm\nssm.exe, or nssm\nssm.exe beside exeSource). */
  nssmSource?: string;
}

export interface InstallOutcome {
  action: 'installed' | 'upgraded' | 'staged';
  /** Files and folders this call created that did not exist before (target paths). */
  created: string[];
  /** Human-readable steps, in order ("wrote …", "ran …"). */
  steps: string[];
  /** Things the administrator should know (e.g. an old systemd that ignores a directive). */
  notes: string[];
}

export interface UninstallOutcome {
  removed: boolean;
  steps: string[];
  notes: string[];
}

/** A platform's full service manager; `doctor` only needs the ServiceManager part. */
export interface PlatformServiceManager extends ServiceManager {
  readonly platform: 'linux' | 'win32';
  install(config: ServiceInstallConfig): Promise<InstallOutcome>;
  uninstall(): Promise<UninstallOutcome>;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<ServiceStatus>;
}
