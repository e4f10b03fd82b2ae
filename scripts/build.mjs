// Builds dist/: the CLI bundle plus one bundle per heavy dependency. Everything runs with a
// plain `node` and no node_modules (the installer ships dist/ as is). The heavy packages are
// only loaded when a command needs them, so `credential-process` starts close to `node -e 0`.
import { build } from 'esbuild';
import { chmod, rm } from 'node:fs/promises';

const LAZY = ['@aws-sdk/client-sts', 'systeminformation', 'pino', 'pino-roll', 'pino-pretty', 'prom-client', 'xml-crypto', '@xmldom/xmldom'];
const vendorFile = (name) => `vendor/${name.replace(/^@/, '').replace(/\//g, '-')}.cjs`;

const common = { supported: { 'dynamic-import': false }, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, legalComments: 'none', logLevel: 'warning' };

const lazyVendor = {
  name: 'lazy-vendor',
  setup(b) {
    const filter = new RegExp(`^(${LAZY.map((n) => n.replace(/[/]/g, '\\/')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: `./${vendorFile(args.path)}`, external: true }));
  },
};

await rm('dist', { recursive: true, force: true });
const outfile = 'dist/appstream-creds.cjs';
await build({ ...common, entryPoints: ['src/main.ts'], outfile, banner: { js: '#!/usr/bin/env node' }, plugins: [lazyVendor] });
await chmod(outfile, 0o755);
await Promise.all(
  LAZY.map((name) => build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.' }, outfile: `dist/${vendorFile(name)}` })),
);
