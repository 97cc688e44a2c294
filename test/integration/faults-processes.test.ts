// The controller's processes killed and stopped while 1,000 namespaces converge: the leader killed
// (the standby finishes the job), SIGTERM with a write held in flight (drains, aborts it, releases
// the lease, exits 0), SIGKILL
// mid-reconcile and a restart. No policy is lost or written twice. Then 10,000 namespaces with
// 63-character names. Uses a control plane of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { ControlPlane } from '../../harness/controlplane.ts';
import { PolicyWatch } from '../../harness/policywatch.ts';
import {
  type ControllerProcess,
  configFile,
  ensureStopped,
  freePort,
  idle,
  startProcess,
} from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';

const N = 1000;
const names = Array.from({ length: N }, (_, i) => `proc-${String(i).padStart(4, '0')}`);
let cp: ControlPlane;
let dataDir: string;
let raw: KubeClient;
let watch: PolicyWatch;
let config: string;
const started: ControllerProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-processes-'));
  cp = await ControlPlane.start({ dataDir });
  raw = new KubeClient(loadKubeConfig(cp.kubeconfig));
  await each(names, (name) => raw.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } }));
  watch = await PolicyWatch.start(raw);
  // Short lease timings keep the test short; the defaults' figures are in the benchmark.
  config = await configFile({
    leaderElection: { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1 },
  });
});

// A test that failed half-way leaves no controller holding the lease for the next.
afterEach(() => Promise.all(started.map(ensureStopped)));

