// The table of resources the controller reads and writes: where each kind lives in the API, so
// that one list/watch source and one write path (apply.ts) serve every kind.
import type { ListWatch } from '../runtime/informer.ts';
import { StreamingUnavailable } from '../runtime/watch-errors.ts';
import { KubeApiError, type KubeClient } from './client.ts';

export interface ResourceType {
  /** `v1` for the core group, `group/version` otherwise. */
  apiVersion: string;
  /** The plural resource name in paths. */
  plural: string;
  namespaced: boolean;
}

/** Every kind the controller touches. A new kind is one line here. */
export const RESOURCES = {
  Namespace: { apiVersion: 'v1', plural: 'namespaces', namespaced: false },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies', namespaced: true },
  Event: { apiVersion: 'events.k8s.io/v1', plural: 'events', namespaced: true },
  Lease: { apiVersion: 'coordination.k8s.io/v1', plural: 'leases', namespaced: true },
  // Read by `check` only: the admission guardrails are a cluster admin's to install.
  ValidatingAdmissionPolicy: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  ValidatingAdmissionPolicyBinding: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  // Read only where a profile has allow-kube-apiserver: the kubernetes Service's, in default.
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  // check --probe's, with the user's credentials: its Pods in its own namespaces, the kubernetes Service.
  Pod: { apiVersion: 'v1', plural: 'pods', namespaced: true },
  Service: { apiVersion: 'v1', plural: 'services', namespaced: true },
  // Written only where the CRD is installed (kube/discovery.ts).
  PolicyReport: { apiVersion: 'wgpolicyk8s.io/v1alpha2', plural: 'policyreports', namespaced: true },
  // The dataplane probe's verdict, where the CRD is installed.
  ClusterPolicyReport: {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    plural: 'clusterpolicyreports',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;

export type Kind = keyof typeof RESOURCES;

/** Enough to name one object of a kind in the table. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

export function resourceOf(kind: string): ResourceType {
  if (!Object.hasOwn(RESOURCES, kind))
    throw new Error(`kind ${kind} is not in the resource table (kube/resources.ts)`);
  return RESOURCES[kind as Kind];
}

/**
 * The path of a kind's collection (all namespaces when `namespace` is undefined), or of one
 * object when `name` is given.
 */
export function resourcePath(kind: string, namespace?: string, name?: string): string {
  const { apiVersion, plural, namespaced } = resourceOf(kind);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespaced && namespace !== undefined ? `/namespaces/${namespace}` : '';
  return `${base}${ns}/${plural}${name === undefined ? '' : `/${name}`}`;
}

/** The path of one object. */
export function objectPath(obj: ObjectRef): string {
  return resourcePath(obj.kind, obj.metadata.namespace, obj.metadata.name);
}

export const NAMESPACES = resourcePath('Namespace');
export const NETWORK_POLICIES = resourcePath('NetworkPolicy');
export const networkPolicyPath = (namespace: string, name: string) =>
  resourcePath('NetworkPolicy', namespace, name);

export interface Scope {
  /** One namespace; all when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** List and watch a kind (optionally by namespace and selectors) with bookmarks, in windows of 5-10 minutes. */
export function listWatch<T>(client: KubeClient, kind: Kind, scope: Scope = {}): ListWatch<T> {
  const { namespace, labelSelector, fieldSelector } = scope;
  const path = resourcePath(kind, namespace);
  const query = { labelSelector, fieldSelector, allowWatchBookmarks: true };
  // Spread reconnections like client-go does, rather than all at once.
  const window = () => ({ timeoutSeconds: 300 + Math.floor(Math.random() * 300) });
  return {
    async list(keep) {
      const res = await client.list<T>(path, { labelSelector, fieldSelector }, keep);
      return { items: res.items, resourceVersion: res.metadata.resourceVersion };
    },
    watch(resourceVersion, signal) {
      return client.watch<T>(path, { ...query, resourceVersion, ...window() }, signal);
    },
    async watchList(signal) {
      try {
        // Every object as of now or later (NotOlderThan with no resourceVersion: the latest), then
        // the bookmark that ends the list, as client-go's reflector asks for it.
        const q = { ...query, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', ...window() };
        return await client.watch<T>(path, q, signal);
      } catch (err) {
        // 422 Invalid or 400 where the WatchList feature is off or the server predates it.
        if (err instanceof KubeApiError && (err.status === 422 || err.status === 400))
          throw new StreamingUnavailable(err);
        throw err;
      }
    },
  };
}
