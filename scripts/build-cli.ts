// `npm run build:cli`: `kubectl-isolation`, the command line as one executable for this machine's
// platform (linux-amd64 here): a Node.js single executable application. esbuild bundles
// src/cli.ts (main.ts behind it) into one CommonJS file (client-node included, loaded only for exec plugins), Node
// makes a SEA blob of it (with V8's code cache), and postject injects the blob into a copy of the
// project's own Node.js 24 binary. No node_modules and no Node.js are needed where it runs.
//
//   node scripts/build-cli.ts [--outdir DIR]      (dist-cli/ by default)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const { outdir } = parseArgs({
  options: { outdir: { type: 'string', default: join(root, 'dist-cli') } },
}).values;
const CLI_NAME = 'kubectl-isolation';

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const bundle = join(outdir, `${CLI_NAME}.cjs`);
const started = performance.now();
await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  // What the executable is called decides its default command (src/flags.ts).
  define: { 'process.env.NIC_CLI_NAME': JSON.stringify(CLI_NAME) },
  logLevel: 'warning',
});
const config = join(outdir, 'sea-config.json');
const blob = join(outdir, 'sea-prep.blob');
await writeFile(
  config,
  JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }),
);
const node = join(root, 'node_modules', 'node', 'bin', 'node');
execFileSync(node, ['--experimental-sea-config', config], { stdio: 'inherit' });
const binary = join(outdir, CLI_NAME);
await copyFile(node, binary);
// The project's Node.js carries its debug symbols (18 MB of 127): strip them where binutils is here.
const stripped = spawnSync('strip', [binary], { stdio: 'ignore' }).status === 0;
execFileSync(
  join(root, 'node_modules', '.bin', 'postject'),
  [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
await rm(blob);
await rm(config);
const size = (await stat(binary)).size;
console.log(
  `${binary}: ${(size / 1e6).toFixed(0)} MB${stripped ? '' : ' (not stripped: no strip here)'}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
