// One self-contained file: runs with a plain `node` and no node_modules (installer ships it).
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

const outfile = 'dist/appstream-creds.cjs';
await build({
  entryPoints: ['src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
