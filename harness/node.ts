// A real node beside a local control plane, for the tests that send packets: kubelet, containerd
// and runc, CNI's bridge, kube-proxy, kube-scheduler, CoreDNS, and kube-router's NetworkPolicy
// firewall, all built from the Go module proxy or Debian's packages, images built here. The node,
// its control plane and its Pods live in a network namespace of their own; the world outside
// reaches the API server through a unix socket, relayed to a port on 127.0.0.1. ../shared/NODE.md
// has the traps of this machine kind and the settings that got past them; docs/dataplane.md the
// layout.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerArchive } from './archive.ts';
import { Daemon } from './daemon.ts';
import { ControlPlane } from './controlplane.ts';
import { MissingPrerequisiteError, NODE_PROGRAMS, repoRoot } from './gobuild.ts';
import { kubectl } from './kubectl.ts';
import {
  DATA_ROOT,
  inNetns,
  leftovers,
  makeCgroups,
  pidsInNetns,
  NODE_PREFIX,
  netnsPath,
  removeNode,
  RUN_ROOT,
  sh,
  CGROUP_ROOT,
} from './hostns.ts';
import { engineRun, ensureImage } from './image.ts';
import { ensurePrerequisites, NODE_PREREQUISITES, onPath } from './prerequisites.ts';
import { eventually } from './wait.ts';
import {
  cniConfig,
  COREDNS_IMAGE,
  containerdConfig,
  KERNEL_SETTINGS,
  kubeletConfig,
  kubeProxyConfig,
  NODE,
  PAUSE_IMAGE,
} from './node-config.ts';

export { NODE } from './node-config.ts';
import { coreDnsObjects } from './node-objects.ts';
import { type Relay, relay } from './relay.ts';

/** The kube-controller-manager controllers a cluster with a node needs, beyond the tests' usual ones. */
const CONTROLLERS = [
  'namespace-controller',
  'garbage-collector-controller',
  'deployment-controller',
  'replicaset-controller',
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'endpointslice-controller',
  'node-lifecycle-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
  'validatingadmissionpolicy-status-controller',
  'clusterrole-aggregation-controller',
  // A ResourceQuota holds only once this has counted what it limits (the probe's quota refusal).
  'resourcequota-controller',
].join(',');

const NODE_USER = `system:node:${NODE.name}`;
const KUBE_ROUTER_HEALTH_PORT = 20244;
const PROXY_USER = 'system:kube-proxy';

export interface NodeLog {
  (line: string): void;
}

/** What must be on this machine for a node; a line naming what is missing and the fix otherwise. */
function checkMachine(): void {
  if (process.getuid?.() !== 0) {
    throw new MissingPrerequisiteError(
      'the test node needs root (network namespaces, cgroups, mounts): run the dataplane tests as root',
    );
  }
  for (const [what, path] of [
    ['cgroup v1 hierarchies', join(CGROUP_ROOT, 'pids')],
    ['br_netfilter (bridged traffic through iptables)', '/proc/sys/net/bridge/bridge-nf-call-iptables'],
  ] as const) {
    if (!existsSync(path))
      throw new MissingPrerequisiteError(`the test node needs ${what}: ${path} is missing on this kernel`);
  }
  const missing = ['ip', 'nsenter', 'unshare', 'iptables', 'ipset', 'tar'].filter((c) => !onPath(c));
  if (missing.length > 0)
    throw new MissingPrerequisiteError(
      `the test node needs ${missing.join(', ')}: apt-get install -y iproute2 util-linux iptables ipset tar`,
    );
  if (!existsSync('/usr/sbin/runc'))
    throw new MissingPrerequisiteError('the test node needs runc: apt-get install -y runc');
}

export class LocalNode {
  /** Admin kubeconfig for this machine's processes (through the unix socket relay on 127.0.0.1). */
  kubeconfig = '';
  private readonly users = new Map<string, string>();
  private controlPlane: ControlPlane | undefined;
  private relay: Relay | undefined;
  private readonly daemons = new Map<string, Daemon>();
  private containerdPid = 0;

