// Builds the Go programs the tests use (the control plane, kustomize) from the Go module proxy,
// only when their module's sources change, with GOMODCACHE and GOCACHE under the git-ignored
// .cache/ so that a cold build happens once per machine.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { withLock } from './lock.ts';

export const repoRoot = resolve(import.meta.dirname, '..');
const cacheDir = join(repoRoot, '.cache');
/** Where builds of this machine's runs take turns (harness/lock.ts). */
export const locksDir = join(cacheDir, 'locks');

/** A prerequisite of the tests is missing and cannot be provided here: the message says what to do. */
export class MissingPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingPrerequisiteError';
  }
}

/** The Go toolchain is missing: says what to install instead of failing obscurely. */
export class MissingGoError extends MissingPrerequisiteError {
  constructor() {
    super(
      'go missing (no `go` on PATH): the local control plane and the tools are built from the Go module proxy; ' +
        'install Go 1.24 or newer (https://go.dev/dl, or `apt-get install golang`) and run this again.',
    );
    this.name = 'MissingGoError';
  }
}

async function sourceHash(moduleDir: string, pkg: string, flags: string): Promise<string> {
  const hash = createHash('sha256').update(pkg).update('\0').update(flags).update('\0');
  const files = (await readdir(moduleDir)).filter(
    (f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum',
  );
  for (const f of files.sort()) {
    hash
      .update(f)
      .update('\0')
      .update(await readFile(join(moduleDir, f)));
  }
  return hash.digest('hex');
}

export interface GoProgram {
  /** The binary's path under .cache/bin (a folder of its own where the name must be exact, as CNI's). */
  name: string;
  /** The Go module to build in, relative to the repository. */
  module: string;
  /** The package to build: `.` or a tool's import path. */
  pkg: string;
  /** What a cold build costs, for the message shown while it runs. */
  coldBuild: string;
  /** Linker flags beyond -s, from the module's go.mod (e.g. a version to stamp). */
  ldflags?: (goMod: string) => string[];
  /** Build tags. */
  tags?: string[];
}

/** Builds `program` if its module changed since the last build; returns the binary's path. */
export async function ensureGoBinary(
  program: GoProgram,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const moduleDir = join(repoRoot, program.module);
  const binary = join(cacheDir, 'bin', program.name);
  const stampFile = `${binary}.sha256`;
  const ldflags = [
    '-s',
    ...(program.ldflags?.(await readFile(join(moduleDir, 'go.mod'), 'utf8')) ?? []),
  ].join(' ');
  const tags = program.tags?.length ? [`-tags=${program.tags.join(',')}`] : [];
  const want = await sourceHash(moduleDir, program.pkg, [ldflags, ...tags].join(' '));
  const current = async () =>
    existsSync(binary) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')).trim() === want;
  if (await current()) return binary;
  if (spawnSync('go', ['version']).error) throw new MissingGoError();
  // One build per machine at a time; a run that waited finds it built.
  return withLock(
    locksDir,
    program.name,
    async () => {
      if (await current()) return binary;
      log(`building ${program.name}; a cold build takes ${program.coldBuild}…`);
      const started = Date.now();
      const partial = `${binary}.${process.pid}.part`;
      await mkdir(dirname(binary), { recursive: true });
      const args = ['build', '-trimpath', ...tags, `-ldflags=${ldflags}`, '-o', partial, program.pkg];
      const build = spawn('go', args, {
        cwd: moduleDir,
        env: {
          ...process.env,
          GOMODCACHE: join(cacheDir, 'gomod'),
          GOCACHE: join(cacheDir, 'gobuild'),
          CGO_ENABLED: '0',
          GOFLAGS: '-mod=readonly',
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const code = await new Promise<number | null>((res, rej) => {
        build.on('error', rej);
        build.on('exit', res);
      });
      if (code !== 0) {
        await rm(partial, { force: true });
        throw new Error(`building ${program.module} failed (go build exited ${code}); see its output above`);
      }
      await rename(partial, binary);
      await writeFile(stampFile, `${want}\n`);
      log(`built ${binary} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return binary;
    },
    log,
  );
}

/** So that /version (and `kubectl version`) names the Kubernetes release the module pins. */
function kubernetesVersion(goMod: string): string[] {
  const version = /^\s*k8s\.io\/kubernetes (v(\d+)\.(\d+)\.\d+)\s*$/m.exec(goMod);
  if (!version) throw new Error('test/controlplane/go.mod requires no k8s.io/kubernetes version');
  const v = 'k8s.io/component-base/version';
  return [
    `-X ${v}.gitVersion=${version[1]}`,
    `-X ${v}.gitMajor=${version[2]}`,
    `-X ${v}.gitMinor=${version[3]}`,
  ];
}

export const CONTROL_PLANE: GoProgram = {
  name: 'controlplane',
  module: 'test/controlplane',
  pkg: '.',
  coldBuild: '3 to 20 minutes (kube-apiserver and etcd)',
  ldflags: kubernetesVersion,
};

/** The real kubectl, at the control plane's release (a `tool` of its module), as GitOps tools drive it. */
export const KUBECTL: GoProgram = {
  name: 'kubectl',
  module: 'test/controlplane',
  pkg: 'k8s.io/kubernetes/cmd/kubectl',
  coldBuild: 'about a minute after the control plane',
  ldflags: kubernetesVersion,
};

export const KUSTOMIZE: GoProgram = {
  name: 'kustomize',
  module: 'test/tools',
  pkg: 'sigs.k8s.io/kustomize/kustomize/v5',
  coldBuild: 'about a minute',
};

/** Real Helm, to render, lint and install the chart; stamped with the version its go.mod pins. */
export const HELM: GoProgram = {
  name: 'helm',
  module: 'test/helm',
  pkg: 'helm.sh/helm/v4/cmd/helm',
  coldBuild: 'about two minutes',
  ldflags: (goMod) => {
    const version = /^\s*helm\.sh\/helm\/v4 (v[\d.]+)/m.exec(goMod);
    if (!version) throw new Error('test/helm/go.mod requires no helm.sh/helm/v4 version');
    return [`-X helm.sh/helm/v4/internal/version.version=${version[1]}`];
  },
};

/** The real krew, to install kubectl-isolation from its manifest and archive as a user would. */
export const KREW: GoProgram = {
  name: 'krew',
  module: 'test/krew',
  pkg: 'sigs.k8s.io/krew/cmd/krew',
  coldBuild: 'about 20 seconds',
};

// ---- the test node (harness/node.ts): ../shared/NODE.md says what was found to work ----

/** A tool of the control plane's module, at its release: the kubelet and kube-proxy. */
const kubernetesTool = (name: string, coldBuild: string): GoProgram => ({
  name,
  module: 'test/controlplane',
  pkg: `k8s.io/kubernetes/cmd/${name}`,
  coldBuild,
  ldflags: kubernetesVersion,
});

const containerd = (name: string): GoProgram => ({
  name,
  module: 'test/node/containerd',
  pkg: `github.com/containerd/containerd/v2/cmd/${name}`,
  coldBuild: 'about three minutes',
  tags: ['no_btrfs'],
});

/** Under .cache/bin/cni/, by the names the CNI configuration calls them. */
const cni = (kind: string, name: string): GoProgram => ({
  name: `cni/${name}`,
  module: 'test/node/cni',
  pkg: `github.com/containernetworking/plugins/plugins/${kind}/${name}`,
  coldBuild: 'about 20 s',
});

export const NODE_PROGRAMS = {
  kubelet: kubernetesTool('kubelet', 'about a minute after the control plane'),
  kubeProxy: kubernetesTool('kube-proxy', 'about half a minute after the kubelet'),
  containerd: containerd('containerd'),
  shim: containerd('containerd-shim-runc-v2'),
  ctr: containerd('ctr'),
  bridge: cni('main', 'bridge'),
  hostLocal: cni('ipam', 'host-local'),
  loopback: cni('main', 'loopback'),
  portmap: cni('meta', 'portmap'),
  kubeRouter: {
    name: 'kube-router',
    module: 'test/node/kube-router',
    pkg: 'github.com/cloudnativelabs/kube-router/v2/cmd/kube-router',
    coldBuild: 'about three minutes',
  },
  coredns: {
    name: 'coredns',
    module: 'test/node/coredns',
    pkg: 'github.com/coredns/coredns',
    coldBuild: 'about three minutes',
  },
  pause: { name: 'pause', module: 'test/node/pause', pkg: '.', coldBuild: 'seconds' },
} satisfies Record<string, GoProgram>;
