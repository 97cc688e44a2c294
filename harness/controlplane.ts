// Builds and runs the local control plane (test/controlplane: embedded etcd, kube-apiserver and
// kube-controller-manager) for
// tests, the demo and the benchmark: start, stop, restart on the same data, compact etcd.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CONTROL_PLANE, ensureGoBinary } from './gobuild.ts';

export { MissingGoError, repoRoot } from './gobuild.ts';

/** Builds the control plane program if its sources changed; returns its path. */
export const ensureBuilt = () => ensureGoBinary(CONTROL_PLANE);

export interface ControlPlaneOptions {
  /** Folder for etcd data, certificates and kubeconfigs; reuse it to keep the cluster's state. */
  dataDir: string;
  /** Where controlplane.log goes (the data folder when absent). */
  logDir?: string;
  /** Extra token users: user name → groups. A kubeconfig is written for each. */
  users?: Record<string, string[]>;
  /** Extra kube-apiserver flags, e.g. `--watch-cache=false`. */
  apiserverArgs?: string[];
  /** kube-controller-manager's controllers; '' runs none. The program's default list when absent. */
  controllers?: string;
  /**
   * For a cluster with a node (harness/node.ts): run inside the node's network namespace (the argv
   * prefix that enters it), with this advertise address, kube-scheduler, ServiceAccount tokens for
   * Pods, and the API server offered at a unix socket for the world outside the namespace.
   */
  node?: { enter: string[]; advertiseAddress: string; unixSocket: string };
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
    if (this.options.controllers !== undefined) args.push(`--controllers=${this.options.controllers}`);
    const { node } = this.options;
    if (node) {
      args.push(
        `--advertise-address=${node.advertiseAddress}`,
        // kubeadm's port: the shipped NetworkPolicy allows egress to the API server on 443 and 6443.
        '--secure-port=6443',
        '--scheduler',
        '--service-account-admission',
        `--unix-socket=${node.unixSocket}`,
      );
    }

    const logPath = join(this.options.logDir ?? this.options.dataDir, 'controlplane.log');
    const log = createWriteStream(logPath, { flags: 'a' });
    const [command, ...rest] = [...(node?.enter ?? []), bin, ...args];
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
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

  /** Stops it and starts it again on the same data folder and address, after `downMs` away. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.launch();
  }

  /** Compacts etcd at its current revision: any earlier resourceVersion now answers 410 Gone. */
  async compact(): Promise<number> {
    const res = await fetch(`${this.ready.control}/compact`, { method: 'POST' });
    if (!res.ok) throw new Error(`compacting etcd failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { revision: number }).revision;
  }
}
