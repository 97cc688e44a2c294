// What both installs (kubectl apply -k manifests/, and the Helm chart) must prove against the real
// API server: the Deployment's Pods pass admission, and the controller, as its ServiceAccount with
// only the installed RBAC, does its whole job without one refusal.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { KubeClient } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { type ControllerProcess, ensureStopped, startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { uniqueName } from './kube.ts';
import { controllerNamespace } from './users.ts';
import { tempDir } from '../../harness/tmp.ts';

/** RBAC refusals in a controller's log, as "verb resource.group": the permissions it lacked. */
function refusals(p: ControllerProcess): string[] {
  const found = new Set<string>();
  for (const m of p
    .out()
    .matchAll(/cannot (\w+) resource \\?"([^"\\]+)\\?"(?: in API group \\?"([^"\\]*)\\?")?/g)) {
    found.add(`${m[1]} ${m[2]}${m[3] ? `.${m[3]}` : ''}`);
  }
  return [...found];
}

interface Owned {
  metadata: { name: string; uid: string; ownerReferences?: { uid: string }[] };
  status?: { conditions?: { type: string; message?: string }[] };
}

/**
 * What kube-controller-manager made of Deployment `name`: its ReplicaSet's Pods once `replicas`
 * exist, or the ReplicaFailure (Pod Security admission's refusal) that stops it creating them.
 */
export async function podsOf(
  admin: KubeClient,
  name: string,
  replicas: number,
): Promise<{ pods: number } | { refused: string }> {
  const ns = controllerNamespace;
  const deployment = await admin.request<Owned>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  return eventually(async () => {
    const sets = await admin.list<Owned>(`/apis/apps/v1/namespaces/${ns}/replicasets`);
    const set = sets.items.find((r) =>
      r.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid),
    );
    if (!set) return undefined;
    const failure = set.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
    if (failure) return { refused: failure.message ?? '' };
    const pods = (await admin.list<Owned>(`/api/v1/namespaces/${ns}/pods`)).items.filter((p) =>
      p.metadata.ownerReferences?.some((o) => o.uid === set.metadata.uid),
    );
    return pods.length === replicas ? { pods: pods.length } : undefined;
  }, `Deployment ${name}'s ReplicaSet to create its Pods or fail to`);
}

/**
 * The controller, started with `configText` as the user `controllerKubeconfig` names (its
 * ServiceAccount), creates, repairs, records Events, cleans up and leads, without one refusal;
 * a wait that times out names the permissions it was refused.
 */
export async function doesItsJob(admin: KubeClient, controllerKubeconfig: string, configText: string) {
  const config = join(await tempDir('shipped-config'), 'controller.yaml');
  await writeFile(config, configText);
  const p = startProcess(['--kubeconfig', controllerKubeconfig, '--config', config, '--leader-elect'], {
    LEADER_ELECTION_NAMESPACE: controllerNamespace,
  });
  try {
    await scenario(admin, p);
  } finally {
    await ensureStopped(p);
  }
}

async function scenario(admin: KubeClient, p: ControllerProcess) {
  // A wait that fails with the permissions the controller was refused, if any.
  const step = async <T>(what: string, check: () => Promise<T | undefined | false>) => {
    try {
      return await eventually(check, what, 20_000);
    } catch (err) {
      const missing = refusals(p);
      throw missing.length ? new Error(`${what}: the shipped RBAC lacks ${missing.join(', ')}`) : err;
    }
  };

  await step('leadership (Lease create, get, update)', () =>
    Promise.resolve(p.logs().some((l) => l.msg === 'became leader; reconciling')),
  );
  const ns = uniqueName('it-rbac');
  await admin.request('POST', '/api/v1/namespaces', {
    body: { metadata: { name: ns, labels: { isolation: 'strict' } } },
  });
  const list = async () =>
    (
      await admin.list<{ metadata: { name: string } }>(
        `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
      )
    ).items;
  await step('the three policies (server-side apply creating them)', async () => (await list()).length === 3);
  for (let i = 0; i < 2; i++) {
    await admin.request('DELETE', networkPolicyPath(ns, 'allow-dns'));
    await step(`allow-dns repaired, time ${i + 1}`, () =>
      admin.request('GET', networkPolicyPath(ns, 'allow-dns')),
    );
  }
  await step('the repeated PolicyRepaired Event counted in a series (Event create, patch)', async () => {
    const events = await admin.list<{ reason: string; series?: { count: number } }>(
      `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
    );
    return events.items.some((e) => e.reason === 'PolicyRepaired' && (e.series?.count ?? 0) >= 2);
  });
  await admin.request('PATCH', `/api/v1/namespaces/${ns}`, {
    body: { metadata: { labels: { isolation: null } } },
    contentType: 'application/merge-patch+json',
  });
  await step('the policies removed when the label goes (delete)', async () => (await list()).length === 0);

  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
  expect(p.logs().map((l) => l.msg)).toContain('released the lease');
  expect(refusals(p)).toEqual([]);
}
