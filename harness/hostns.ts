// What the test node takes from the machine, and gives back: a network namespace, cgroups in each
// cgroup v1 hierarchy, folders, and the processes inside them. Everything carries the node's name
// (`nic-node-<pid of the run that made it>`), so that a run killed with SIGKILL leaves nothing the
// next run cannot find and remove. Nothing here touches the machine's own network namespace.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, rm, rmdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CGROUP_ROOT = '/sys/fs/cgroup';
export const NODE_PREFIX = 'nic-node-';
/** Persistent data (containerd's images, etcd) and transient state (sockets, short paths). */
export const DATA_ROOT = '/var/lib/nic-node';
export const RUN_ROOT = '/run/nic-node';

/** Runs `ip` (or another tool) and rejects with its stderr. */
export async function sh(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args, { encoding: 'utf8' })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${command} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

export const netnsPath = (name: string) => `/var/run/netns/${name}`;

/** The argv prefix that runs a command inside the node's network namespace (and other namespaces `also` names). */
export const inNetns = (name: string, ...also: string[]) => [
  'nsenter',
  `--net=${netnsPath(name)}`,
  ...also,
  '--',
];

/** The cgroup v1 hierarchies this machine mounts (cpu, memory, pids, …), and the v2 one in hybrid mode. */
export async function hierarchies(): Promise<string[]> {
  const entries = await readdir(CGROUP_ROOT, { withFileTypes: true });
  const dirs: string[] = [];
  for (const e of entries) {
    // cpu and cpuacct are often links to one folder (cpu,cpuacct): the folder once.
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) dirs.push(join(CGROUP_ROOT, e.name));
  }
  return dirs;
}

/** Creates cgroup `name` in every hierarchy; in cpuset, with its parent's cpus and mems. */
export async function makeCgroups(name: string): Promise<void> {
  for (const h of await hierarchies()) {
    const dir = join(h, name);
    await mkdir(dir, { recursive: true });
    if (h.endsWith('/cpuset')) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        await writeFile(join(dir, file), await readFile(join(h, file), 'utf8'));
      }
    }
  }
}

/** The pids of every process in a cgroup tree (all hierarchies), children first. */
async function cgroupPids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name));
    const procs = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of procs.split('\n')) if (line.trim()) pids.push(Number(line));
  };
  await walk(dir);
  return pids;
}

/** Removes a cgroup tree, deepest folders first (a cgroup folder goes only once it is empty). */
async function removeCgroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/** The inode of a network namespace (what /proc/PID/ns/net links to): net:[N]. */
async function netnsId(path: string): Promise<string | undefined> {
  try {
    return `net:[${(await stat(path)).ino}]`;
  } catch {
    return undefined;
  }
}

/** Every process whose network namespace is `name`'s. */
export async function pidsInNetns(name: string): Promise<number[]> {
  const id = await netnsId(netnsPath(name));
  if (!id) return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if ((await readlink(`/proc/${entry}/ns/net`).catch(() => '')) === id) pids.push(Number(entry));
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGKILLs every process of the node (in its cgroups or its network namespace) and waits for them. */
export async function killAll(name: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const pids = new Set<number>(await pidsInNetns(name));
    for (const h of await hierarchies()) {
      for (const dir of [join(h, name), join(h, `${name}.daemons`)])
        for (const pid of await cgroupPids(dir)) pids.add(pid);
    }
    pids.delete(process.pid);
    const living = [...pids].filter(alive);
    if (living.length === 0) return killed;
    for (const pid of living) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`processes of ${name} survive SIGKILL`);
}

/** Unmounts (lazily) whatever the machine's mount table holds under `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  const points = table
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await sh('umount', ['-l', p]).catch(() => undefined);
}

/** Everything of the node: processes, mounts, cgroups, the network namespace, its folders. */
export async function removeNode(name: string): Promise<void> {
  await killAll(name);
  for (const dir of [join(DATA_ROOT, name), join(RUN_ROOT, name)]) await unmountUnder(dir);
  for (const h of await hierarchies()) {
    await removeCgroupTree(join(h, name));
    await removeCgroupTree(join(h, `${name}.daemons`));
  }
  if (existsSync(netnsPath(name))) await sh('ip', ['netns', 'del', name]);
  for (const dir of [join(DATA_ROOT, name), join(RUN_ROOT, name)])
    await rm(dir, { recursive: true, force: true });
}

/** The names of nodes whose run is gone (killed, crashed): found by netns, cgroup and folder. */
export async function leftovers(): Promise<string[]> {
  const names = new Set<string>();
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(NODE_PREFIX)) names.add(name);
  }
  for (const dir of [DATA_ROOT, RUN_ROOT, ...(await hierarchies())]) {
    for (const entry of await readdir(dir).catch(() => [])) {
      if (entry.startsWith(NODE_PREFIX)) names.add(entry.replace(/\.daemons$/, ''));
    }
  }
  return [...names].filter((name) => {
    const owner = Number(name.slice(NODE_PREFIX.length));
    return !(Number.isInteger(owner) && owner !== process.pid && alive(owner));
  });
}
