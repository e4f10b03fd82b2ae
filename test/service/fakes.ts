import path from 'node:path';
import type { FileOps } from '../../src/service/fileOps.js';
import type { CommandRunner } from '../../src/service/managerTypes.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Responder = (command: string, args: readonly string[]) => Partial<RunResult> | undefined;

/** Records every command and answers from a responder (default: success, no output). */
export class RecordingRunner implements CommandRunner {
  readonly calls: Array<{ command: string; args: string[] }> = [];
  constructor(private readonly respond: Responder = () => undefined) {}

  async run(command: string, args: readonly string[]): Promise<RunResult> {
    this.calls.push({ command, args: [...args] });
    const answer = this.respond(command, args) ?? {};
    return { code: answer.code ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
  }

  /** Every call as its argv, command first: one argument stays one element, spaces and all. */
  argvs(): string[][] {
    return this.calls.map(({ command, args }) => [command, ...args]);
  }

  /** Position of the call with exactly this argv (same arguments, same split), or -1. */
  indexOf(argv: readonly string[]): number {
    return this.calls.findIndex(({ command, args }) => args.length + 1 === argv.length && [command, ...args].every((word, i) => word === argv[i]));
  }

  has(argv: readonly string[]): boolean {
    return this.indexOf(argv) >= 0;
  }

  /** For failure messages: one call per line, each argument JSON-quoted so its bounds show. */
  describe(): string {
    return this.argvs().map((argv) => argv.map((word) => JSON.stringify(word)).join(' ')).join('\n');
  }

  clear(): void {
    this.calls.length = 0;
  }
}

/**
 * A Windows machine in memory: files keyed by path, plus the SCM, WinSW wrapper and machine
 * environment as the commands would change them.
 */
export class FakeWindows {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly machineEnv = new Map<string, string>();
  /** `nssm set` parameters as NSSM would store them. */
  readonly nssm = new Map<string, string[]>();
  installed = false;
  running = false;
  readonly runner: RecordingRunner;

  constructor() {
    this.runner = new RecordingRunner((command, args) => this.answer(command, args));
  }

  private answer(command: string, args: readonly string[]): Partial<RunResult> | undefined {
    const verb = args[0];
    if (command.endsWith('appstream-credential-agent.exe')) {
      if (!this.files.has(command)) return { code: 1, stderr: 'not found' };
      if (verb === 'status') return { stdout: this.installed ? (this.running ? 'Started\r\n' : 'Stopped\r\n') : 'NonExistent\r\n' };
      if (verb === 'install') {
        if (this.installed) return { code: 1, stderr: "Installation failure: Service with id 'appstream-credential-agent' already exists" };
        this.installed = true;
      }
      if (verb === 'uninstall') this.installed = false;
      if (verb === 'start') {
        if (!this.installed || this.running) return { code: 1, stderr: 'cannot start' };
        this.running = true;
      }
      if (verb === 'stop') {
        if (!this.running) return { code: 1, stderr: 'not started' };
        this.running = false;
      }
      return undefined;
    }
    // NSSM registers the service; start/stop/delete then go through the SCM.
    if (command.endsWith('nssm.exe')) {
      if (!this.files.has(command)) return { code: 1, stderr: 'not found' };
      if (verb === 'install') {
        if (this.installed) return { code: 1, stderr: 'Error creating service!' };
        this.installed = true;
      }
      if (verb === 'set') this.nssm.set(args[2]!, args.slice(3));
      return undefined;
    }
    if (command === 'sc.exe' && verb === 'start') {
      if (!this.installed || this.running) return { code: 1056, stderr: '[SC] StartService FAILED 1056' };
      this.running = true;
    }
    if (command === 'sc.exe' && verb === 'stop') {
      if (!this.running) return { code: 1062, stderr: '[SC] ControlService FAILED 1062' };
      this.running = false;
    }
    if (command === 'sc.exe' && verb === 'delete') this.installed = false;
    if (command === 'sc.exe' && verb === 'query') {
      if (!this.installed) return { code: 1060, stdout: '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n' };
      return { stdout: `SERVICE_NAME: appstream-credential-agent\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        STATE              : ${this.running ? '4  RUNNING' : '1  STOPPED'}\r\n` };
    }
    if (command === 'setx') this.machineEnv.set(args[0]!, args[1]!);
    if (command === 'reg' && verb === 'query') return this.machineEnv.has(args[3]!) ? { stdout: `    ${args[3]}    REG_SZ    ${this.machineEnv.get(args[3]!)}` } : { code: 1, stderr: 'ERROR: The system was unable to find the specified registry key or value.' };
    if (command === 'reg' && verb === 'delete') this.machineEnv.delete(args[3]!);
    // NSSM's parameters imported in one go: stored as `nssm set` would have given them.
    if (command === 'reg' && verb === 'import') {
      const text = this.files.get(args[1]!);
      if (text === undefined) return { code: 1, stderr: 'reg: Unable to open the file' };
      for (const [name, words] of nssmSetForm(parseRegFile(text))) this.nssm.set(name, words);
    }
    return undefined;
  }

