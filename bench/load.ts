// The benchmark's load generator, run in the benchmark's own process: bulk namespace and policy
// writes straight to the API server, a watch that timestamps every managed policy event, and
// the controller (src/main.ts) as a separate process whose metrics tell what it wrote.
import PQueue from 'p-queue';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { NETWORK_POLICIES, networkPolicyPath } from '../src/kube/resources.ts';
import { apply } from '../src/kube/apply.ts';
import { guardrails as guardrailObjects } from '../src/policy/guardrails.ts';
import { MANAGED_SELECTOR } from '../src/policy/labels.ts';
import { defaultPolicyConfig } from '../src/policy/profiles.ts';
import { ControlPlane, repoRoot } from '../harness/controlplane.ts';
import { installCrds } from '../harness/crds.ts';
import {
  type ControllerProcess,
  ensureStopped,
  freePort,
  sampleOf,
  startProcess,
} from '../harness/process.ts';
import { type Policy, PolicyWatch } from '../harness/policywatch.ts';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tempDir } from '../harness/tmp.ts';

/** A progress line on stderr, so that a long run shows where it is. */
export const log = (line: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/**
 * Set once from the command line: every scenario's cluster gets the guardrails; the controller's
 * extra Node options (a profiler) and arguments (a configuration file).
 */
export const benchOptions = { guardrails: false, nodeOptions: '', controllerArgs: [] as string[] };

/** A fresh control plane and an admin client, for one scenario. */
export class Cluster {
  readonly cp: ControlPlane;
  readonly admin: KubeClient;
  private readonly dataDir: string;
  private readonly watches: PolicyWatch[] = [];

  private constructor(cp: ControlPlane, dataDir: string) {
    this.cp = cp;
    this.dataDir = dataDir;
    this.admin = new KubeClient(loadKubeConfig(cp.kubeconfig));
  }

  /**
   * Without kube-controller-manager, as the figures before it joined the control plane (its
   * ServiceAccount controller would add an object per namespace). With `guardrails`, the
   * admission guardrails of the default configuration are installed first.
   */
  static async start(guardrails = benchOptions.guardrails, reports = false): Promise<Cluster> {
    const dataDir = await tempDir('nic-bench');
    const cluster = new Cluster(await ControlPlane.start({ dataDir, controllers: '' }), dataDir);
    if (reports) await installCrds(cluster.cp.kubeconfig);
    if (guardrails) {
      for (const o of guardrailObjects(defaultPolicyConfig))
        await apply(cluster.admin, o, { fieldManager: 'bench', dryRun: false });
    }
    return cluster;
  }

  /** Runs `task` for each item, `concurrency` at a time (the generator's own write rate). */
  async each<T>(items: T[], task: (item: T, i: number) => Promise<unknown>, concurrency = 32): Promise<void> {
    const pool = new PQueue({ concurrency });
    await pool.addAll(items.map((item, i) => () => task(item, i)));
  }

  async createNamespaces(names: string[], labels: Record<string, string> = {}): Promise<void> {
    await this.each(names, (name) =>
      this.admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name, labels } } }),
    );
  }

  async label(names: string[], value: string | null): Promise<void> {
    await this.each(names, (name) =>
      this.admin.request('PATCH', `/api/v1/namespaces/${name}`, {
        body: { metadata: { labels: { isolation: value } } },
        contentType: 'application/merge-patch+json',
      }),
    );
  }

  /**
   * Two policies of a tenant's own (not the controller's) in each namespace: traffic within the
   * namespace, which the strict profile allows already, except in every tenth namespace, where
   * the first lets in every namespace (an opening: verdict fail).
   */
  async tenantPolicies(names: string[]): Promise<void> {
    await this.each(names, async (ns, i) => {
      for (const name of ['tenant-allow-web', 'tenant-allow-metrics']) {
        const opens = i % 10 === 0 && name.endsWith('web');
        await this.tenantPolicy(ns, name, opens, name.endsWith('web') ? 8080 : 9090);
      }
    });
  }

  async tenantPolicy(ns: string, name: string, opens: boolean, port: number): Promise<void> {
    await this.admin.request('POST', `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, {
      body: {
        metadata: { name },
        spec: {
          podSelector: { matchLabels: { app: name } },
          ingress: [{ from: [opens ? { namespaceSelector: {} } : { podSelector: {} }], ports: [{ port }] }],
        },
      },
    });
  }

  async managedPolicies(): Promise<Policy[]> {
    return (await this.admin.list<Policy>(NETWORK_POLICIES, { labelSelector: MANAGED_SELECTOR })).items;
  }

  async kubernetesVersion(): Promise<string> {
    return (await this.admin.request<{ gitVersion: string }>('GET', '/version')).gitVersion;
  }

  /** A watch on the managed policies, stopped with the cluster. */
  async watch(): Promise<PolicyWatch> {
    const watch = await PolicyWatch.start(this.admin);
    this.watches.push(watch);
    return watch;
  }

  /**
   * Starts the controller against this cluster as a separate process, as the Deployment runs it (the
   * compiled dist/main.js, its NODE_OPTIONS, its log level), on ports chosen here.
   */
  async controller(extra: string[] = []): Promise<ControllerProcess> {
    return startProcess(
      ['--kubeconfig', this.cp.kubeconfig, ...benchOptions.controllerArgs, ...extra],
      {
        METRICS_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
        NODE_OPTIONS: `${await deploymentNodeOptions()} ${benchOptions.nodeOptions}`.trim(),
      },
      'dist/main.js',
    );
  }

  async stop(...controllers: (ControllerProcess | undefined)[]): Promise<void> {
    await Promise.all(controllers.map(ensureStopped));
    // An open watch would hold the client's HTTP/2 session open.
    await Promise.all(this.watches.map((w) => w.stop()));
    await this.admin.close();
    await this.cp.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The NODE_OPTIONS the shipped Deployment gives the controller. */
export async function deploymentNodeOptions(): Promise<string> {
  const deployment = parse(
    await readFile(join(repoRoot, 'manifests', 'base', 'deployment.yaml'), 'utf8'),
  ) as {
    spec: { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } };
  };
  const env = deployment.spec.template.spec.containers[0]?.env ?? [];
  return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/** The controller's own count of NetworkPolicy writes, and its API requests by method. */
export async function writesOf(
  ctl: ControllerProcess,
): Promise<{ policyWrites: number; requests: Record<string, number> }> {
  const text = await (await fetch(`${await ctl.metricsUrl()}/metrics`)).text();
  const requests: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const req = /^rest_client_requests_total\{method="(\w+)",code="(\w+)"\} (\d+)/.exec(line);
    if (req) requests[`${req[1]} ${req[2]}`] = (requests[`${req[1]} ${req[2]}`] ?? 0) + Number(req[3]);
  }
  return { policyWrites: await ctl.policyWrites(), requests };
}

/** The CPU time the controller has used so far, in seconds (user + system). */
export const cpuOf = (ctl: ControllerProcess) => sampleOf(ctl, 'process_cpu_seconds_total');

/** Events the controller has recorded in the cluster (by their reporting controller). */
export async function eventsIn(cluster: Cluster): Promise<number> {
  const list = await cluster.admin.list<{ reportingController?: string }>('/apis/events.k8s.io/v1/events');
  return list.items.filter((e) => e.reportingController === 'namespace-isolation-controller').length;
}

/** Polls `check` every `intervalMs` (finer than `eventually`'s 50 ms, for figures under a second). */
export async function pollUntil(
  check: () => Promise<boolean>,
  intervalMs: number,
  what: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // A fetch refused (nothing listening yet) is "not yet"; any other error ends the wait.
  const notYet = (err: unknown) => {
    if (err instanceof TypeError) return false;
    throw err;
  };
  while (!(await check().catch(notYet))) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Time from the process's spawn to its /readyz answering 200, polled every 5 ms, in ms. */
export async function readyAfter(ctl: ControllerProcess): Promise<number> {
  const url = `${await ctl.probesUrl()}/readyz`;
  await pollUntil(
    async () => {
      if (ctl.child.exitCode !== null)
        throw new Error(`the controller exited ${ctl.child.exitCode}: ${ctl.err()}`);
      return (await fetch(url)).status === 200;
    },
    5,
    'ready',
  );
  return Date.now() - ctl.spawnedAt;
}

/** PolicyReport writes the controller made (not dry-run ones), from its metrics. */
export async function reportWrites(ctl: ControllerProcess): Promise<number> {
  return (
    (await ctl.metric('namespace_isolation_report_writes_total{operation="apply",dry_run="false"}')) ?? 0
  );
}

export const policyPath = networkPolicyPath;

/** Percentiles of a sample, in its unit. */
export function percentiles(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.at(-1) ?? NaN };
}
