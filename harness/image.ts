// Builds the controller's image from the Dockerfile: with Docker where one answers, otherwise with
// podman (and runc) on a base made from Debian's packages, because no registry can be reached
// here. The base's tarball is kept under the git-ignored .cache/image, so a warm build only
// rebuilds the layers whose inputs changed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IMAGE, VERSION } from '../src/version.ts';
import { locksDir, MissingPrerequisiteError, repoRoot } from './gobuild.ts';
import { withLock } from './lock.ts';

const cacheDir = join(repoRoot, '.cache', 'image');
const DEBIAN_BASE = 'localhost/debian:bookworm-minbase';
const NODE_BASE = 'localhost/node:24-bookworm-local';
const HOST_CA = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';

export { IMAGE };

export interface Engine {
  name: 'docker' | 'podman';
  /** argv[0] and the arguments every call needs. */
  command: [string, ...string[]];
  env: NodeJS.ProcessEnv;
}

/** Docker if its daemon answers; otherwise podman with runc, set up as docs/development.md says. */
export async function containerEngine(): Promise<Engine> {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0) {
    return { name: 'docker', command: ['docker'], env: process.env };
  }
  if (spawnSync('podman', ['--version'], { stdio: 'ignore' }).error) {
    throw new MissingPrerequisiteError(
      'neither Docker nor podman is installed: install one (Debian: apt-get install podman runc mmdebstrap) and run this again',
    );
  }
  // crun cannot set rlimits here, and runc only without podman's default ulimits.
  const conf = join(cacheDir, 'containers.conf');
  await mkdir(cacheDir, { recursive: true });
  await writeFile(conf, '[containers]\ndefault_ulimits = []\n');
  const runtime = existsSync('/usr/sbin/runc') ? ['--runtime', '/usr/sbin/runc'] : [];
  return { name: 'podman', command: ['podman', ...runtime], env: { ...process.env, CONTAINERS_CONF: conf } };
}

/** Runs the engine; rejects with its output's tail when it fails. */
export async function engineRun(
  engine: Engine,
  args: string[],
  options: { log?: (line: string) => void } = {},
): Promise<string> {
  const [bin, ...pre] = engine.command;
  const child = spawn(bin, [...pre, ...args], { cwd: repoRoot, env: engine.env });
  let out = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    if (options.log) for (const line of text.split('\n')) if (line.trim()) options.log(line);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('exit', res);
  });
  if (code !== 0) {
    throw new Error(`${bin} ${args.slice(0, 2).join(' ')} exited ${code}:\n${out.slice(-3000)}`);
  }
  return out;
}

function imageExists(engine: Engine, name: string): boolean {
  const [bin, ...pre] = engine.command;
  return (
    spawnSync(bin, [...pre, 'image', 'inspect', name], { stdio: 'ignore', env: engine.env }).status === 0
  );
}

/**
 * The equivalent of node:24-bookworm-slim, offline: Debian bookworm's minbase with CA certificates
 * (mmdebstrap, from Debian's packages), Node.js 24 from the npm `node` package, and this machine's npm.
 */
