// Paths and list/watch sources for the resources the controller reads, and its writes to them.
import { LEGACY_ANNOTATION } from '../policy/labels.ts';
import type { NamespaceView, NetworkPolicy } from '../policy/types.ts';
import type { ListWatch } from '../runtime/informer.ts';
import type { KubeClient } from './client.ts';
import { KubeApiError } from './client.ts';

export interface NamespaceObject {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    managedFields?: unknown;
  };
  status?: { phase?: string };
}

/** What the policy model needs of a Namespace. */
export function namespaceView(ns: NamespaceObject): NamespaceView {
  return {
    name: ns.metadata.name,
    labels: ns.metadata.labels ?? {},
    annotations: ns.metadata.annotations ?? {},
    terminating: ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating',
  };
}

/** A managedFields entry without its field set: who wrote the object, how and when. */
export interface Manager {
  manager: string;
  operation: string;
  time?: string;
}

/** A NetworkPolicy as the API server returns it. */
export type ObservedPolicy = NetworkPolicy & {
  metadata: { resourceVersion?: string; managedFields?: unknown };
};

// The caches keep only what the controller reads, as controller-runtime's cache transforms do: at
// thousands of namespaces, timestamps, UIDs, field sets and the like are most of the heap.

/** What the namespace cache keeps: what the policy model and the Events read. */
export function slimNamespace(ns: NamespaceObject): NamespaceObject {
  const { name, uid, resourceVersion, labels, annotations, deletionTimestamp } = ns.metadata;
  const legacy = annotations?.[LEGACY_ANNOTATION];
  const metadata: NamespaceObject['metadata'] = { name, uid, resourceVersion, labels, deletionTimestamp };
  if (legacy !== undefined) metadata.annotations = { [LEGACY_ANNOTATION]: legacy };
  return ns.status?.phase === 'Terminating' ? { metadata, status: { phase: 'Terminating' } } : { metadata };
}

/**
 * What the policy cache keeps: the content compared with the desired policy, the resourceVersion a
 * replace is conditional on, and who wrote it (not the bulky field sets), which names the other
 * side of a fight.
 */
export function slimPolicy(p: ObservedPolicy): ObservedPolicy {
  const { name, namespace, resourceVersion, labels, annotations, managedFields } = p.metadata;
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
    spec: p.spec,
  };
}

const interned = new Map<string, string>();

/** One shared copy of a string that recurs on every policy (a field manager, our label values). */
function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < 1000) interned.set(s, s);
  return s;
}

/** The field manager other than `self` that wrote the object last, if any. */
export function lastOtherManager(
  obj: { metadata: { managedFields?: unknown } },
  self: string,
): string | undefined {
  const entries = ((obj.metadata.managedFields as Manager[] | undefined) ?? []).filter(
    (m) => m.manager !== self,
  );
  entries.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  return entries.at(-1)?.manager;
}

export const NAMESPACES = '/api/v1/namespaces';
export const NETWORK_POLICIES = '/apis/networking.k8s.io/v1/networkpolicies';
export const networkPolicyPath = (namespace: string, name: string) =>
  `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/${name}`;

/** List and watch `path` (optionally by label selector) with bookmarks, in windows of 5-10 minutes. */
export function listWatch<T>(client: KubeClient, path: string, labelSelector?: string): ListWatch<T> {
  return {
    async list(keep) {
      const res = await client.list<T>(path, { labelSelector }, keep);
      return { items: res.items, resourceVersion: res.metadata.resourceVersion };
    },
    watch(resourceVersion, signal) {
      return client.watch<T>(
        path,
        {
          labelSelector,
          resourceVersion,
          allowWatchBookmarks: true,
          // Spread reconnections like client-go does, rather than all at once.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
        },
        signal,
      );
    },
  };
}

export interface WriteOptions {
  fieldManager: string;
  dryRun: boolean;
}

/** Server-side apply with force: we own the fields we set, whoever set them before. */
export function applyNetworkPolicy<T extends { metadata: { name: string; namespace: string } }>(
  client: KubeClient,
  policy: T,
  options: WriteOptions,
): Promise<T> {
  return client.request<T>('PATCH', networkPolicyPath(policy.metadata.namespace, policy.metadata.name), {
    query: { fieldManager: options.fieldManager, force: true, dryRun: options.dryRun ? 'All' : undefined },
    body: policy,
    contentType: 'application/apply-patch+yaml',
  });
}

/**
 * Replaces a policy's spec and labels as a whole, if it is still at `resourceVersion` (409 otherwise).
 * Server-side apply leaves fields that another manager set (a rule added by `kubectl edit`); this does
 * not. A JSON patch rather than a PUT, so that the controller needs the `patch` verb only.
 */
export function replaceNetworkPolicy(
  client: KubeClient,
  policy: { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: unknown },
  resourceVersion: string,
  options: WriteOptions,
): Promise<unknown> {
  return client.request('PATCH', networkPolicyPath(policy.metadata.namespace, policy.metadata.name), {
    query: { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined },
    // The patched object keeps this resourceVersion, which the API server checks like a PUT's.
    body: [
      { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
      { op: 'add', path: '/metadata/labels', value: policy.metadata.labels },
      { op: 'replace', path: '/spec', value: policy.spec },
    ],
    contentType: 'application/json-patch+json',
  });
}

/**
 * Deletes a policy if it is still the version we looked at (a precondition on its
 * resourceVersion), so a policy re-created meanwhile is never removed by mistake. Gone is fine.
 */
export async function deleteNetworkPolicy(
  client: KubeClient,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  options: WriteOptions,
): Promise<void> {
  try {
    await client.request('DELETE', networkPolicyPath(namespace, name), {
      query: { dryRun: options.dryRun ? 'All' : undefined },
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    throw err;
  }
}

/** Removes the given labels with a JSON merge patch (orphaning a policy). */
export async function removeLabels(
  client: KubeClient,
  namespace: string,
  name: string,
  keys: string[],
  options: WriteOptions,
): Promise<void> {
  await client.request('PATCH', networkPolicyPath(namespace, name), {
    query: { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined },
    body: { metadata: { labels: Object.fromEntries(keys.map((k) => [k, null])) } },
    contentType: 'application/merge-patch+json',
  });
}
