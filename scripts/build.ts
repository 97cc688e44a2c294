// `npm run build`: the controller as one ES module, dist/main.js, still started by `node`. Loading
// one file instead of ~120 modules halves the time to start (see docs/performance.md). The
// type check is `npm run typecheck`; this only strips types and bundles.
//
//   node scripts/build.ts [--outdir DIR]
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const { outdir } = parseArgs({ options: { outdir: { type: 'string', default: join(root, 'dist') } } }).values;

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'main.ts')],
  outfile: join(outdir, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // Loaded only for kubeconfigs with exec plugins or auth providers, and ~84 MB once loaded: left
  // out of the bundle, imported from node_modules when needed.
  external: ['@kubernetes/client-node'],
  // The CommonJS packages inside (pino, prom-client, undici) call require() for Node's modules.
  banner: {
    js: "import { createRequire as nicRequire } from 'node:module'; const require = nicRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