  /** The network namespace, cgroups and folders carry it: nic-node-<pid>. */
  readonly id: string;
  readonly dir: string;
  readonly runDir: string;
  /** Logs of every component, kept after the node is removed (.cache/node-logs/<id>). */
  readonly logDir: string;
  private readonly log: NodeLog;

  private constructor(id: string, log: NodeLog) {
    this.id = id;
    this.dir = join(DATA_ROOT, id);
    this.runDir = join(RUN_ROOT, id);
    this.logDir = join(repoRoot, '.cache', 'node-logs', id);
    this.log = log;
  }

  /** Builds what is missing, removes what a crashed run left, and starts a Ready node with DNS. */
  static async start(options: { users?: Record<string, string[]>; log?: NodeLog } = {}): Promise<LocalNode> {
    const log = options.log ?? ((line: string) => process.stderr.write(`node: ${line}\n`));
    checkMachine();
    await ensurePrerequisites(NODE_PREREQUISITES, log);
    for (const stale of await leftovers()) {
      log(`removing ${stale}, left by a run that is gone`);
      await removeNode(stale);
    }
    const id = `${NODE_PREFIX}${process.pid}`;
    const node = new LocalNode(id, log);
    try {
      await node.boot(options.users ?? {});
    } catch (err) {
      // To look at a node that would not start: NIC_KEEP_NODE=1 leaves it (the next start removes it).
      if (process.env.NIC_KEEP_NODE)
        log(`kept for a look (NIC_KEEP_NODE): KUBECONFIG=${node.kubeconfig}, nsenter --net=${netnsPath(id)}`);
      else await node.stop();
      throw err;
    }
    return node;
  }

