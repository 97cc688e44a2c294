import { describe, expect, it } from 'vitest';
import { decide, desiredPolicies, select } from './desired.ts';
import { MANAGED_BY_LABEL, PROFILE_LABEL } from './labels.ts';
import { defaultPolicyConfig as config, type PolicyConfig } from './profiles.ts';
import type { NamespaceView } from './types.ts';

const ns = (over: Partial<NamespaceView> = {}): NamespaceView => ({
  name: 'team-a',
  labels: {},
  annotations: {},
  terminating: false,
  ...over,
});

describe('decide', () => {
  it('decides as select does, adding the policies of a managed namespace', () => {
    const cases = [
      ns({ labels: { isolation: 'strict' } }),
      ns({ labels: { isolation: 'Strict' } }),
      ns(),
      ns({ labels: { isolation: 'strict' }, terminating: true }),
      ns({ name: 'kube-system', labels: { isolation: 'strict' } }),
    ];
    for (const n of cases) {
      const d = decide(n, config);
      const { policies, unrenderable, ...rest } =
        d.kind === 'manage' ? d : { ...d, policies: undefined, unrenderable: undefined };
      expect(unrenderable?.size ?? 0).toBe(0);
      expect(select(n, config)).toEqual(rest);
      expect(policies).toEqual(d.kind === 'manage' ? desiredPolicies(n.name, d.profile, config) : undefined);
    }
    expect(select(cases[0]!, config)).toEqual({ kind: 'manage', profile: 'strict', terminating: false });
  });

  it('gives a namespace labelled isolation=strict exactly the three strict policies', () => {
    const d = decide(ns({ labels: { isolation: 'strict' } }), config);
    expect(d.kind).toBe('manage');
    if (d.kind !== 'manage') return;
    expect(d.profile).toBe('strict');
    expect(d.policies.map((p) => p.metadata.name)).toEqual([
      'default-deny-all',
      'allow-dns',
      'allow-same-namespace',
    ]);
    const byName = Object.fromEntries(d.policies.map((p) => [p.metadata.name, p]));
    expect(byName['default-deny-all']?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(byName['allow-dns']?.spec).toEqual({
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    expect(byName['allow-same-namespace']?.spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    });
    for (const p of d.policies) {
      expect(p.metadata.namespace).toBe('team-a');
      expect(p.metadata.labels).toEqual({
        [MANAGED_BY_LABEL]: 'namespace-isolation-controller',
        [PROFILE_LABEL]: 'strict',
      });
    }
  });

  it('ships a profile that only denies ingress from other namespaces', () => {
    const d = decide(ns({ labels: { isolation: 'same-namespace-only' } }), config);
    expect(d.kind === 'manage' && d.policies.map((p) => [p.metadata.name, p.spec])).toEqual([
      [
        'deny-from-other-namespaces',
        { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
      ],
    ]);
  });

  it('leaves a namespace without the label unselected, and reports an empty value rather than unselecting it', () => {
    expect(decide(ns(), config)).toEqual({ kind: 'unselected' });
    expect(decide(ns({ labels: { isolation: '' } }), config)).toEqual({ kind: 'unknown-profile', value: '' });
  });

  it('reports an unknown or differently cased profile instead of matching it', () => {
    expect(decide(ns({ labels: { isolation: 'Strict' } }), config)).toEqual({
      kind: 'unknown-profile',
      value: 'Strict',
    });
    expect(decide(ns({ labels: { isolation: 'toString' } }), config)).toEqual({
      kind: 'unknown-profile',
      value: 'toString',
    });
  });

  it('keeps managing a terminating namespace that is selected, and leaves an unselected one alone', () => {
    expect(select(ns({ labels: { isolation: 'strict' }, terminating: true }), config)).toEqual({
      kind: 'manage',
      profile: 'strict',
      terminating: true,
    });
    expect(decide(ns({ terminating: true }), config)).toEqual({ kind: 'leave', reason: 'terminating' });
  });

  it('leaves excluded namespaces alone even when labelled', () => {
    expect(decide(ns({ name: 'kube-system', labels: { isolation: 'strict' } }), config)).toEqual({
      kind: 'leave',
      reason: 'excluded',
    });
  });

  describe('legacy DefaultDeny annotation', () => {
    const annotated = ns({
      annotations: { 'net.beta.kubernetes.io/network-policy': '{"ingress":{"isolation":"DefaultDeny"}}' },
    });
    const optedIn: PolicyConfig = {
      ...config,
      legacyAnnotation: { enabled: true, profile: 'default-deny-ingress' },
    };

    it('is ignored unless configured', () => {
      expect(decide(annotated, config)).toEqual({ kind: 'unselected' });
    });

    it('denies all ingress, egress open, when opted in', () => {
      const d = decide(annotated, optedIn);
      expect(d.kind === 'manage' && d.policies.map((p) => [p.metadata.name, p.spec])).toEqual([
        ['default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }],
      ]);
    });

    it('yields to the selector label, and ignores other or malformed values', () => {
      const labelled = { ...annotated, labels: { isolation: 'strict' } };
      expect(decide(labelled, optedIn)).toMatchObject({ kind: 'manage', profile: 'strict' });
      for (const value of ['{"ingress":{"isolation":"None"}}', 'not json', 'null']) {
        expect(
          decide(ns({ annotations: { 'net.beta.kubernetes.io/network-policy': value } }), optedIn),
        ).toEqual({
          kind: 'unselected',
        });
      }
    });
  });

  it('shares a spec without variables between namespaces, frozen: changing it throws, never changes the configuration', () => {
    const [first] = desiredPolicies('a', 'strict', config);
    const [again] = desiredPolicies('b', 'strict', config);
    expect(again!.spec).toBe(first!.spec);
    expect(() => first!.spec.policyTypes!.push('Ingress')).toThrow(TypeError);
    expect(config.policies['default-deny-all']?.policyTypes).toEqual(['Ingress', 'Egress']);
  });
});