afterAll(async () => {
  await watch?.stop();
  await raw?.close();
  await cp?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function each<T>(items: T[], task: (item: T) => Promise<unknown>): Promise<void> {
  await new PQueue({ concurrency: 32 }).addAll(items.map((item) => () => task(item)));
}

const label = (value: string | null) =>
  each(names, (name) =>
    raw.request('PATCH', `/api/v1/namespaces/${name}`, {
      body: { metadata: { labels: { isolation: value } } },
      contentType: 'application/merge-patch+json',
    }),
  );

function controller(configPath = config): ControllerProcess {
  const p = startProcess([
    '--kubeconfig',
    cp.kubeconfig,
    '--config',
    configPath,
    '--leader-elect',
    '--leader-election-namespace',
    'default',
    '--log-level',
    'info',
  ]);
  started.push(p);
  return p;
}

const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

/** Sends the policy writes in namespaces with these labels to a webhook on this port of 127.0.0.1. */
async function admissionWebhook(name: string, port: number, labels: Record<string, string>): Promise<void> {
  await raw.request('POST', WEBHOOKS, {
    body: {
      metadata: { name },
      webhooks: [
        {
          name: `${name}.nic.test`,
          clientConfig: { url: `https://127.0.0.1:${port}/` },
          rules: [
            {
              apiGroups: ['networking.k8s.io'],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['networkpolicies'],
            },
          ],
          namespaceSelector: { matchLabels: labels },
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 30,
        },
      ],
    },
  });
}

/** Every namespace holds exactly the three strict policies (names are unique, so none twice). */
async function everyNamespaceHasAll(): Promise<void> {
  await watch.until(3 * N, `all ${3 * N} policies`, 120_000);
  const byNs = new Map<string, number>();
  for (const key of watch.present) byNs.set(key.split('/')[0]!, (byNs.get(key.split('/')[0]!) ?? 0) + 1);
  expect([...byNs.values()].every((n) => n === 3) && byNs.size === N).toBe(true);
}

it('finishes the job on the standby when the leader is killed mid-convergence, writing each missing policy once', async () => {
  const leader = controller();
  await leader.waitForLog('became leader; reconciling');
  const standby = controller();
  await standby.waitForLog('another replica holds the lease; standing by');
  await label('strict');
  await eventually(() => watch.present.size >= 600, 'the leader part-way', 60_000);
  const killed = Date.now();
  leader.child.kill('SIGKILL');
  await leader.exited;
  const atKill = watch.present.size;
  expect(atKill).toBeLessThan(3 * N);
  const led = await standby.waitForLog('became leader; reconciling', {}, 30_000);
  await everyNamespaceHasAll();
  await idle(standby, 30_000);
  // The leader's last writes (a namespace's three per worker at most) may land after the kill
  // was seen; everything else is the standby's.
  const standbyWrites = await standby.policyWrites();
  expect(standbyWrites).toBeLessThanOrEqual(3 * N - atKill);
  expect(standbyWrites).toBeGreaterThanOrEqual(3 * N - atKill - 3 * 4);
  console.info(
    `leader killed at ${atKill}/${3 * N} policies; the standby led ${(led.time as number) - killed} ms later and wrote ${standbyWrites}`,
  );
  standby.child.kill('SIGTERM');
  expect(await standby.exited).toBe(0);
});

it('on SIGTERM drains, then aborts a write still in flight before it releases the lease; a restart finishes the job', async () => {
  expect(watch.present.size, 'starts from the converged state the test before leaves').toBe(3 * N);
  // An admission webhook that accepts connections and never answers holds one namespace's first
  // write for 30 s: the drain cannot finish, whatever the machine's speed.
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  await admissionWebhook('nic-test-silent', (silent.address() as AddressInfo).port, { held: 'yes' });
  const blocked = 'proc-held';
  await raw.request('POST', '/api/v1/namespaces', {
    body: { metadata: { name: blocked, labels: { held: 'yes' } } },
  });

  const p = controller(await configFile({ gracefulShutdownSeconds: 3 }));
  await p.waitForLog('became leader; reconciling');
  const probes = await p.probesUrl();
  await raw.request('PATCH', `/api/v1/namespaces/${blocked}`, {
    body: { metadata: { labels: { isolation: 'strict' } } },
    contentType: 'application/merge-patch+json',
  });
  await eventually(() => held.length > 0, "the held namespace's write to reach the webhook");
  p.child.kill('SIGTERM');
  // Until it exits, readiness says it is shutting down.
  const readiness = await eventually(async () => {
    const res = await fetch(`${probes}/readyz?verbose`).catch(() => undefined);
    return res && res.status === 503 ? res.text() : undefined;
  }, 'readyz to answer 503 while draining');
  expect(readiness).toContain('shutting down');
  expect(await p.exited).toBe(0);
  const order = p
    .logs()
    .filter(
      (l) =>
        ['queue not drained in time; aborting what is in flight', 'released the lease', 'stopped'].includes(
          l.msg,
        ) ||
        (l.msg === 'reconcile failed; retrying with backoff' && l.namespace === blocked),
    )
    .map((l) => l.msg);
  // The write is aborted (its reconcile fails) before the lease goes to the next leader.
  expect(order).toEqual([
    'queue not drained in time; aborting what is in flight',
    'reconcile failed; retrying with backoff',
    'released the lease',
    'stopped',
  ]);
  expect(await raw.list(`/apis/networking.k8s.io/v1/namespaces/${blocked}/networkpolicies`)).toMatchObject({
    items: [],
  });

  // Without the webhook, the next leader writes what was left, and the namespaces are unlabelled.
  await raw.request('DELETE', `${WEBHOOKS}/nic-test-silent`);
  for (const socket of held) socket.destroy();
  silent.close();
  const next = controller();
  await watch.until(3 * N + 3, 'the held namespace converged', 60_000);
  const unlabelled = label(null);
  await raw.request('PATCH', `/api/v1/namespaces/${blocked}`, {
    body: { metadata: { labels: { isolation: null } } },
    contentType: 'application/merge-patch+json',
  });
  await unlabelled;
  await watch.until(0, 'every policy removed', 60_000);
  expect(await next.policyWrites()).toBe(3 + 3 * N + 3);
  next.child.kill('SIGTERM');
  expect(await next.exited).toBe(0);
});

it('converges after SIGKILL mid-reconcile and a restart, with no policy written twice', async () => {
  // Half the namespaces' writes are refused (a webhook on a closed port), so the kill certainly
  // comes before convergence, however fast the controller writes the other half.
  const refused = names.slice(N / 2);
  await each(refused, (name) =>
    raw.request('PATCH', `/api/v1/namespaces/${name}`, {
      body: { metadata: { labels: { refuse: 'yes' } } },
      contentType: 'application/merge-patch+json',
    }),
  );
  await admissionWebhook('nic-test-refuse', await freePort(), { refuse: 'yes' });
  const p = controller();
  await p.waitForLog('became leader; reconciling');
  const labelled = label('strict');
  await eventually(() => watch.present.size >= 300, 'creation under way', 60_000);
  await p.waitForLog('reconcile failed; retrying with backoff', {}, 60_000);
  p.child.kill('SIGKILL');
  await p.exited;
  await labelled;
  const atKill = watch.present.size;
  expect(atKill).toBeLessThanOrEqual((3 * N) / 2);

  await raw.request('DELETE', `${WEBHOOKS}/nic-test-refuse`);
  const next = controller();
  await next.waitForLog('became leader; reconciling', {}, 30_000);
  await everyNamespaceHasAll();
  expect(await next.policyWrites()).toBeLessThanOrEqual(3 * N - atKill);
  expect(await next.policyWrites()).toBeGreaterThanOrEqual(3 * N - atKill - 3 * 4);
  next.child.kill('SIGTERM');
  expect(await next.exited).toBe(0);
});

it('serves 10,000 namespaces with 63-character names, writing exactly the policies the selected ones need', async () => {
  const many = Array.from({ length: 10_000 }, (_, i) =>
    `many-${String(i).padStart(5, '0')}-`.padEnd(63, 'x'),
  );
  const selected = many.filter((_, i) => i % 10 === 0);
  await each(many, (name) =>
    raw.request('POST', '/api/v1/namespaces', {
      body: { metadata: { name, labels: selected.includes(name) ? { isolation: 'strict' } : {} } },
    }),
  );
  const p = controller();
  await p.waitForLog('became leader; reconciling', {}, 30_000);
  // The 1,000 earlier namespaces are still strict, with their policies.
  await watch.until(3 * N + 3 * selected.length, 'the selected namespaces converged', 180_000);
  await eventually(async () => (await p.policyWrites()) >= 3 * selected.length, 'the writes counted');
  expect(await p.policyWrites()).toBe(3 * selected.length);
  expect(await p.metric('controller_runtime_reconcile_errors_total{controller="namespace-isolation"}')).toBe(
    0,
  );
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
});
