// Operating the controller: metrics, health probes, leader election between two processes,
// dry-run, and the render and check commands, against the real API server.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { microTime } from '../../src/kube/microtime.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import type { NetworkPolicy } from '../../src/policy/types.ts';
import { startTestController } from '../support/controller.ts';
import { uniqueName } from '../support/kube.ts';
import { type ControllerProcess, configFile, ensureStopped, startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { tempDir } from '../../harness/tmp.ts';

const kubeconfig = inject('kubeconfig');
const raw = new KubeClient(loadKubeConfig(kubeconfig));
const STRICT = ['default-deny-all', 'allow-dns', 'allow-same-namespace'];
type Policy = NetworkPolicy & { metadata: { resourceVersion: string } };
type Lease = { spec: { holderIdentity?: string; leaseTransitions?: number } };

const started: ControllerProcess[] = [];
function controller(args: string[], env?: Record<string, string>): ControllerProcess {
  const p = startProcess(args, env);
  started.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map(ensureStopped));
});
afterAll(() => raw.close());

async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('it-ops');
  await raw.request('POST', '/api/v1/namespaces', { body: { metadata: { name, labels } } });
  return name;
}

const getPolicy = (ns: string, name: string) => raw.request<Policy>('GET', networkPolicyPath(ns, name));
const deletePolicy = (ns: string, name: string) => raw.request('DELETE', networkPolicyPath(ns, name));
const listPolicies = async (ns: string) =>
  (await raw.list<Policy>(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`)).items;
const hasStrictPolicies = async (ns: string) => (await listPolicies(ns)).length === STRICT.length;

describe('metrics', () => {
  it('exposes controller-runtime and its own metrics on /metrics while reconciling, pre-registered at zero', async () => {
    const ctl = controller(['--kubeconfig', kubeconfig]);
    // Pre-registered before any reconcile ran.
    expect(
      await ctl.metric(
        'controller_runtime_reconcile_total{controller="namespace-isolation",result="requeue"}',
      ),
    ).toBe(0);
    expect(
      await ctl.metric(
        'workqueue_retries_total{name="namespace-isolation",controller="namespace-isolation"}',
      ),
    ).toBe(0);
    expect(
      await ctl.metric('controller_runtime_max_concurrent_reconciles{controller="namespace-isolation"}'),
    ).toBe(4);
    expect(
      await ctl.metric('namespace_isolation_drift_repairs_total{policy="allow-dns",drift="modified"}'),
    ).toBe(0);

    const ns = await namespace({ isolation: 'strict' });
    await eventually(() => hasStrictPolicies(ns), 'the strict policies');
    await deletePolicy(ns, 'allow-dns');
    await eventually(() => getPolicy(ns, 'allow-dns'), 'allow-dns restored');
    await eventually(
      async () =>
        (await ctl.metric('namespace_isolation_drift_repairs_total{policy="allow-dns",drift="deleted"}')) ===
        1,
      'the repair to be counted',
    );
    expect(await ctl.metric('namespace_isolation_drift_repair_duration_seconds_count')).toBe(1);
    expect(await ctl.metric('namespace_isolation_drift_repair_duration_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(
      await ctl.metric(
        'namespace_isolation_policy_writes_total{policy="allow-dns",operation="apply",dry_run="false"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await ctl.metric('namespace_isolation_managed_namespaces{profile="strict"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await ctl.metric(
        'controller_runtime_reconcile_total{controller="namespace-isolation",result="success"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await ctl.metric('workqueue_adds_total{name="namespace-isolation",controller="namespace-isolation"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(await ctl.metric('rest_client_requests_total{method="PATCH",code="201"}')).toBeGreaterThanOrEqual(
      4,
    );
    expect(
      await ctl.metric(
        'namespace_isolation_last_successful_list_timestamp_seconds{resource="networkpolicies"}',
      ),
    ).toBeGreaterThan(0);
    expect(await ctl.metric('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('health probes', () => {
  it('is alive but not ready while the API server cannot be reached, and says why', async () => {
    const unreachable = join(await tempDir('unreachable'), 'kubeconfig');
    const text = await readFile(kubeconfig, 'utf8');
    await writeFile(unreachable, text.replace(/server: .+/, 'server: https://127.0.0.1:1'));
    const ctl = controller(['--kubeconfig', unreachable]);
    const probes = await ctl.probesUrl();
    const healthz = await fetch(`${probes}/healthz`);
    expect([healthz.status, await healthz.text()]).toEqual([200, 'ok']);
    const readyz = await fetch(`${probes}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.text()).toContain(
      '[-]informer-sync failed: caches not synced yet: namespaces, networkpolicies',
    );
    await eventually(
      async () =>
        ((await ctl.metric(
          'namespace_isolation_watch_restarts_total{resource="namespaces",reason="error"}',
        )) ?? 0) > 0,
      'a failed list to be counted as a watch restart',
    );
    await ctl.waitForLog('watch ended; restarting', { resource: 'namespaces' });
    ctl.child.kill('SIGTERM');
    expect(await ctl.exited).toBe(0);
  });

  it('becomes ready once its caches have synced, and closes its ports when it stops', async () => {
    const ctl = controller(['--kubeconfig', kubeconfig]);
    const probes = await ctl.probesUrl();
    await eventually(async () => (await fetch(`${probes}/readyz`)).status === 200, 'readyz 200');
    const verbose = await (await fetch(`${probes}/readyz?verbose`)).text();
    expect(verbose).toBe('[+]informer-sync ok\n[+]shutdown ok\nreadyz check passed\n');
    expect((await fetch(`${probes}/healthz?verbose`)).status).toBe(200);
    ctl.child.kill('SIGTERM');
    expect(await ctl.exited).toBe(0);
    await expect(fetch(`${probes}/healthz`)).rejects.toThrow();
  });
});