  readonly fileOps: FileOps = {
    readText: async (file) => this.files.get(file),
    exists: async (file) => this.files.has(file) || this.dirs.has(file),
    writeAtomic: async (file, data) => {
      const created = this.mkdirs(path.win32.dirname(file));
      // Binary content (a .reg file is UTF-16LE) is kept as its text.
      this.files.set(file, typeof data === 'string' ? data : Buffer.from(data).toString('utf16le'));
      return created;
    },
    copy: async (from, to) => {
      const content = this.files.get(from);
      if (content === undefined) throw new Error(`ENOENT ${from}`);
      const created = this.mkdirs(path.win32.dirname(to));
      this.files.set(to, content);
      return created;
    },
    ensureDir: async (dir) => this.mkdirs(dir),
    remove: async (file) => this.files.delete(file),
    removeDirIfEmpty: async (dir) => {
      const inside = [...this.files.keys(), ...this.dirs].some((p) => p.startsWith(`${dir}\\`));
      return !inside && this.dirs.delete(dir);
    },
    readLink: async () => undefined,
    symlink: async () => {
      throw new Error('no symlinks in this fake');
    },
  };

  private mkdirs(dir: string): string[] {
    const created: string[] = [];
    for (let current = dir; !this.dirs.has(current) && path.win32.dirname(current) !== current; current = path.win32.dirname(current)) created.unshift(current);
    for (const d of created) this.dirs.add(d);
    return created;
  }
}

export type RegValue = { type: 'sz' | 'expand' | 'multi'; value: string[] } | { type: 'dword'; value: number };

/** A .reg file (version 5, text already decoded) as key → value name (`@` the default) → typed value. */
export function parseRegFile(text: string): Map<string, Map<string, RegValue>> {
  const keys = new Map<string, Map<string, RegValue>>();
  const lines = text.replace(/^\ufeff/, '').replace(/\\\r?\n\s*/g, '').split(/\r?\n/);
  if (lines[0] !== 'Windows Registry Editor Version 5.00') throw new Error(`not a version 5 .reg file: ${lines[0]}`);
  let current: Map<string, RegValue> | undefined;
  const fromUtf16 = (hex: string): string => Buffer.from(hex.split(',').filter(Boolean).map((h) => parseInt(h, 16))).toString('utf16le');
  for (const line of lines.slice(1)) {
    const key = /^\[(.+)\]$/.exec(line);
    if (key) {
      current = new Map();
      keys.set(key[1]!, current);
      continue;
    }
    const value = /^(@|"((?:[^"\\]|\\.)*)")=(.*)$/.exec(line);
    if (!value || !current) continue;
    const name = value[1] === '@' ? '@' : value[2]!.replace(/\\(.)/g, '$1');
    const data = value[3]!;
    let parsed: RegValue;
    if (data.startsWith('"')) parsed = { type: 'sz', value: [data.slice(1, -1).replace(/\\(.)/g, '$1')] };
    else if (data.startsWith('dword:')) parsed = { type: 'dword', value: parseInt(data.slice(6), 16) };
    else if (data.startsWith('hex(2):')) parsed = { type: 'expand', value: [fromUtf16(data.slice(7)).replace(/\0$/, '')] };
    else if (data.startsWith('hex(7):')) {
      const strings = fromUtf16(data.slice(7)).split('\0');
      while (strings.length > 0 && strings.at(-1) === '') strings.pop();
      parsed = { type: 'multi', value: strings };
    }
    else throw new Error(`value type not known to this fake: ${line}`);
    current.set(name, parsed);
  }
  return keys;
}

/** The Parameters key of a .reg file as the words `nssm set NAME …` takes (AppExit: `Default Restart`). */
export function nssmSetForm(keys: Map<string, Map<string, RegValue>>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, values] of keys) {
    const exit = /\\Parameters\\AppExit$/.exec(key);
    if (exit) {
      const action = values.get('@');
      if (action && action.type === 'sz') out.set('AppExit', ['Default', ...action.value]);
      continue;
    }
    if (!/\\Parameters$/.test(key)) continue;
    for (const [name, value] of values) out.set(name, value.type === 'dword' ? [String(value.value)] : value.value);
  }
  return out;
}
