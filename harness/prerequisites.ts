// What the tests need, provided once before the first test runs (`npm test`'s pretest step, and the
// global setup of the projects that need them): a container engine, the Go-built tools, the bundle
// and the image. Each is built or installed only when missing or stale, under a lock, so that
// concurrent runs never do the same work twice and no test's timeout ever covers a build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import {
  CONTROL_PLANE,
  ensureGoBinary,
  type GoProgram,
  HELM,
  KREW,
  KUBECTL,
  KUSTOMIZE,
  locksDir,
  MissingPrerequisiteError,
  NODE_PROGRAMS,
  repoRoot,
} from './gobuild.ts';
import { ensureImage, inputsHash } from './image.ts';
import { withLock } from './lock.ts';

export { MissingPrerequisiteError } from './gobuild.ts';

type Log = (line: string) => void;

/** Whether `command` is on PATH (or in the sbin folders, where runc lives, that a user's PATH may lack). */
export function onPath(command: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => dir && existsSync(join(dir, command)));
}

/** Runs a command to its end; its output is kept for the error, not shown. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('exit', res);
  });
  return { code, output };
}

/**
 * Makes sure each command is on PATH (or each absolute path exists), installing its Debian package
 * with apt-get where it is not;
 * where that cannot be done here (not root, no apt-get), says what to run instead.
 */
export async function ensureCommands(
  packageOf: Record<string, string>,
  why: string,
  log: Log,
): Promise<void> {
  const missing = () =>
    Object.keys(packageOf).filter((c) => (c.startsWith('/') ? !existsSync(c) : !onPath(c)));
  const packages = () => [...new Set(missing().map((c) => packageOf[c]!))];
  if (missing().length === 0) return;
  const fix = `apt-get install -y ${packages().join(' ')}`;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new MissingPrerequisiteError(
      `${missing().join(', ')} missing (${why}), and this is ${process.getuid?.() !== 0 ? 'not root' : 'not a machine with apt-get'}: run \`sudo ${fix}\` (or your system's equivalent), then run this again`,
    );
  }
  await withLock(
    locksDir,
    'apt',
    async () => {
      const still = packages();
      if (still.length === 0) return;
      log(`installing ${still.join(', ')} with apt-get (${why})…`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      for (const args of [
        ['update', '-qq'],
        ['install', '-y', '-qq', ...still],
      ]) {
        const { code, output } = await run('apt-get', args, env);
        if (code !== 0) {
          throw new MissingPrerequisiteError(
            `apt-get ${args[0]} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}; run \`${fix}\` by hand`,
          );
        }
      }
    },
    log,
  );
}

/** Docker where its daemon answers; otherwise podman with runc and mmdebstrap, installed if missing. */
async function containerEngine(log: Log): Promise<void> {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0) return;
  await ensureCommands(
    { podman: 'podman', runc: 'runc', mmdebstrap: 'mmdebstrap' },
    'no Docker daemon answers; the image is built with podman',
    log,
  );
}

/** A product of one of scripts/, rebuilt when its inputs changed, its stamp under .cache/. */
interface Built {
  name: string;
  inputs: string[];
  script: string;
  /** The folder the script writes (replaced whole), and the file that says it is there. */
  outdir: string;
  product: string;
  /** The script's arguments besides --outdir. */
  args?: string[];
}

/** dist/, as `npm run build` makes it (the benchmark and the image run it). */
const BUNDLE: Built = {
  name: 'bundle',
  inputs: ['src', 'scripts/build.ts', 'package-lock.json'],
  script: 'scripts/build.ts',
  outdir: join(repoRoot, 'dist'),
  product: 'main.js',
};

/**
 * The single executable `kubectl-isolation`, as `npm run build:cli` makes it, for the tests: for
 * this machine and, cross-built, for linux-arm64, which the tests run under qemu.
 */
const CLI: Built = {
  name: 'kubectl-isolation',
  inputs: ['src', 'scripts/build-cli.ts', 'package-lock.json', 'LICENSE'],
  script: 'scripts/build-cli.ts',
  outdir: join(repoRoot, '.cache', 'cli'),
  product: 'kubectl-isolation',
  args: ['--platform', 'linux-amd64', '--platform', 'linux-arm64'],
};