async function nodeBase(engine: Engine, log: (line: string) => void): Promise<string> {
  const node = join(repoRoot, 'node_modules', 'node', 'bin', 'node');
  // npm's own folder: npm-cli.js is in its bin/.
  const npmCli = process.env.npm_execpath ?? spawnSync('which', ['npm'], { encoding: 'utf8' }).stdout.trim();
  const npm = dirname(dirname(await realpath(npmCli)));
  if (!existsSync(node)) throw new Error(`${node} is missing: run npm ci first`);
  if (!existsSync(join(npm, 'package.json'))) throw new Error(`npm was not found at ${npm}`);
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const npmVersion = (JSON.parse(await readFile(join(npm, 'package.json'), 'utf8')) as { version: string })
    .version;
  const ca = createHash('sha256')
    .update(await readFile(HOST_CA))
    .digest('hex')
    .slice(0, 8);
  const tag = `${NODE_BASE}-${nodeVersion}-npm${npmVersion}-ca${ca}`;
  if (imageExists(engine, tag)) return tag;

  const tarball = join(cacheDir, 'bookworm-minbase.tar');
  if (!existsSync(tarball)) {
    if (spawnSync('mmdebstrap', ['--version'], { stdio: 'ignore' }).error) {
      throw new MissingPrerequisiteError(
        'mmdebstrap is not installed: apt-get install mmdebstrap (it makes the offline base)',
      );
    }
    log(`making ${tarball} from Debian's packages (about 20 s)…`);
    // mmdebstrap picks the format from the name: a .tar, written aside and renamed when whole.
    const part = join(cacheDir, 'bookworm-minbase.part.tar');
    const made = spawnSync(
      'mmdebstrap',
      ['--variant=minbase', '--include=ca-certificates', 'bookworm', part],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (made.status !== 0) throw new Error(`mmdebstrap exited ${made.status}`);
    await rename(part, tarball);
  }
  if (!imageExists(engine, DEBIAN_BASE)) {
    await engineRun(engine, ['import', tarball, DEBIAN_BASE]);
  }
  const context = await mkdtemp(join(cacheDir, 'node-base-'));
  try {
    await copyFile(node, join(context, 'node'));
    // This machine's trust store, for npm in the build stages (egress may pass a TLS-inspecting
    // proxy whose CA only the machine knows). The final image takes Debian's bundle, not this one.
    await copyFile(HOST_CA, join(context, 'build-ca.crt'));
    await cp(npm, join(context, 'npm'), { recursive: true, verbatimSymlinks: true });
    await writeFile(
      join(context, 'Containerfile'),
      [
        `FROM ${DEBIAN_BASE}`,
        'COPY node /usr/local/bin/node',
        'COPY npm /usr/local/lib/node_modules/npm',
        'COPY build-ca.crt /usr/local/share/build-ca.crt',
        'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/build-ca.crt',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
        '',
      ].join('\n'),
    );
    log(`building ${tag}…`);
    await engineRun(engine, ['build', '--network=host', '-t', tag, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

/** Everything the Dockerfile's build reads: a change to any of these means a new image. */
const IMAGE_INPUTS = [
  'Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'scripts/build.ts',
  'config/controller.yaml',
  'src',
];

/** One hash of files and folders (recursively, tests left out): a build's inputs. */
export async function inputsHash(paths: string[]): Promise<string> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(join(repoRoot, path), { withFileTypes: true }).catch(() => undefined);
    if (!entries) {
      files.push(path);
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(path, entry.name));
      else if (!entry.name.endsWith('.test.ts')) files.push(join(path, entry.name));
    }
  };
  for (const path of paths) await walk(path);
  const hash = createHash('sha256');
  for (const f of files.sort())
    hash
      .update(f)
      .update('\0')
      .update(await readFile(join(repoRoot, f)));
  return hash.digest('hex');
}

/**
 * Builds IMAGE unless the image on this machine was built from the same inputs; returns the
 * engine and the image. `force` builds regardless (the engine's layer cache still applies).
 */
export async function ensureImage(
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<{ engine: Engine; image: string; built: boolean }> {
  const log = options.log ?? ((l) => process.stderr.write(`${l}\n`));
  const engine = await containerEngine();
  const want = await inputsHash(IMAGE_INPUTS);
  const stamp = join(cacheDir, `${engine.name}.sha256`);
  const current = async () =>
    existsSync(stamp) && (await readFile(stamp, 'utf8')).trim() === want && imageExists(engine, IMAGE);
  if (!options.force && (await current())) return { engine, image: IMAGE, built: false };
  return withLock(
    locksDir,
    'image',
    async () => {
      if (!options.force && (await current())) return { engine, image: IMAGE, built: false };
      const buildArgs = ['--build-arg', `VERSION=${VERSION}`];
      if (engine.name === 'podman')
        buildArgs.push('--build-arg', `NODE_IMAGE=${await nodeBase(engine, log)}`);
      log(`building ${IMAGE} with ${engine.name}…`);
      // The build's own output is shown only when it fails (engineRun's error carries its tail).
      await engineRun(engine, [
        'build',
        '--network=host',
        ...buildArgs,
        '-t',
        IMAGE,
        '-f',
        'Dockerfile',
        '.',
      ]);
      await writeFile(stamp, `${want}\n`);
      return { engine, image: IMAGE, built: true };
    },
    log,
  );
}

/** The image's size in bytes, as the engine reports it. */
export async function imageSize(engine: Engine, image: string): Promise<number> {
  return Number((await engineRun(engine, ['image', 'inspect', '--format', '{{.Size}}', image])).trim());
}
