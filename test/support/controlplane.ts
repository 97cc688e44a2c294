// Builds and runs the local control plane (test/controlplane: embedded etcd + kube-apiserver) for
// tests, the demo and the benchmark: start, stop, restart on the same data, compact etcd.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
const sourceDir = join(repoRoot, 'test', 'controlplane');
const cacheDir = join(repoRoot, '.cache');
const binary = join(cacheDir, 'bin', 'controlplane');
const stampFile = `${binary}.sha256`;

/** The Go toolchain is missing: says what to install instead of failing obscurely. */
export class MissingGoError extends Error {
  constructor() {
    super(
      'Go is not installed (no `go` on PATH). The local control plane is a Go program built from the Go module proxy: ' +
        'install Go 1.24 or newer (https://go.dev/dl, or `apt-get install golang`) and run this again.',
    );
    this.name = 'MissingGoError';
  }
}

async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(sourceDir)).filter(
    (f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum',
  );
  for (const f of files.sort()) {
    hash
      .update(f)
      .update('\0')
      .update(await readFile(join(sourceDir, f)));
  }
  return hash.digest('hex');
}

/**
 * Builds the control plane program if its sources changed since the last build, with GOMODCACHE
 * and GOCACHE under .cache/ so that the cold build (10-20 minutes) happens once per machine.
 */
export async function ensureBuilt(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  const want = await sourceHash();
  if (existsSync(binary) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')).trim() === want) {
    return binary;
  }
  if (spawnSync('go', ['version']).error) throw new MissingGoError();
  log('building the local control plane (kube-apiserver + etcd); the first build takes 10-20 minutes…');
  const started = Date.now();
  const env = {
    ...process.env,
    GOMODCACHE: join(cacheDir, 'gomod'),
    GOCACHE: join(cacheDir, 'gobuild'),
    CGO_ENABLED: '0',
    GOFLAGS: '-mod=readonly',
  };
  const build = spawn('go', ['build', '-trimpath', '-ldflags=-s', '-o', binary, '.'], {
    cwd: sourceDir,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((res, rej) => {
    build.on('error', rej);
    build.on('exit', res);
  });
  if (code !== 0)
    throw new Error(`building test/controlplane failed (go build exited ${code}); see its output above`);
  await writeFile(stampFile, `${want}\n`);
  log(`built ${binary} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}

export interface ControlPlaneOptions {
  /** Folder for etcd data, certificates and kubeconfigs; reuse it to keep the cluster's state. */
  dataDir: string;
  /** Extra token users: user name → groups. A kubeconfig is written for each. */
  users?: Record<string, string[]>;
  /** Extra kube-apiserver flags, e.g. `--watch-cache=false`. */
  apiserverArgs?: string[];
}

interface ReadyLine {
  ready: true;
  pid: number;
  server: string;
  kubeconfig: string;
  users: Record<string, string>;
  etcd: string;
  control: string;
  dataDir: string;
}

const running = new Set<ChildProcess>();
// Last resort for an interrupted run: the program also stops when its parent dies (--exit-with-parent).
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/** A running control plane. */
export class ControlPlane {
  private child: ChildProcess | undefined;
  private info: ReadyLine | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  readonly options: ControlPlaneOptions;

  private constructor(options: ControlPlaneOptions) {
    this.options = options;
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(options);
    await cp.launch();
    return cp;
  }

  private get ready(): ReadyLine {
    if (!this.info) throw new Error('the control plane is not running');
    return this.info;
  }
  /** Admin (system:masters) kubeconfig path. */
  get kubeconfig(): string {
    return this.ready.kubeconfig;
  }
  get server(): string {
    return this.ready.server;
  }
  get pid(): number {
    return this.ready.pid;
  }
  /** Kubeconfig path of an extra user given in options.users. */
  userKubeconfig(name: string): string {
    const path = this.ready.users[name];
    if (!path) throw new Error(`no control-plane user ${name}; pass it in options.users`);
    return path;
  }

  private async launch(): Promise<void> {
    const bin = await ensureBuilt();
    await mkdir(this.options.dataDir, { recursive: true });
    const args = ['--data-dir', this.options.dataDir, '--exit-with-parent'];
    for (const [name, groups] of Object.entries(this.options.users ?? {})) {
      args.push('--user', `${name}=${groups.join(',')}`);
    }
    for (const a of this.options.apiserverArgs ?? []) args.push('--apiserver-arg', a);

    const logPath = join(this.options.dataDir, 'controlplane.log');
    const log = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    this.child = child;
    const tail: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 30) tail.shift();
    });
    this.exited = new Promise((res) => {
      child.on('exit', (code, signal) => {
        running.delete(child);
        log.end();
        res(code ?? (signal ? 128 : null));
      });
    });
    const ready = new Promise<ReadyLine>((res) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('{"')) {
          const parsed = JSON.parse(line) as Partial<ReadyLine>;
          if (parsed.ready) res(parsed as ReadyLine);
        }
      });
    });
    const failed = this.exited.then((code) => {
      // Leave out klog info/warning lines and etcd's complaints about its own listeners closing.
      const noise = /^[IW]\d{4} |"msg":"setting up serving from embedded etcd failed/;
      const shown = tail.filter((l) => !noise.test(l)).slice(-12);
      throw new Error(
        `the control plane exited (code ${code}) before it was ready:\n${shown.join('\n')}\n(full log: ${logPath})`,
      );
    });
    this.info = await Promise.race([ready, failed]);
  }

  /** SIGTERM, and SIGKILL if it has not stopped within the timeout. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** Stops it and starts it again on the same data folder and address. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Compacts etcd at its current revision: any earlier resourceVersion now answers 410 Gone. */
  async compact(): Promise<number> {
    const res = await fetch(`${this.ready.control}/compact`, { method: 'POST' });
    if (!res.ok) throw new Error(`compacting etcd failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { revision: number }).revision;
  }
}