/** Where the arm64 C libraries are for qemu-aarch64 (`-L`): Debian's cross packages. */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** What runs the linux-arm64 executable here: user-mode qemu, and strip for its build. */
const ARM64: Prerequisite = {
  name: 'arm64 emulation',
  ensure: (log: Log) =>
    ensureCommands(
      {
        'qemu-aarch64': 'qemu-user',
        'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
        [`${ARM64_SYSROOT}/lib/libc.so.6`]: 'libc6-arm64-cross',
        [`${ARM64_SYSROOT}/lib/libstdc++.so.6`]: 'libstdc++6-arm64-cross',
      },
      'the tests run the linux-arm64 kubectl-isolation under qemu',
      log,
    ),
};

export const ensureBundle = (log: Log) => ensureBuilt(BUNDLE, log);
/** The path of kubectl-isolation, built if it is not yet. */
export const ensureCli = (log: Log = () => undefined) => ensureBuilt(CLI, log);

async function ensureBuilt(b: Built, log: Log): Promise<string> {
  const want = await inputsHash(b.inputs);
  const stamp = join(repoRoot, '.cache', `${b.name}.sha256`);
  const product = join(b.outdir, b.product);
  const current = async () =>
    existsSync(product) && (await readFile(stamp, 'utf8').catch(() => '')).trim() === want;
  if (await current()) return product;
  await withLock(
    locksDir,
    b.name,
    async () => {
      if (await current()) return;
      const partial = join(repoRoot, '.cache', `${b.name}.${process.pid}.part`);
      const node = join(repoRoot, 'node_modules', '.bin', 'node');
      const { code, output } = await run(node, [
        join(repoRoot, b.script),
        '--outdir',
        partial,
        ...(b.args ?? []),
      ]);
      if (code !== 0) throw new Error(`node ${b.script} failed (exit ${code}):\n${output}`);
      await rm(b.outdir, { recursive: true, force: true });
      await rename(partial, b.outdir);
      await writeFile(stamp, `${want}\n`);
    },
    log,
  );
  return product;
}

export interface Prerequisite {
  name: string;
  ensure(log: Log): Promise<unknown>;
}

const goProgram = (program: GoProgram): Prerequisite => ({
  name: program.name,
  ensure: (log: Log) => ensureGoBinary(program, log),
});

const engine: Prerequisite = { name: 'container engine', ensure: containerEngine };
const image: Prerequisite = { name: 'image', ensure: (log: Log) => ensureImage({ log }) };

/** The test node's parts (harness/node.ts), past the control plane: kube-router's firewall shells out to ipset. */
const NODE_PARTS: Prerequisite[] = [
  {
    name: 'node tools',
    ensure: (log: Log) =>
      ensureCommands(
        { ipset: 'ipset', ip: 'iproute2', nsenter: 'util-linux', iptables: 'iptables', tar: 'tar' },
        'the test node',
        log,
      ),
  },
  ...Object.values(NODE_PROGRAMS).map(goProgram),
];

/** Everything `npm test` needs, in the order it is provided. */
export const TEST_PREREQUISITES: Prerequisite[] = [
  engine,
  ...[CONTROL_PLANE, KUBECTL, KUSTOMIZE, HELM, KREW].map(goProgram),
  { name: 'bundle', ensure: ensureBundle },
  ARM64,
  { name: CLI.name, ensure: ensureCli },
  image,
  ...NODE_PARTS,
];

/** What a real node needs (the demo's, and `npm run cluster -- --node`'s): its probe Pods run the image. */
export const NODE_PREREQUISITES: Prerequisite[] = [
  engine,
  goProgram(CONTROL_PLANE),
  goProgram(KUBECTL),
  image,
  ...NODE_PARTS,
];

/** Provides each prerequisite in turn, with a line per prerequisite and its time. */
export async function ensurePrerequisites(
  list: Prerequisite[] = TEST_PREREQUISITES,
  log: Log = (line) => process.stderr.write(`prerequisites: ${line}\n`),
): Promise<void> {
  for (const p of list) {
    const started = performance.now();
    await p.ensure(log);
    log(`${p.name} ready (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
