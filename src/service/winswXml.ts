export interface WinswXmlOptions {
  id: string;
  name: string;
  description: string;
  executable: string;
  args: readonly string[];
  env: ReadonlyArray<readonly [string, string]>;
  workingDirectory: string;
  logPath: string;
  logSizeKb: number;
  logKeepFiles: number;
}

const xml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Quotes one argument the way CommandLineToArgvW (and node.exe) splits it back. */
export function windowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/**
 * WinSW's configuration: the wrapper (<id>.exe, WinSW 1.17 from the node-windows package)
 * reads <id>.xml beside it. The SCM restarts the agent 1 s after each failure (while it is down
 * any user can bind its port), and the
 * failure count resets after an hour without one; stdout/stderr roll by size in the log folder.
 */
export function renderWinswXml(options: WinswXmlOptions): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!-- Written by `appstream-creds service install`; installing again rewrites it. -->',
    '<service>',
    `  <id>${xml(options.id)}</id>`,
    `  <name>${xml(options.name)}</name>`,
    `  <description>${xml(options.description)}</description>`,
    `  <executable>${xml(options.executable)}</executable>`,
    `  <arguments>${xml(options.args.map(windowsArg).join(' '))}</arguments>`,
    `  <workingdirectory>${xml(options.workingDirectory)}</workingdirectory>`,
    '  <startmode>Automatic</startmode>',
    '  <stoptimeout>15 sec</stoptimeout>',
    '  <onfailure action="restart" delay="1 sec"/>',
    '  <onfailure action="restart" delay="1 sec"/>',
    '  <onfailure action="restart" delay="1 sec"/>',
    '  <resetfailure>1 hour</resetfailure>',
    `  <logpath>${xml(options.logPath)}</logpath>`,
    '  <log mode="roll-by-size">',
    `    <sizeThreshold>${Math.max(1, Math.round(options.logSizeKb))}</sizeThreshold>`,
    `    <keepFiles>${Math.max(1, Math.round(options.logKeepFiles))}</keepFiles>`,
    '  </log>',
    ...options.env.map(([name, value]) => `  <env name="${xml(name)}" value="${xml(value)}"/>`),
    '</service>',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
