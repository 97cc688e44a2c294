import { describe, expect, it } from 'vitest';
import {
  lastOtherManager,
  namespaceView,
  type NamespaceObject,
  type ObservedPolicy,
} from '../kube/objects.ts';
import { LEGACY_ANNOTATION } from '../policy/labels.ts';
import { slimNamespace, slimPolicy } from './cache.ts';

// Objects as the API server sends them, trimmed to what matters here.
const namespace = (extra: Partial<NamespaceObject['metadata']> = {}, phase = 'Active') =>
  ({
    metadata: {
      name: 'team-a',
      uid: 'c1b5…',
      resourceVersion: '42',
      creationTimestamp: '2026-11-23T08:00:00Z',
      labels: { isolation: 'strict', 'kubernetes.io/metadata.name': 'team-a' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Namespace"}',
      },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:metadata': {} } }],
      ...extra,
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase },
  }) as NamespaceObject;

describe('slimNamespace', () => {
  it('keeps what the policy model and Events read, and drops the rest', () => {
    const full = namespace();
    const slim = slimNamespace(full);
    expect(slim).toEqual({
      metadata: {
        name: 'team-a',
        uid: 'c1b5…',
        resourceVersion: '42',
        labels: full.metadata.labels,
        deletionTimestamp: undefined,
      },
    });
    expect(namespaceView(slim)).toEqual({ ...namespaceView(full), annotations: {} });
  });

  it('keeps the legacy default-deny annotation and a namespace being deleted', () => {
    const legacy = '{"ingress":{"isolation":"DefaultDeny"}}';
    const full = namespace(
      { annotations: { [LEGACY_ANNOTATION]: legacy }, deletionTimestamp: '2026-11-23T09:00:00Z' },
      'Terminating',
    );
    expect(namespaceView(slimNamespace(full))).toEqual(namespaceView(full));
  });
});

describe('slimPolicy', () => {
  const full = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'allow-dns',
      namespace: 'team-a',
      uid: '9f0e…',
      resourceVersion: '77',
      generation: 3,
      creationTimestamp: '2026-11-23T08:00:00Z',
      labels: { 'app.kubernetes.io/managed-by': 'namespace-isolation-controller' },
      annotations: { note: 'kept' },
      managedFields: [
        {
          manager: 'namespace-isolation-controller',
          operation: 'Apply',
          time: '2026-11-23T08:00:00Z',
          fieldsV1: { 'f:spec': {} },
        },
        { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-23T08:01:00Z', fieldsV1: {} },
      ],
    },
    spec: { podSelector: {}, policyTypes: ['Egress'] },
  } as ObservedPolicy;

  it('keeps the content, the resourceVersion and the writers, not their field sets', () => {
    const slim = slimPolicy(full);
    expect(slim).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'allow-dns',
        namespace: 'team-a',
        resourceVersion: '77',
        labels: full.metadata.labels,
        annotations: { note: 'kept' },
        managedFields: [
          { manager: 'namespace-isolation-controller', operation: 'Apply', time: '2026-11-23T08:00:00Z' },
          { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-23T08:01:00Z' },
        ],
      },
      spec: full.spec,
    });
    expect(lastOtherManager(slim, 'namespace-isolation-controller')).toBe('kubectl-edit');
  });
});

describe('slimPolicy, for a policy not ours', () => {
  const tenant = (name: string) =>
    ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name,
        namespace: 'team-a',
        uid: '1a2b…',
        resourceVersion: '88',
        labels: { app: 'web' },
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] },
    }) as ObservedPolicy;

  it('keeps only what the evaluator reads: its name and spec', () => {
    expect(slimPolicy(tenant('allow-web'))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-web', namespace: 'team-a', resourceVersion: '88' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] },
    });
  });

  it('shares one copy of a spec that recurs', () => {
    expect(slimPolicy(tenant('a')).spec).toBe(slimPolicy(tenant('b')).spec);
  });
});