  private async timed<T>(what: string, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await step();
    this.log(`${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return result;
  }

  private async boot(users: Record<string, string[]>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.runDir, { recursive: true });
    await rm(this.logDir, { recursive: true, force: true });
    await mkdir(this.logDir, { recursive: true });
    await this.timed('network namespace and cgroups', async () => {
      await this.network();
      await makeCgroups(this.id);
      await makeCgroups(`${this.id}.daemons`);
    });
    await this.timed('control plane ready', () => this.startControlPlane(users));
    await this.timed('containerd answering', () => this.startContainerd());
    await this.timed('images imported', () => this.importImages());
    await this.timed('kubelet and kube-proxy started', async () => {
      await this.startKubelet();
      await this.startKubeProxy();
    });
    await this.timed('node Ready', () => this.waitReady());
    // kube-router finds its Node at start, so after the kubelet has registered it.
    await this.timed('kube-router answering', () => this.startKubeRouter());
    await this.timed('CoreDNS answering', () => this.startDns());
  }

  private async network(): Promise<void> {
    await sh('ip', ['netns', 'add', this.id]);
    const ip = (...args: string[]) => sh('ip', ['-n', this.id, ...args]);
    await ip('link', 'set', 'lo', 'up');
    // The node's address on a veth whose both ends stay inside (dummy links do not exist here).
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    await ip('addr', 'add', `${NODE.ip}/24`, 'dev', 'eth0');
    await ip('link', 'set', 'eth0', 'up');
    await ip('link', 'set', 'eth1', 'up');
    // Service addresses, for the node's own processes (Pods reach them through kube-proxy's DNAT).
    // No default route: nothing in here has anywhere else to go.
    await ip('route', 'add', NODE.serviceCidr, 'dev', 'eth0');
    await this.inside([
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
    ]);
  }

  /** Runs a command to its end inside the node's network namespace. */
  async inside(argv: string[]): Promise<string> {
    const [command, ...args] = [...inNetns(this.id), ...argv];
    return sh(command!, args);
  }

  private async startControlPlane(users: Record<string, string[]>): Promise<void> {
    const socket = join(this.runDir, 'apiserver.sock');
    this.controlPlane = await ControlPlane.start({
      dataDir: join(this.dir, 'controlplane'),
      logDir: this.logDir,
      controllers: CONTROLLERS,
      users: { [NODE_USER]: ['system:nodes'], [PROXY_USER]: [], ...users },
      node: { enter: inNetns(this.id), advertiseAddress: NODE.ip, unixSocket: socket },
    });
    // 127.0.0.1 of this machine → the unix socket → the API server inside the namespace.
    this.relay = await relay(socket);
    this.kubeconfig = await this.relay.kubeconfig(
      this.controlPlane.kubeconfig,
      join(this.dir, 'admin.kubeconfig'),
    );
    for (const name of Object.keys(users)) {
      const path = join(this.dir, `${name.replace(/[^\w.-]/g, '_')}.kubeconfig`);
      this.users.set(name, await this.relay.kubeconfig(this.controlPlane.userKubeconfig(name), path));
    }
  }

  /** A user's kubeconfig for this machine's processes. */
  userKubeconfig(name: string): string {
    const path = this.users.get(name);
    if (!path) throw new Error(`no node user ${name}; pass it in options.users`);
    return path;
  }

  private program(name: keyof typeof NODE_PROGRAMS): string {
    return join(repoRoot, '.cache', 'bin', NODE_PROGRAMS[name].name);
  }

  private daemon(name: string, argv: string[]): Daemon {
    // Each daemon in the node's daemons cgroup, so that a crashed run's are found by it.
    const cgroup = join(CGROUP_ROOT, 'pids', `${this.id}.daemons`, 'cgroup.procs');
    const d = new Daemon(
      name,
      ['sh', '-c', `echo $$ > ${cgroup} && exec "$@"`, name, ...argv],
      join(this.logDir, `${name}.log`),
    );
    this.daemons.set(name, d);
    return d;
  }

  private async startContainerd(): Promise<void> {
    const d = this.dir;
    const r = this.runDir;
    const cni = join(d, 'cni');
    await mkdir(join(cni, 'bin'), { recursive: true });
    await mkdir(join(cni, 'net.d'), { recursive: true });
    for (const plugin of ['bridge', 'hostLocal', 'loopback', 'portmap'] as const) {
      await symlink(this.program(plugin), join(cni, 'bin', NODE_PROGRAMS[plugin].name.replace('cni/', '')));
    }
    await symlink(this.program('shim'), join(cni, 'bin', 'containerd-shim-runc-v2'));
    await writeFile(join(cni, 'net.d', '10-nic-node.conflist'), cniConfig(d));
    const file = join(d, 'containerd.toml');
    await writeFile(file, containerdConfig(d, r));
    // The kernel settings kubelet writes become files of the node's own mount namespace.
    const settings = join(d, 'sysctl');
    const mounts: string[] = [];
    for (const key of KERNEL_SETTINGS) {
      const copy = join(settings, key.replaceAll('/', '.'));
      await mkdir(settings, { recursive: true });
      await writeFile(copy, await readFile(`/proc/sys/${key}`, 'utf8'));
      mounts.push(`mount --bind ${copy} /proc/sys/${key}`);
    }
    // The shim finds containerd-shim-runc-v2 on PATH.
    const path = `${join(cni, 'bin')}:${process.env.PATH ?? ''}`;
    const containerd = this.daemon('containerd', [
      ...inNetns(this.id),
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `${mounts.join(' && ')} && PATH=${path} exec ${this.program('containerd')} --config ${file}`,
    ]);
    this.containerdPid = containerd.child.pid!;
    await eventually(
      async () => {
        if (!containerd.running)
          throw new Error(`containerd exited; see ${join(this.logDir, 'containerd.log')}`);
        await this.ctr(['version']);
        return true;
      },
      'containerd to answer',
      30_000,
    );
  }

  /** ctr against the node's containerd, in the namespace kubelet uses. */
  private ctr(args: string[]): Promise<string> {
    return sh(this.program('ctr'), [
      '--address',
      join(this.runDir, 'containerd.sock'),
      '--namespace',
      'k8s.io',
      ...args,
    ]);
  }

  /** pause and CoreDNS as images of one static binary each, and the controller's own image. */
  private async importImages(): Promise<void> {
    const images = join(this.dir, 'images');
    await mkdir(images, { recursive: true });
    const tars: string[] = [];
    for (const [ref, program] of [
      [PAUSE_IMAGE, 'pause'],
      [COREDNS_IMAGE, 'coredns'],
    ] as const) {
      const tar = join(images, `${program}.tar`);
      await dockerArchive(
        ref,
        [{ path: `/${program}`, from: this.program(program), mode: 0o755 }],
        { entrypoint: [`/${program}`] },
        tar,
      );
      tars.push(tar);
    }
    const { engine, image } = await ensureImage();
    const controller = join(images, 'controller.tar');
    await engineRun(engine, ['save', '--format', 'docker-archive', '-o', controller, image]);
    for (const tar of [...tars, controller]) await this.ctr(['images', 'import', tar]);
  }

  private async startKubelet(): Promise<void> {
    const d = this.dir;
    await writeFile(join(d, 'kubelet.yaml'), kubeletConfig(d, this.runDir, this.id));
    await writeFile(join(d, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    this.daemon('kubelet', [
      // The same mount namespace as containerd, so that Pods' volumes are where runc looks.
      ...inNetns(this.id, `--mount=/proc/${this.containerdPid}/ns/mnt`),
      this.program('kubelet'),
      `--config=${join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${this.controlPlane!.userKubeconfig(NODE_USER)}`,
      `--root-dir=${join(d, 'kubelet')}`,
      `--hostname-override=${NODE.name}`,
      `--node-ip=${NODE.ip}`,
    ]);
  }

  private async startKubeProxy(): Promise<void> {
    const file = join(this.dir, 'kube-proxy.yaml');
    const config = kubeProxyConfig(this.controlPlane!.userKubeconfig(PROXY_USER));
    await writeFile(file, config);
    this.daemon('kube-proxy', [...inNetns(this.id), this.program('kubeProxy'), `--config=${file}`]);
  }

  /** kube-router with only its NetworkPolicy firewall: no service proxy, no routing, no CNI. */
  async startKubeRouter(): Promise<void> {
    const router = this.daemon('kube-router', [
      ...inNetns(this.id),
      this.program('kubeRouter'),
      // The control plane's admin kubeconfig, for inside the namespace (also when attached).
      `--kubeconfig=${join(this.dir, 'controlplane', 'admin.kubeconfig')}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      '--enable-cni=false',
      `--hostname-override=${NODE.name}`,
      `--service-cluster-ip-range=${NODE.serviceCidr}`,
      // Its health port stays on (inside the namespace): v2.1.0 panics with it off.
      `--health-port=${KUBE_ROUTER_HEALTH_PORT}`,
      '--metrics-port=0',
    ]);
    const node = join(repoRoot, 'node_modules', 'node', 'bin', 'node');
    const healthy = `fetch('http://127.0.0.1:${KUBE_ROUTER_HEALTH_PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
    await eventually(
      async () => {
        if (!router.running)
          throw new Error(`kube-router exited; see ${join(this.logDir, 'kube-router.log')}`);
        await this.inside([node, '-e', healthy]);
        return true;
      },
      'kube-router to answer on its health port',
      30_000,
    );
  }

  /** Another process's handle on a running node (a test's; the node is its global setup's). */
  static attach(id: string): LocalNode {
    return new LocalNode(id, () => undefined);
  }

  /**
   * Stops kube-router as its Pod would be stopped: SIGTERM, its rules left in place. Works from an
   * attached handle too: it is found among the node's processes.
   */
  async stopKubeRouter(): Promise<void> {
    const own = this.daemons.get('kube-router');
    if (own) return own.stop();
    for (const pid of await this.kubeRouterPids()) {
      process.kill(pid, 'SIGTERM');
      await eventually(() => !existsSync(`/proc/${pid}`), 'kube-router to stop', 15_000);
    }
  }

  /**
   * Freezes kube-router (SIGSTOP) or lets it go on (SIGCONT): frozen, it is a policy engine whose
   * sync hung, its rules and ipsets left as they were, stale for every Pod and policy since.
   */
  async freezeKubeRouter(frozen: boolean): Promise<void> {
    const pids = await this.kubeRouterPids();
    if (!pids.length) throw new Error('kube-router is not running in the node');
    for (const pid of pids) process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  private async kubeRouterPids(): Promise<number[]> {
    const binary = this.program('kubeRouter');
    const pids: number[] = [];
    for (const pid of await pidsInNetns(this.id)) {
      const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0];
      if (argv0 === binary) pids.push(pid);
    }
    return pids;
  }

  /**
   * Removes every rule, chain and ipset kube-router made: a dataplane that enforces nothing, as
   * when a policy engine is missing or lost its state. (kube-router v2.1.0's own --cleanup-config
   * builds an empty controller, cleans nothing, says it did, and panics; so it is done here.) Only
   * the filter table's kube-router chains go: kube-proxy's rules stay.
   */
  async flushKubeRouter(): Promise<void> {
    const ours = /KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-/;
    const saved = await this.inside(['iptables-save', '-t', 'filter']);
    const file = join(this.dir, 'filter-without-kube-router.rules');
    await writeFile(
      file,
      `${saved
        .split('\n')
        .filter((line) => !ours.test(line))
        .join('\n')}\n`,
    );
    await this.inside(['iptables-restore', file]);
    await this.inside(['ipset', 'destroy']); // kube-router's sets, the only ones in the namespace
  }

  private async waitReady(): Promise<void> {
    await eventually(
      async () => {
        for (const [name, d] of this.daemons)
          if (!d.running) throw new Error(`${name} exited; see ${join(this.logDir, `${name}.log`)}`);
        const ready = await kubectl(this.kubeconfig, [
          'get',
          'node',
          NODE.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return ready.trim() === 'True';
      },
      `node ${NODE.name} to be Ready`,
      60_000,
    );
  }

  /** Applies YAML with the real kubectl, server-side, as the node's admin. */
  async apply(yaml: string): Promise<void> {
    await kubectl(this.kubeconfig, ['apply', '--server-side', '-f', '-'], yaml);
  }

  /** CoreDNS as kubeadm lays it out; ready once a name resolves through the kube-dns Service. */
  private async startDns(): Promise<void> {
    await this.apply(coreDnsObjects(COREDNS_IMAGE, NODE.clusterDns));
    const node = join(repoRoot, 'node_modules', 'node', 'bin', 'node');
    await eventually(
      async () => {
        const out = await this.inside([
          node,
          join(repoRoot, 'src', 'main.ts'),
          'probe',
          'resolve',
          'kubernetes.default.svc.cluster.local.',
          `--server=${NODE.clusterDns}`,
          '--timeout=1000',
        ]);
        return out.includes('"resolved"');
      },
      'CoreDNS to answer through the kube-dns Service',
      60_000,
    );
  }

  /** Stops everything and removes every process, mount, cgroup and folder of the node. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.daemons.values()].filter((d) => d.name !== 'containerd').map((d) => d.stop(5_000)),
    );
    await this.daemons.get('containerd')?.stop(5_000);
    await this.controlPlane?.stop();
    // kube-controller-manager's and kube-scheduler's logs, kept with the others.
    for (const log of ['controller-manager.log', 'scheduler.log']) {
      await copyFile(join(this.dir, 'controlplane', log), join(this.logDir, log)).catch(() => undefined);
    }
    await this.relay?.close();
    await removeNode(this.id);
    if (existsSync(netnsPath(this.id))) throw new Error(`${this.id} is still there after removing it`);
  }
}