describe('leader election', () => {
  // Short timings so that a killed leader is replaced quickly; the defaults are 15/10/2 s.
  const timing = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 };
  const leaseWithin = (timing.leaseDurationSeconds + 2 * timing.retryPeriodSeconds + 5) * 1000;

  async function replicas(count: number) {
    const leaseNamespace = await namespace();
    const config = await configFile({ leaderElection: timing });
    const start = () =>
      controller(['--kubeconfig', kubeconfig, '--config', config], {
        LEADER_ELECT: 'true',
        LEADER_ELECTION_NAMESPACE: leaseNamespace,
      });
    const first = start();
    await first.waitForLog('became leader; reconciling');
    const rest = Array.from({ length: count - 1 }, start);
    for (const r of rest) await r.waitForLog('another replica holds the lease; standing by');
    const lease = () =>
      raw.request<Lease>(
        'GET',
        `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases/namespace-isolation-controller`,
      );
    return { leaseNamespace, first, rest, start, lease };
  }

  it('lets only the leader write; a standby is ready, writes nothing, and takes over when the leader is killed', async () => {
    const {
      first: leader,
      rest: [standby],
      lease,
    } = await replicas(2);
    const ns = await namespace({ isolation: 'strict' });
    await eventually(() => hasStrictPolicies(ns), 'the strict policies, from the leader');
    expect(await leader.metric('leader_election_master_status{name="namespace-isolation-controller"}')).toBe(
      1,
    );
    expect(
      await standby!.metric('leader_election_master_status{name="namespace-isolation-controller"}'),
    ).toBe(0);
    expect(await standby!.metric('rest_client_requests_total{method="PATCH",code="201"}')).toBeUndefined();
    expect(await standby!.metric('rest_client_requests_total{method="DELETE",code="200"}')).toBeUndefined();
    expect((await fetch(`${await standby!.probesUrl()}/readyz`)).status).toBe(200);

    const before = (await lease()).spec.leaseTransitions ?? 0;
    leader.child.kill('SIGKILL');
    await standby!.waitForLog('became leader; reconciling', {}, leaseWithin);
    expect((await lease()).spec.leaseTransitions).toBe(before + 1);
    await deletePolicy(ns, 'default-deny-all');
    await eventually(() => getPolicy(ns, 'default-deny-all'), 'the new leader to repair a deletion');
  });

  it('hands the lease over at once on SIGTERM, and exits non-zero when the lease is taken from it', async () => {
    const {
      first: leader,
      rest: [standby],
      start,
      lease,
      leaseNamespace,
    } = await replicas(2);
    leader.child.kill('SIGTERM');
    expect(await leader.exited).toBe(0);
    expect(leader.logs().map((l) => l.msg)).toContain('released the lease');
    // Released, the lease is free at once: well before it would have expired.
    await standby!.waitForLog('became leader; reconciling', {}, leaseWithin);
    const holder = (await lease()).spec.holderIdentity;
    expect(holder).toBeTruthy();

    // Someone else takes the lease: the leader must stop at once, with a non-zero exit.
    const third = start();
    await third.waitForLog('another replica holds the lease; standing by');
    const current = await lease();
    await raw.request(
      'PUT',
      `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases/namespace-isolation-controller`,
      {
        body: {
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: 'intruder',
            leaseDurationSeconds: 3600,
            renewTime: microTime(Date.now()),
          },
        },
      },
    );
    expect(await standby!.exited).toBe(1);
    expect(standby!.logs().map((l) => l.msg)).toContain('leader election lost; exiting');
  });
});

