// Runs the controller in the test process, through the same start() as production, against the
// local control plane: its requests counted, its log lines and metrics readable.
import { pino } from 'pino';
import { type Config, parseConfig, readConfigFile } from '../../src/config.ts';
import { CONTROLLER_NAME } from '../../src/controllers/namespace/index.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import type { NamespaceObject, ObservedPolicy } from '../../src/kube/objects.ts';
import type { Informer } from '../../src/runtime/informer.ts';
import { start } from '../../src/start.ts';
import { eventually } from '../../harness/wait.ts';

/** Faster retries than the shipped defaults, so that tests of failures do not wait minutes. */
export const testConfig = {
  backoff: { baseMilliseconds: 5, maxSeconds: 5 },
  rateLimit: { qps: 50, burst: 300 },
  gracefulShutdownSeconds: 10,
};

export interface TestControllerOptions {
  /** Configuration fields over the test defaults. */
  config?: Record<string, unknown>;
  dryRun?: boolean;
  /** A client for Events only (e.g. through a proxy whose connections a test freezes). */
  eventsClient?: KubeClient;
  /** A configuration file (written whole, test defaults included): read, and reloaded when it changes. */
  configFile?: string;
}

export async function startTestController(kubeconfig: string, options: TestControllerOptions = {}) {
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  // Log lines are kept so that tests can assert what an operator would read.
  const logs: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
        if (process.env.TEST_LOG) process.stderr.write(line);
      },
    },
  );
  const file = options.configFile ? readConfigFile(options.configFile) : undefined;
  const config: Config =
    file?.config ?? parseConfig({ ...testConfig, ...options.config }, 'test configuration');
  const running = await start({
    config,
    configFile: file,
    log,
    dryRun: options.dryRun ?? false,
    metricsBindAddress: '0',
    healthProbeBindAddress: '0',
    client,
    eventsClient: options.eventsClient ?? client,
  });
  const { manager, registry } = running;
  await manager.synced;
  const queue = manager.queue(CONTROLLER_NAME)!;
  const count = (request: string) => client.sent.get(request) ?? 0;
  return {
    client,
    running,
    queue,
    namespaces: manager.informers.get('namespaces') as unknown as Informer<NamespaceObject>,
    policies: manager.informers.get('networkpolicies') as unknown as Informer<ObservedPolicy>,
    logs,
    /** A metric's current value, by name and labels. */
    async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    },
    /** NetworkPolicy writes sent so far (server-side applies and merge patches; replaces; deletes). */
    writes: () => ({
      patch: count('PATCH networkpolicies'),
      put: count('PUT networkpolicies'),
      delete: count('DELETE networkpolicies'),
    }),
    /** Waits until nothing is queued or being reconciled. */
    idle: () => eventually(() => manager.idle(), 'the controller to be idle'),
    async stop() {
      await running.stop();
      await client.close();
    },
  };
}
