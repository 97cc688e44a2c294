// The controller against the real API server: create, repair, clean up, take over, write nothing
// when nothing changed, and keep serving the others when one namespace is refused.
import { isDeepStrictEqual } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { managers } from '../../src/kube/objects.ts';
import { canonicalSpec } from '../../src/policy/compare.ts';
import { desiredPolicies } from '../../src/policy/desired.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures, type Policy, policiesPath, STRICT } from '../support/fixtures.ts';
import { clients, statusOf } from '../support/kube.ts';
import { eventually } from '../../harness/wait.ts';

const kubeconfig = inject('kubeconfig');
const admin = clients(kubeconfig);
const { raw, policies, close, ...fixture } = fixtures(kubeconfig);
const npPath = policiesPath;
const createPolicy = (ns: string, body: unknown) => raw.request<Policy>('POST', npPath(ns), { body });
let ctl: Awaited<ReturnType<typeof startTestController>>;

beforeAll(async () => {
  ctl = await startTestController(kubeconfig);
  // Other files leave namespaces behind (a dry run's, for one); their backlog is not this file's.
  await ctl.idle();
});
afterAll(async () => {
  await ctl?.stop();
  await close();
});

const namespace = (labels: Record<string, string> = {}) => fixture.namespace('it-ctl', labels);

