// `npm run build`: the controller as one ES module, dist/main.js, still started by `node`, and
// client-node's lazily loaded chunk under dist/chunks/. Loading
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
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // @kubernetes/client-node is imported only for kubeconfigs with exec plugins or auth providers
  // (~84 MB once loaded): split into a chunk of its own that only that import loads. So the
  // image needs no node_modules at all.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // The CommonJS packages inside (pino, prom-client, undici) call require() for Node's modules.
  banner: {
    js: "import { createRequire as nicRequire } from 'node:module'; const require = nicRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
