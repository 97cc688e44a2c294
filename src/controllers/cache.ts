// What the shared caches keep, as controller-runtime's cache transforms do: at
// thousands of namespaces, timestamps, UIDs, field sets and the like are most of the heap.
import { deepFreeze } from '../policy/freeze.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Manager, NamespaceObject, ObservedPolicy } from '../kube/objects.ts';
import { listWatch } from '../kube/resources.ts';
import type { SetupContext } from '../runtime/manager.ts';
import { EXCEPTION_REASON_ANNOTATION, isManaged, LEGACY_ANNOTATION } from '../policy/labels.ts';
import type { NetworkPolicySpec } from '../policy/types.ts';

/**
 * The informers every controller shares, always with the same transforms: every Namespace, and
 * every NetworkPolicy (the tenants' too, kept as their spec).
 */
export function sharedInformers(informer: SetupContext<unknown>['informer'], client: KubeClient) {
  return {
    namespaces: informer<NamespaceObject>('namespaces', () => listWatch(client, 'Namespace'), slimNamespace),
    policies: informer<ObservedPolicy>(
      'networkpolicies',
      () => listWatch(client, 'NetworkPolicy'),
      slimPolicy,
    ),
  };
}

/** What the namespace cache keeps: what the policy model and the Events read. */
export function slimNamespace(ns: NamespaceObject): NamespaceObject {
  const { name, uid, resourceVersion, labels, annotations, deletionTimestamp } = ns.metadata;
  const metadata: NamespaceObject['metadata'] = { name, uid, resourceVersion, labels, deletionTimestamp };
  for (const key of [LEGACY_ANNOTATION, EXCEPTION_REASON_ANNOTATION]) {
    const value = annotations?.[key];
    if (value !== undefined) (metadata.annotations ??= {})[key] = value;
  }
  return ns.status?.phase === 'Terminating' ? { metadata, status: { phase: 'Terminating' } } : { metadata };
}

/**
 * What the policy cache keeps. Of ours: the content compared with the desired policy, the
 * resourceVersion a replace is conditional on, and who wrote it (not the bulky field sets), which
 * names the other side of a fight. Of the others (the tenants'): what the compliance evaluator
 * reads, their spec.
 */
export function slimPolicy(p: ObservedPolicy): ObservedPolicy {
  const { name, namespace, resourceVersion, labels, annotations, managedFields } = p.metadata;
  if (!isManaged(labels)) {
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace, resourceVersion },
      spec: shared(p.spec),
    };
  }
  const managers = (managedFields as Manager[] | undefined)?.map(({ manager, operation, time }) => ({
    manager: intern(manager),
    operation: intern(operation),
    time,
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      namespace,
      resourceVersion,
      labels: labels && Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, intern(v)])),
      annotations,
      managedFields: managers,
    },
    spec: shared(p.spec),
  };
}

const specs = new Map<string, NetworkPolicySpec>();

/**
 * One copy of each distinct spec: ours are the same few in every namespace, and tenants' often
 * are too (rendered from one template). Frozen, so sharing is safe (and its comparisons cached).
 */
function shared(spec: NetworkPolicySpec): NetworkPolicySpec {
  const key = JSON.stringify(spec);
  const known = specs.get(key);
  if (known) return known;
  if (specs.size < 10_000) specs.set(key, spec);
  return deepFreeze(spec);
}

const interned = new Map<string, string>();

/** One shared copy of a string that recurs on every policy (a field manager, our label values). */
function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < 1000) interned.set(s, s);
  return s;
}
