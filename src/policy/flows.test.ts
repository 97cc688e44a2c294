import { describe, expect, it } from 'vitest';
import { renderProfile } from './desired.ts';
import { allows, egressBeyondNamespace, type Endpoint } from './flows.ts';
import { defaultPolicyConfig as config } from './profiles.ts';
import type { NetworkPolicy, NetworkPolicySpec } from './types.ts';

const pod = (
  namespace: string,
  labels: Record<string, string> = { app: 'web' },
  ip = '10.0.0.9',
): Endpoint => ({
  ip,
  pod: { namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace }, labels },
});
const profile = (ns: string, name: string) => renderProfile({ name: ns, labels: {} }, name, config).policies;
const policy = (namespace: string, spec: NetworkPolicySpec): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace },
  spec,
});
const tcp = (from: Endpoint, to: Endpoint, port = 8080) => ({ from, to, protocol: 'TCP' as const, port });

describe('allows', () => {
  it('lets everything through where no policy selects either end', () => {
    expect(allows([], tcp(pod('a'), pod('b')))).toBe(true);
  });

  it('strict: the same namespace only, both ways; DNS beyond it', () => {
    const strict = profile('a', 'strict');
    expect(allows(strict, tcp(pod('a'), pod('a')))).toBe(true);
    expect(allows(strict, tcp(pod('b'), pod('a')))).toBe(false);
    expect(allows(strict, tcp(pod('a'), pod('b')))).toBe(false);
    expect(allows(strict, tcp(pod('a'), { ip: '10.96.0.1' }, 443))).toBe(false);
    expect(egressBeyondNamespace(strict, pod('a'), 'UDP', 53)).toBe(true);
    expect(egressBeyondNamespace(strict, pod('a'), 'TCP', 8080)).toBe(false);
  });

  it('default-deny-ingress: nothing in, everything out', () => {
    const ddi = profile('a', 'default-deny-ingress');
    expect(allows(ddi, tcp(pod('a'), pod('a')))).toBe(false);
    expect(allows(ddi, tcp(pod('b'), pod('a')))).toBe(false);
    expect(allows(ddi, tcp(pod('a'), pod('b')))).toBe(true);
    expect(egressBeyondNamespace(ddi, pod('a'), 'UDP', 53)).toBe(true);
  });

  it('a profile without allow-dns keeps DNS in: same-namespace egress does not reach it', () => {
    const noDns = profile('a', 'strict').filter((p) => p.metadata.name !== 'allow-dns');
    expect(egressBeyondNamespace(noDns, pod('a'), 'UDP', 53)).toBe(false);
  });

  it('reads ipBlock with except, port ranges, protocols and pod selectors', () => {
    const egress = policy('a', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
          ports: [{ protocol: 'TCP', port: 6000, endPort: 7000 }],
        },
      ],
    });
    expect(allows([egress], tcp(pod('a'), { ip: '10.2.3.4' }, 6443))).toBe(true);
    expect(allows([egress], tcp(pod('a'), { ip: '10.1.3.4' }, 6443))).toBe(false);
    expect(allows([egress], tcp(pod('a'), { ip: '10.2.3.4' }, 7001))).toBe(false);
    expect(allows([egress], { ...tcp(pod('a'), { ip: '10.2.3.4' }, 6443), protocol: 'UDP' })).toBe(false);
    // Not selected: app=db is open.
    expect(allows([egress], tcp(pod('a', { app: 'db' }), { ip: '192.168.0.1' }))).toBe(true);
  });

  it('a namespaceSelector with a podSelector in one peer needs both', () => {
    const ingress = policy('a', {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } },
              podSelector: { matchLabels: { app: 'client' } },
            },
          ],
        },
      ],
    });
    expect(allows([ingress], tcp(pod('b', { app: 'client' }), pod('a')))).toBe(true);
    expect(allows([ingress], tcp(pod('b', { app: 'other' }), pod('a')))).toBe(false);
    expect(allows([ingress], tcp(pod('c', { app: 'client' }), pod('a')))).toBe(false);
    // selectors never select an address outside the cluster
    expect(allows([ingress], tcp({ ip: '10.0.0.1' }, pod('a')))).toBe(false);
  });
});