async function setLabel(name: string, value: string | null) {
  await admin.core.patchNamespace(
    { name, body: { metadata: { labels: { isolation: value } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

const names = (ps: Policy[]) => ps.map((p) => p.metadata.name);

/** Waits until the namespace holds exactly the strict policies with the desired specs and labels. */
async function converged(namespace: string) {
  const want = desiredPolicies(namespace, 'strict', defaultPolicyConfig);
  return eventually(async () => {
    const have = await policies(namespace);
    const managed = have.filter((p) => p.metadata.labels?.['app.kubernetes.io/managed-by']);
    if (names(managed).join() !== STRICT.join()) return false;
    for (const w of want) {
      const h = managed.find((p) => p.metadata.name === w.metadata.name)!;
      if (!isDeepStrictEqual(h.spec, w.spec)) return false;
      if (h.metadata.labels?.['namespace-isolation-controller/profile'] !== 'strict') return false;
    }
    return have;
  }, `the strict policies in ${namespace}`);
}

describe('namespace isolation controller', () => {
  it('gives a namespace labelled isolation=strict exactly the three strict policies, in 3 writes', async () => {
    const before = ctl.writes().patch;
    const ns = await namespace({ isolation: 'strict' });
    const have = await converged(ns);
    expect(names(have)).toEqual(STRICT);
    await ctl.idle();
    expect(ctl.writes().patch - before).toBe(3);
  });

  it('repairs a deleted policy, an edited spec, a rule added by hand and stripped labels', async () => {
    const ns = await namespace({ isolation: 'strict' });
    await converged(ns);

    await admin.net.deleteNamespacedNetworkPolicy({ name: 'allow-dns', namespace: ns });
    await converged(ns);
    const notes = async () =>
      (
        await raw.list<{ reason: string; note: string }>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)
      ).items
        .map((e) => `${e.reason}: ${e.note}`)
        .sort();
    // One Event for the namespace's first policies together, one per repair.
    await eventually(async () => (await notes()).length === 2, 'the Events');
    expect(await notes()).toEqual([
      'PolicyApplied: created NetworkPolicies default-deny-all, allow-dns, allow-same-namespace for profile strict',
      'PolicyRepaired: repaired NetworkPolicy allow-dns (deleted) for profile strict',
    ]);

    await admin.net.patchNamespacedNetworkPolicy(
      { name: 'default-deny-all', namespace: ns, body: { spec: { policyTypes: ['Ingress'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await converged(ns);

    // A rule added by hand (kubectl edit): a field another manager owns, which a server-side
    // apply alone would leave in place.
    await raw.request('PATCH', `${npPath(ns)}/default-deny-all`, {
      query: { fieldManager: 'kubectl-edit' },
      body: { spec: { ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] } },
      contentType: 'application/merge-patch+json',
    });
    await converged(ns);

    await admin.net.patchNamespacedNetworkPolicy(
      {
        name: 'allow-same-namespace',
        namespace: ns,
        body: { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await converged(ns);
  });

  it('removes its policies when the label goes, puts them back when it returns, and never touches tenant policies', async () => {
    const ns = await namespace();
    const tenant = await createPolicy(ns, {
      metadata: { name: 'tenant-allow-web', namespace: ns },
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: {} }] }] },
    });
    await setLabel(ns, 'strict');
    expect(names(await converged(ns))).toEqual([...STRICT, 'tenant-allow-web'].sort());

    await setLabel(ns, null);
    await eventually(
      async () => names(await policies(ns)).join() === 'tenant-allow-web',
      'the strict policies to go',
    );

    await setLabel(ns, 'strict');
    await converged(ns);
    const after = (await policies(ns)).find((p) => p.metadata.name === 'tenant-allow-web');
    expect(after?.metadata.resourceVersion).toBe(tenant.metadata.resourceVersion);
  });

  it('writes nothing when restarted with everything in sync, including a namespace made in sync while it was down', async () => {
    await ctl.stop();
    const ns = await namespace({ isolation: 'strict' });
    for (const p of desiredPolicies(ns, 'strict', defaultPolicyConfig)) await createPolicy(ns, p);
    ctl = await startTestController(kubeconfig);
    expect(ctl.queue.length).toBeGreaterThan(0); // every namespace is looked at after the list
    await ctl.idle();
    expect(ctl.writes()).toEqual({ patch: 0, put: 0, delete: 0 });
  });

  it('orphans instead of deleting when configured: the policies stay, without its labels', async () => {
    await ctl.stop();
    ctl = await startTestController(kubeconfig, { config: { optOut: 'orphan' } });
    try {
      const ns = await namespace({ isolation: 'strict' });
      await converged(ns);
      await setLabel(ns, null);
      const left = await eventually(async () => {
        const have = await policies(ns);
        return have.every((p) => !p.metadata.labels?.['app.kubernetes.io/managed-by']) && have;
      }, 'the policies to lose their labels');
      expect(names(left)).toEqual(STRICT);
      expect(left.every((p) => !p.metadata.labels?.['namespace-isolation-controller/profile'])).toBe(true);
      // Nothing says they were ours: our managedFields entries went with the labels; the content stayed.
      expect(left.map((p) => managers(p))).toEqual(STRICT.map(() => []));
      const desired = new Map(
        desiredPolicies(ns, 'strict', defaultPolicyConfig).map((p) => [p.metadata.name, p]),
      );
      for (const p of left)
        expect(canonicalSpec(p.spec)).toBe(canonicalSpec(desired.get(p.metadata.name)!.spec));
    } finally {
      await ctl.stop();
      ctl = await startTestController(kubeconfig);
    }
  });

  it('takes over matching policies created without its label with one write each and no change of content', async () => {
    const ns = await namespace();
    for (const p of desiredPolicies(ns, 'strict', defaultPolicyConfig)) {
      await createPolicy(ns, { metadata: { name: p.metadata.name, namespace: ns }, spec: p.spec });
    }
    const generations = (await policies(ns)).map((p) => p.metadata.generation);
    const before = ctl.writes().patch;
    await setLabel(ns, 'strict');
    const have = await converged(ns);
    await ctl.idle();
    expect(ctl.writes().patch - before).toBe(3);
    expect(have.map((p) => p.metadata.generation)).toEqual(generations);
  });

  it('leaves a namespace with an unknown profile value alone', async () => {
    const ns = await namespace({ isolation: 'Strict' });
    await eventually(() => ctl.namespaces.get(ns), 'the namespace in the cache');
    await ctl.idle();
    expect(await policies(ns)).toEqual([]);
  });

  it('lets a deleted namespace go: nothing created again while the namespace controller empties it', async () => {
    const ns = await namespace({ isolation: 'strict' });
    await converged(ns);
    const before = ctl.writes();
    // kube-controller-manager's namespace controller deletes the policies, then the namespace.
    await admin.core.deleteNamespace({ name: ns });
    await eventually(
      async () => (await statusOf(admin.core.readNamespace({ name: ns }))) === 404,
      'the namespace to be gone',
      60_000,
    );
    await eventually(() => !ctl.namespaces.get(ns), 'the namespace gone from the cache');
    await ctl.idle();
    expect(ctl.writes()).toEqual(before);
    expect(ctl.logs.filter((l) => l.namespace === ns && l.msg === 'reconcile failed')).toEqual([]);
  });

  it('converges 200 namespaces labelled at once', async () => {
    const created = await Promise.all(Array.from({ length: 200 }, () => namespace({ isolation: 'strict' })));
    await eventually(
      () => (created.every((ns) => STRICT.every((p) => ctl.policies.get(`${ns}/${p}`))) ? true : undefined),
      'all 600 policies',
      120_000,
    );
    for (const ns of created.slice(0, 5)) await converged(ns);
  });

  it('keeps serving other namespaces while one refuses a policy, and holds back the gate policy until it lands', async () => {
    const refused = await namespace();
    const lift = await fixture.refusePolicies(refused, ['allow-dns'], 'NetworkPolicies are frozen here');

    await setLabel(refused, 'strict');
    const others = await Promise.all([
      namespace({ isolation: 'strict' }),
      namespace({ isolation: 'strict' }),
    ]);
    for (const ns of others) await converged(ns);
    await eventually(() => ctl.queue.retries(refused) >= 2, 'the refused namespace to be retried');
    // Pods may start once the gate policy (default-deny-all) exists: it waits for allow-dns.
    expect(names(await policies(refused)).filter((n) => STRICT.includes(n))).toEqual([
      'allow-same-namespace',
    ]);
    // Repeated failures are one Event per policy whose series counts them, not a pile of Events.
    await eventually(() => ctl.queue.retries(refused) >= 4, 'more retries');
    const events = await raw.list<{ reason: string; type: string; note: string; series?: { count: number } }>(
      `/apis/events.k8s.io/v1/namespaces/${refused}/events`,
    );
    const failures = events.items.filter((e) => e.reason === 'ApplyFailed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      type: 'Warning',
      note: expect.stringContaining('NetworkPolicy allow-dns: ') as string,
    });
    expect(failures[0]!.note).toContain('NetworkPolicies are frozen here');
    expect(failures[0]!.series?.count).toBeGreaterThanOrEqual(2);

    // Once allow-dns is accepted, the gate policy follows it.
    await lift();
    await converged(refused);
    const rv = new Map(
      (await policies(refused)).map((p) => [p.metadata.name, Number(p.metadata.resourceVersion)]),
    );
    expect(rv.get('default-deny-all')).toBeGreaterThan(rv.get('allow-dns')!);
  });
});
