// The controller as a separate process (src/main.ts), the way an operator runs it: its JSON log
// lines, its exit code, and its metrics and probe endpoints.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { FLAGS } from '../src/flags.ts';
import { repoRoot } from './controlplane.ts';
import { eventually } from './wait.ts';
import { tempDir } from './tmp.ts';

export type LogLine = Record<string, unknown> & { msg: string };

export interface ControllerProcess {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  /** When it was spawned (Date.now()). */
  spawnedAt: number;
  out(): string;
  err(): string;
  logs(): LogLine[];
  /** The first log line with this message (and these fields), waiting for it. */
  waitForLog(msg: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<LogLine>;
  /** Base URL of the metrics server. */
  metricsUrl(): Promise<string>;
  /** Base URL of the probe server. */
  probesUrl(): Promise<string>;
  /** A sample of /metrics: `name{labels}` exactly as exposed, or undefined. */
  metric(sample: string): Promise<number | undefined>;
  /** The NetworkPolicy writes it made (not dry-run ones), from its metrics. */
  policyWrites(): Promise<number>;
}

/**
 * Runs `node src/main.ts ...args` (or another `entry`, such as the compiled `dist/main.js`). The
 * environment is cleared of the controller's variables, except that metrics and probes are served
 * on free ports of 127.0.0.1 (through the environment, so that flags still win), or on the
 * addresses `env` gives.
 */
export function startProcess(
  args: string[],
  env: Record<string, string> = {},
  entry = 'src/main.ts',
): ControllerProcess {
  const base = { ...process.env };
  // Every variable a flag reads (src/flags.ts), so that the caller's environment cannot leak in.
  for (const name of Object.values(FLAGS).flatMap((f) => ('env' in f ? [f.env] : []))) {
    delete base[name];
  }
  const env_ = { METRICS_BIND_ADDRESS: '127.0.0.1:0', HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0', ...env };
  const child = spawn(join(repoRoot, 'node_modules', '.bin', 'node'), [join(repoRoot, entry), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...base, ...env_ },
  });
  const spawnedAt = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (process.env.TEST_LOG) process.stderr.write(d);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const logs = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const waitForLog = (msg: string, fields: Record<string, unknown> = {}, timeoutMs = 30_000) =>
    eventually(
      () => logs().find((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v)),
      `log line "${msg}"`,
      timeoutMs,
    );
  // A port chosen by the caller is known at once; port 0 is learnt from the log line.
  const url = async (bind: string, msg: string) =>
    `http://${bind.endsWith(':0') ? String((await waitForLog(msg)).address) : bind}`;
  const metricsUrl = () => url(env_.METRICS_BIND_ADDRESS, 'serving metrics');
  const scrape = async () => (await (await fetch(`${await metricsUrl()}/metrics`)).text()).split('\n');
  return {
    child,
    exited,
    spawnedAt,
    out: () => stdout,
    err: () => stderr,
    logs,
    waitForLog,
    metricsUrl,
    probesUrl: () => url(env_.HEALTH_PROBE_BIND_ADDRESS, 'serving health probes'),
    async metric(sample) {
      const line = (await scrape()).find((l) => l.startsWith(`${sample} `));
      return line === undefined ? undefined : Number(line.slice(sample.length + 1));
    },
    async policyWrites() {
      return (await scrape())
        .filter((l) => /^namespace_isolation_policy_writes_total\{.*dry_run="false"\} /.test(l))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    },
  };
}

/** The controllers whose queues must be empty for the controller to be idle. */
const CONTROLLERS = ['namespace-isolation', 'namespace-isolation-compliance'];

/** A sample from the controller's /metrics, e.g. `process_resident_memory_bytes`; throws when absent. */
export async function sampleOf(p: ControllerProcess, name: string): Promise<number> {
  const value = await p.metric(name);
  if (value === undefined) throw new Error(`the controller exposes no ${name}`);
  return value;
}

/** Waits until the controller has nothing queued or in progress (from its metrics). */
export async function idle(p: ControllerProcess, timeoutMs = 600_000): Promise<void> {
  const quiet = async (c: string) =>
    (await sampleOf(p, `workqueue_depth{name="${c}",controller="${c}"}`)) === 0 &&
    (await sampleOf(p, `controller_runtime_active_workers{controller="${c}"}`)) === 0;
  await eventually(
    async () => {
      for (const c of CONTROLLERS) if (!(await quiet(c))) return false;
      return true;
    },
    'the controller to be idle',
    timeoutMs,
  );
}

/** Stops a process if it is still running; for test clean-up. */
export async function ensureStopped(p: ControllerProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}

/** A copy of config/controller.yaml with top-level fields replaced; returns its path. */
export async function configFile(changes: Record<string, unknown>): Promise<string> {
  const config = parse(await readFile(join(repoRoot, 'config', 'controller.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const path = join(await tempDir('nic-config'), 'controller.yaml');
  await writeFile(path, stringify({ ...config, ...changes }));
  return path;
}

/** A TCP port of 127.0.0.1 free at the time of asking, for a server started elsewhere (a container). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
