// Namespaces, policies, Events and paths for the integration tests, against the real API server.
import { KubeApiError, KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { REPORT_NAME, VERDICT_LABEL } from '../../src/policy/compliance.ts';
import { MANAGED_BY_LABEL } from '../../src/policy/labels.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import type { NetworkPolicy } from '../../src/policy/types.ts';
import { eventually } from '../../harness/wait.ts';
import { uniqueName } from './kube.ts';

/** The strict profile's policies, sorted by name. */
export const STRICT = [...defaultPolicyConfig.profiles.strict!].sort();

export type Policy = NetworkPolicy & {
  metadata: NetworkPolicy['metadata'] & {
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp?: string;
    managedFields?: unknown;
  };
};

export interface Event {
  type: string;
  reason: string;
  note: string;
  series?: { count: number };
}

export const policiesPath = (ns: string) => resourcePath('NetworkPolicy', ns);

/** Reads and writes in wire form (client-node's models rename `from`), as the admin. */
export function fixtures(kubeconfig: string) {
  const raw = new KubeClient(loadKubeConfig(kubeconfig));
  const policies = async (ns: string) =>
    (await raw.list<Policy>(policiesPath(ns))).items.sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
  const managedNames = async (ns: string) =>
    (await policies(ns)).filter((p) => p.metadata.labels?.[MANAGED_BY_LABEL]).map((p) => p.metadata.name);
  return {
    raw,
    /** A new namespace with these labels, under a name no other test uses. */
    namespace: async (prefix: string, labels: Record<string, string> = {}, name = uniqueName(prefix)) => {
      await raw.request('POST', resourcePath('Namespace'), { body: { metadata: { name, labels } } });
      return name;
    },
    policies,
    managedNames,
    events: async (ns: string) => (await raw.list<Event>(resourcePath('Event', ns))).items,
    /** The verdict label of the namespace's PolicyReport, when it has one. */
    verdict: async (ns: string) =>
      (
        await raw
          .request<{ metadata: { labels?: Record<string, string> } }>(
            'GET',
            resourcePath('PolicyReport', ns, REPORT_NAME),
          )
          .catch(() => undefined)
      )?.metadata.labels?.[VERDICT_LABEL],
    /** Waits until the namespace holds the strict policies (and, of those carrying our label, `also`). */
    inSync: (ns: string, also: string[] = []) =>
      eventually(
        async () => (await managedNames(ns)).join() === [...STRICT, ...also].sort().join(),
        `${ns} to hold the strict policies`,
      ),
    /**
     * Has admission refuse NetworkPolicies named `names` in `ns` with `message` (a
     * ValidatingAdmissionPolicy and its binding), once in force; resolves to a function lifting it.
     */
    async refusePolicies(ns: string, names: string[], message: string): Promise<() => Promise<void>> {
      const name = `refuse-${ns}`;
      const admission = '/apis/admissionregistration.k8s.io/v1';
      const refused = JSON.stringify([...names, 'probe']);
      await raw.request('POST', `${admission}/validatingadmissionpolicies`, {
        body: {
          metadata: { name },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: {
              resourceRules: [
                {
                  apiGroups: ['networking.k8s.io'],
                  apiVersions: ['v1'],
                  operations: ['CREATE', 'UPDATE'],
                  resources: ['networkpolicies'],
                },
              ],
            },
            validations: [{ expression: `!(object.metadata.name in ${refused})`, message }],
          },
        },
      });
      await raw.request('POST', `${admission}/validatingadmissionpolicybindings`, {
        body: {
          metadata: { name },
          spec: {
            policyName: name,
            validationActions: ['Deny'],
            matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
          },
        },
      });
      // Admission policies take effect asynchronously: wait until one refuses a write.
      await eventually(
        () =>
          raw
            .request('POST', policiesPath(ns), {
              body: { metadata: { name: 'probe' }, spec: { podSelector: {} } },
            })
            .then(
              () => false,
              (err: unknown) => err instanceof KubeApiError && err.status === 422,
            ),
        'the admission policy to refuse writes',
      );
      return async () => {
        await raw.request('DELETE', `${admission}/validatingadmissionpolicybindings/${name}`);
        await raw.request('DELETE', `${admission}/validatingadmissionpolicies/${name}`);
      };
    },
    close: (): Promise<void> => raw.close(),
  };
}
