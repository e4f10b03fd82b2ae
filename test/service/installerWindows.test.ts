import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { renderWinswXml } from '../../src/service/winswXml.js';
import { repoRoot } from '../helpers/cli.js';
import { dotnetUserStrings } from '../helpers/dotnetUserStrings.js';

/** Script text without comments and string literals, so keywords inside them do not count. */
function code(text: string): string {
  return text
    .replace(/<#[\s\S]*?#>/g, '')
    .replace(/^\s*#.*$/gm, '')
    .replace(/'[^'\n]*'/g, "''")
    .replace(/"[^"\n]*"/g, '""');
}

const ALLOWED_CONDITIONS = [/^if \(\$SetMachineEnv\) \{/, /^if \(\$TokenGroup\) \{/, /^if \(\$LASTEXITCODE -ne 0\) \{ exit \$LASTEXITCODE \}$/];

for (const script of ['install.ps1', 'uninstall.ps1']) {
  test(`installer/windows/${script} holds no logic beyond passing its parameters on`, () => {
    const text = readFileSync(path.join(repoRoot, 'installer', 'windows', script), 'utf8');
    const lines = code(text).split('\n').map((l) => l.trim()).filter(Boolean);
    for (const keyword of ['foreach', 'for', 'while', 'do', 'switch', 'function', 'filter', 'trap', 'else', 'elseif', 'until']) {
      const hit = lines.find((line) => new RegExp(`(^|[\\s;{(])${keyword}\\b`, 'i').test(line) && !/^param\(|^\[/.test(line));
      assert.equal(hit, undefined, `${script} uses ${keyword}: ${hit}`);
    }
    for (const line of lines.filter((l) => /(^|[\s;{(])if\b/i.test(l))) {
      assert.ok(ALLOWED_CONDITIONS.some((re) => re.test(line)), `${script}: only parameter checks (and passing on the exit code) may branch: ${line}`);
    }
    assert.match(text, /^#Requires -RunAsAdministrator/m);
    assert.doesNotMatch(text, /NodePath|node\.exe|appstream-creds\.cjs/, 'no node: the exe is the product');
    assert.match(text, /\[string\]\$InstallDir = "\$env:ProgramFiles\\AppStreamCredentialAgent"/);
    assert.match(text, /& \(Join-Path \$PSScriptRoot '\.\.\\\.\.\\dist-win\\appstream-creds\.exe'\)/, "runs the package's exe, as the .cmd does");
  });
}

test('install.ps1 runs the exe as `service install --host nssm` with every parameter, as install.cmd does', () => {
  const text = readFileSync(path.join(repoRoot, 'installer', 'windows', 'install.ps1'), 'utf8');
  assert.match(text, /param\(\s*\[string\]\$InstallDir[^)]*\[switch\]\$SetMachineEnv[^)]*\[string\]\$TokenGroup\s*\)/);
  assert.match(text, /\$cliArgs = @\('service', 'install', '--host', 'nssm', '--prefix', \$InstallDir\)/);
  assert.match(text, /if \(\$SetMachineEnv\) \{ \$cliArgs \+= '--set-machine-env' \}/);
  assert.match(text, /if \(\$TokenGroup\) \{ \$cliArgs \+= @\('--token-group', \$TokenGroup\) \}/);
  assert.doesNotMatch(text, /Copy-Item/, 'the exe copies itself after stopping the service (an upgrade)');
  assert.match(text, /@cliArgs\nexit \$LASTEXITCODE/);
  const cmd = readFileSync(path.join(repoRoot, 'installer', 'windows', 'install.cmd'), 'utf8');
  assert.match(cmd, /^"%~dp0\.\.\\\.\.\\dist-win\\appstream-creds\.exe" service install --host nssm --prefix "%AGENT_INSTALL_DIR%" %\*\r$/m);
  const uninstall = readFileSync(path.join(repoRoot, 'installer', 'windows', 'uninstall.ps1'), 'utf8');
  assert.match(uninstall, /service uninstall --prefix \$InstallDir/);
  const uninstallCmd = readFileSync(path.join(repoRoot, 'installer', 'windows', 'uninstall.cmd'), 'utf8');
  assert.match(uninstallCmd, /dist-win\\appstream-creds\.exe" service uninstall --prefix "%AGENT_INSTALL_DIR%"/);
});

// WinSW comes from the node-windows package: check it is the WinSW we write configuration for.
const winsw = path.join(repoRoot, 'node_modules', 'node-windows', 'bin', 'winsw', 'winsw.exe');

test('the WinSW shipped in node-windows knows every command and XML element we use', { skip: existsSync(winsw) ? undefined : 'node-windows is not installed (npm ci)' }, () => {
  // Exact string literals of the assembly (its .NET #US heap), not a byte search: "id" or "log"
  // occur in any binary, but as a whole literal only in code that reads them.
  const literals = dotnetUserStrings(readFileSync(winsw));
  assert.ok(literals.has("- 'restart!'  - self-restart (can be called from child processes)"), 'it is WinSW (1.x usage text)');
  for (const command of ['install', 'uninstall', 'start', 'stop', 'status', 'NonExistent', 'Started', 'Stopped']) {
    assert.ok(literals.has(command), `WinSW knows the command/answer ${command}`);
  }
  const xml = renderWinswXml({ id: 'x', name: 'x', description: 'x', executable: 'node.exe', args: ['serve'], env: [['A', 'b']], workingDirectory: 'C:\\x', logPath: 'C:\\x', logSizeKb: 1, logKeepFiles: 1 });
  const elements = new Set([...xml.matchAll(/<([a-zA-Z]+)[\s/>]/g)].map((m) => m[1]!));
  elements.delete('service'); // the document element: loaded, never named
  assert.ok(elements.size >= 15, `the rendered XML has ${elements.size} elements`);
  // WinSW 1.x reads an element by its name or by an XPath `//name`.
  for (const element of elements) assert.ok(literals.has(element) || literals.has(`//${element}`), `WinSW 1.x reads <${element}>`);
  for (const attribute of new Set([...xml.matchAll(/\s([a-zA-Z]+)="/g)].map((m) => m[1]!))) {
    if (attribute === 'version' || attribute === 'encoding') continue; // the XML declaration's
    assert.ok(literals.has(attribute), `WinSW 1.x reads the attribute ${attribute}`);
  }
  for (const value of ['roll-by-size', 'restart', 'sec', 'hour']) assert.ok(literals.has(value), `WinSW 1.x knows the value ${value}`);
  // The control: an element only later WinSW versions read is not among these literals.
  assert.ok(!literals.has('prestart') && !literals.has('//prestart'), 'WinSW 1.x has no <prestart> (2.x+): the check can tell');
});

test('the build ships WinSW in dist/winsw/ for install.ps1 to copy', () => {
  assert.ok(existsSync(path.join(repoRoot, 'dist', 'winsw', 'winsw.exe')));
  assert.ok(existsSync(path.join(repoRoot, 'dist', 'winsw', 'winsw.exe.config')));
});

test('build:exe ships the exe with koffi, NSSM and WinSW beside it in dist-win/', { skip: existsSync(path.join(repoRoot, 'dist-win', 'appstream-creds.exe')) ? undefined : 'dist-win/ not built (npm run build:exe; the Windows lane builds it)' }, () => {
  for (const file of ['appstream-creds.exe', 'native/koffi-win32-x64.node', 'nssm/nssm.exe', 'winsw/winsw.exe']) assert.ok(existsSync(path.join(repoRoot, 'dist-win', file)), file);
  assert.equal(existsSync(path.join(repoRoot, 'dist-win', 'native', 'koffi-linux-x64.node')), false, 'only the Windows module');
});
