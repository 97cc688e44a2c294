// `npm run build:cli`: `kubectl-isolation`, the command line as one executable for this machine's
// platform (linux-amd64 here): a Node.js single executable application. esbuild bundles
// src/cli.ts (main.ts behind it) into one CommonJS file (client-node included, loaded only for exec plugins), Node
// makes a SEA blob of it (with V8's code cache), and postject injects the blob into a copy of the
// project's own Node.js 24 binary. No node_modules and no Node.js are needed where it runs. Beside
// it: the release archive (the executable and LICENSE) and krew's Plugin manifest with its sha256.
//
//   node scripts/build-cli.ts [--outdir DIR]      (dist-cli/ by default)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
const { outdir } = parseArgs({
  options: { outdir: { type: 'string', default: join(root, 'dist-cli') } },
}).values;
const CLI_NAME = 'kubectl-isolation';
const COMPLETER = 'kubectl_complete-isolation';

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
await Promise.all([blob, config, bundle].map((f) => rm(f)));
// What a release publishes, and krew installs from: the archive and the plugin's manifest.
const platform = `${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
const archive = join(outdir, `${CLI_NAME}-${platform}.tar.gz`);
await copyFile(join(root, 'LICENSE'), join(outdir, 'LICENSE'));
// kubectl (1.26+) completes a plugin's arguments by running kubectl_complete-<plugin> from PATH.
await writeFile(join(outdir, COMPLETER), `#!/bin/sh\nexec ${CLI_NAME} __complete "$@"\n`, { mode: 0o755 });
execFileSync('tar', ['-czf', archive, '-C', outdir, CLI_NAME, COMPLETER, 'LICENSE']);
const sha256 = createHash('sha256')
  .update(await readFile(archive))
  .digest('hex');
await writeFile(join(outdir, 'isolation.yaml'), krewManifest(platform, sha256));
const size = (await stat(binary)).size;

/** The krew Plugin manifest for this version, for the one platform built here. */
function krewManifest(platform: string, sha256: string): string {
  const [os, arch] = platform.split('-');
  const repo = 'https://github.com/namespace-isolation-controller/namespace-isolation-controller';
  return `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: isolation
spec:
  version: v${pkg.version}
  homepage: ${repo}
  shortDescription: Namespace network isolation verdicts, checks and probes
  description: |
    The command line of namespace-isolation-controller: check the isolation verdict of every
    namespace (check --all), of manifests before merge (check -f), whether the dataplane enforces
    NetworkPolicies (check --probe), and render what the controller applies.
  platforms:
    - selector:
        matchLabels: { os: ${os}, arch: ${arch} }
      uri: ${repo}/releases/download/v${pkg.version}/${CLI_NAME}-${platform}.tar.gz
      sha256: ${sha256}
      bin: ${CLI_NAME}
      files:
        - { from: ${CLI_NAME}, to: . }
        - { from: ${COMPLETER}, to: . }
        - { from: LICENSE, to: . }
`;
}
console.log(
  `${binary}: ${(size / 1e6).toFixed(0)} MB${stripped ? '' : ' (not stripped: no strip here)'}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