describe('dry-run', () => {
  it('changes nothing, and reports what it would have done in Events, logs and metrics', async () => {
    const ctl = await startTestController(kubeconfig, { dryRun: true });
    try {
      const ns = await namespace({ isolation: 'strict' });
      const events = await eventually(async () => {
        const list = await raw.list<{ reason: string; note: string }>(
          `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
        );
        return list.items.length > 0 ? list.items : undefined;
      }, 'the Event');
      expect(events.map((e) => e.note)).toEqual([
        'dry run: would have created NetworkPolicies default-deny-all, allow-dns, allow-same-namespace for profile strict',
      ]);
      expect(await listPolicies(ns)).toEqual([]);
      expect(ctl.logs.find((l) => l.namespace === ns && l.msg === 'applied NetworkPolicy')).toMatchObject({
        dryRun: true,
      });
      expect(
        await ctl.metric('namespace_isolation_policy_writes_total', {
          policy: 'allow-dns',
          operation: 'apply',
          dry_run: 'true',
        }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await ctl.stop();
    }
  });
});

describe('render and check', () => {
  async function cli(args: string[]) {
    const p = controller(args);
    const code = await p.exited;
    return { code, out: p.out(), err: p.err() };
  }

  it('render prints exactly what the controller applies, so that a GitOps tool applying it is never fought', async () => {
    const ns = await namespace();
    const rendered = await cli(['render', '--namespace', ns]);
    expect(rendered.code).toBe(0);
    const docs = parseAllDocuments(rendered.out).map((d) => d.toJS() as Policy);
    expect(docs.map((d) => d.metadata.name)).toEqual(STRICT);

    const ctl = await startTestController(kubeconfig);
    try {
      await raw.request('PATCH', `/api/v1/namespaces/${ns}`, {
        body: { metadata: { labels: { isolation: 'strict' } } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(() => hasStrictPolicies(ns), 'the strict policies');
      for (const doc of docs) {
        const live = await getPolicy(ns, doc.metadata.name);
        expect(live.spec).toEqual(doc.spec);
        expect(live.metadata.labels).toEqual(doc.metadata.labels);
      }
      await ctl.idle();
      const writes = ctl.writes().patch;
      // A GitOps tool applies the rendered objects under its own field manager.
      const applied: Policy[] = [];
      for (const doc of docs) {
        applied.push(
          await raw.request<Policy>('PATCH', networkPolicyPath(ns, doc.metadata.name), {
            query: { fieldManager: 'gitops' },
            body: doc,
            contentType: 'application/apply-patch+yaml',
          }),
        );
      }
      await eventually(
        () =>
          applied.every(
            (a) =>
              ctl.policies.get(`${ns}/${a.metadata.name}`)?.metadata.resourceVersion ===
              a.metadata.resourceVersion,
          ),
        'the controller to see the GitOps applies',
      );
      await ctl.idle();
      expect(ctl.writes().patch).toBe(writes);
    } finally {
      await ctl.stop();
    }
  });

  it('render refuses an unknown profile with exit code 2', async () => {
    const r = await cli(['render', '--namespace', 'team-a', '--profile', 'Strict']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      '--profile: "Strict" is not a profile; defined: strict, same-namespace-only, default-deny-ingress',
    );
  });

  it('check exits 1 with the differences while a namespace is out of compliance, and 0 once it is in', async () => {
    const ns = await namespace({ isolation: 'strict' });
    const missing = await cli(['check', '--namespace', ns, '--kubeconfig', kubeconfig]);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain(
      `namespace ${ns} (profile strict): allow-dns missing, allow-same-namespace missing, default-deny-all missing`,
    );
    expect(missing.out).toContain(`+++ controller/${ns}/allow-dns`);

    const ctl = await startTestController(kubeconfig);
    await eventually(() => hasStrictPolicies(ns), 'the strict policies');
    await ctl.stop();
    const ok = await cli(['check', '--namespace', ns, '--kubeconfig', kubeconfig]);
    expect([ok.code, ok.out]).toEqual([
      0,
      [
        'all 1 selected namespaces are in compliance',
        `namespace ${ns} (profile strict): isolation verdict pass`,
        '  pass  default-deny-all: present, as the profile defines it',
        '  pass  allow-dns: present, as the profile defines it',
        '  pass  allow-same-namespace: present, as the profile defines it',
        '',
      ].join('\n'),
    ]);

    await raw.request('PATCH', networkPolicyPath(ns, 'default-deny-all'), {
      body: { spec: { policyTypes: ['Ingress'] } },
      contentType: 'application/merge-patch+json',
    });
    const modified = await cli(['check', '--kubeconfig', kubeconfig]);
    expect(modified.code).toBe(1);
    expect(modified.out).toContain(`namespace ${ns} (profile strict): default-deny-all modified`);
    expect(modified.out).toMatch(/^\+ {4}- Egress$/m);

    const unknown = await namespace({ isolation: 'Strict' });
    const typo = await cli(['check', '--namespace', unknown, '--kubeconfig', kubeconfig]);
    expect(typo.code).toBe(1);
    expect(typo.out).toContain(`namespace ${unknown}: label isolation=Strict names no profile`);
  });

  it('check exits 2 when the namespace does not exist', async () => {
    const r = await cli(['check', '--namespace', uniqueName('absent'), '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/check: --namespace: namespace absent-\w+ does not exist/);
  });
});
