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
    assert.match(text, /\[string\]\$NodePath = "\$env:ProgramFiles\\nodejs\\node\.exe"/);
    assert.match(text, /\[string\]\$InstallDir = "\$env:ProgramFiles\\AppStreamCredentialAgent"/);
    assert.match(text, /& \$NodePath \(Join-Path \$InstallDir 'dist\\appstream-creds\.cjs'\)/, 'runs the installed bundle with the given node');
  });
}

test('install.ps1 copies dist and calls `service install` with every parameter', () => {
  const text = readFileSync(path.join(repoRoot, 'installer', 'windows', 'install.ps1'), 'utf8');
  assert.match(text, /param\(\s*\[string\]\$NodePath[^)]*\[string\]\$InstallDir[^)]*\[switch\]\$SetMachineEnv[^)]*\[string\]\$TokenGroup\s*\)/);
  assert.match(text, /\$cliArgs = @\('service', 'install', '--prefix', \$InstallDir, '--node-path', \$NodePath\)/);
  assert.match(text, /if \(\$SetMachineEnv\) \{ \$cliArgs \+= '--set-machine-env' \}/);
  assert.match(text, /if \(\$TokenGroup\) \{ \$cliArgs \+= @\('--token-group', \$TokenGroup\) \}/);
  assert.match(text, /Copy-Item -Path \(Join-Path \$PSScriptRoot '\.\.\\\.\.\\dist'\) -Destination \$InstallDir -Recurse -Force/);
  assert.match(text, /@cliArgs\nexit \$LASTEXITCODE/);
  const uninstall = readFileSync(path.join(repoRoot, 'installer', 'windows', 'uninstall.ps1'), 'utf8');
  assert.match(uninstall, /service uninstall --prefix \$InstallDir/);
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
