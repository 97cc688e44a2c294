// Runs the controller in the test process against the local control plane, counting its requests.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { type RunSettings, runController } from '../../src/controller/manager.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { eventually } from './wait.ts';

export const testSettings: RunSettings = {
  policy: defaultPolicyConfig,
  optOut: 'delete',
  dryRun: false,
  concurrency: 4,
  resyncPeriodMs: 10 * 60_000,
  backoff: { baseMs: 5, maxMs: 5_000 },
  rateLimit: { qps: 50, burst: 300 },
  drainTimeoutMs: 10_000,
};

export async function startTestController(kubeconfig: string, overrides: Partial<RunSettings> = {}) {
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
  const registry = new Registry();
  const running = runController(client, { ...testSettings, ...overrides }, log, registry);
  running.lead();
  await running.synced;
  const count = (request: string) => client.sent.get(request) ?? 0;
  return {
    client,
    running,
    logs,
    /** A metric's current value, by name and labels. */
    async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    },
    /** NetworkPolicy writes sent so far (server-side applies and merge patches; deletes). */
    writes: () => ({ patch: count('PATCH networkpolicies'), delete: count('DELETE networkpolicies') }),
    /** Waits until nothing is queued or being reconciled. */
    idle: () =>
      eventually(
        () => running.queue.length === 0 && running.queue.inFlight === 0,
        'the controller to be idle',
      ),
    async stop() {
      await running.stop();
      await client.close();
    },
  };
}
