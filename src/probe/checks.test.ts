import { describe, expect, it } from 'vitest';
import { renderProfile } from '../policy/desired.ts';
import { defaultPolicyConfig as config } from '../policy/profiles.ts';
import type { NetworkPolicy } from '../policy/types.ts';
import { type Check, endpointsOf, judge, plan, type ProbeSetup, table } from './checks.ts';
import type { Observed } from './expect.ts';

const side = (name: string, ip: string, labels: Record<string, string> = {}) => ({
  name,
  labels: { 'kubernetes.io/metadata.name': name, ...labels },
  server: { ip, labels: { app: 'server' } },
  clientLabels: { app: 'client' },
});
const setup = (profile: string, extra: NetworkPolicy[] = []): ProbeSetup => ({
  profile,
  isolated: side('p-iso', '10.244.0.5', { isolation: profile }),
  other: side('p-other', '10.244.0.6'),
  policies: [...renderProfile({ name: 'p-iso', labels: {} }, profile, config).policies, ...extra],
  apiServer: { service: '10.96.0.1:443', endpoints: [{ ip: '192.168.5.1', port: 6443 }] },
  dnsName: 'kubernetes.default.svc',
});
const wants = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c.want]));
const seen = (checks: Check[], wrong: string[] = []): Observed[] =>
  checks.map((c) => ({
    id: c.id,
    want: c.want,
    got: wrong.includes(c.id) ? 'connected' : c.want === 'through' ? 'connected' : 'refused',
    matched: !wrong.includes(c.id),
    attempts: 1,
    ms: 3,
  }));

describe('plan', () => {
  it('strict: same namespace allowed, other namespaces and the API server refused, DNS resolves; controls all through', () => {
    const p = plan(setup('strict'));
    expect(wants(p.isolated)).toEqual({
      'same-namespace-tcp': 'through',
      'same-namespace-udp': 'through',
      'isolated-to-other-tcp': 'blocked',
      'isolated-to-other-udp': 'blocked',
      dns: 'through',
      'api-server': 'blocked',
    });
    expect(wants(p.other)).toEqual({
      'other-to-isolated-tcp': 'blocked',
      'other-to-isolated-udp': 'blocked',
      'control-same-namespace-tcp': 'through',
      'control-same-namespace-udp': 'through',
      'control-dns': 'through',
      'control-api-server': 'through',
    });
    expect(p.other.filter((c) => c.control)).toHaveLength(4);
    expect(p.isolated.find((c) => c.id === 'isolated-to-other-tcp')!.target).toBe('10.244.0.6:8080');
  });

  it('default-deny-ingress: nothing in (not even from the same namespace), everything out', () => {
    const p = wants([
      ...plan(setup('default-deny-ingress')).isolated,
      ...plan(setup('default-deny-ingress')).other,
    ]);
    expect(p['same-namespace-tcp']).toBe('blocked');
    expect(p['other-to-isolated-udp']).toBe('blocked');
    expect(p['isolated-to-other-tcp']).toBe('through');
    expect(p['api-server']).toBe('through');
  });

  it('the API server is reachable when a policy allows its own address and port, not the Service', () => {
    const api: NetworkPolicy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-kube-apiserver', namespace: 'p-iso' },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '192.168.5.1/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] }],
      },
    };
    expect(wants(plan(setup('strict', [api])).isolated)['api-server']).toBe('through');
  });
});

describe('judge', () => {
  const p = plan(setup('strict'));
  const all = [...p.isolated, ...p.other];

  it('exit 0 when every check is as promised', () => {
    const j = judge('strict', all, seen(all));
    expect(j.code).toBe(0);
    expect(j.summary).toBe('enforced: all 12 checks of profile strict as promised');
  });

  it('exit 1 naming each refused flow that got through', () => {
    const j = judge('strict', all, seen(all, ['other-to-isolated-tcp', 'isolated-to-other-udp']));
    expect(j.code).toBe(1);
    expect(j.summary).toContain('other namespace → isolated (TCP): got through, but the profile refuses it');
    expect(j.summary).toContain('isolated → other namespace (UDP)');
    expect(table(j)).toMatch(/other namespace → isolated \(TCP\)\s+p-other\s+refused\s+connected\s+FAILED/);
  });

  it('exit 2 when a control fails: a refusal then proves nothing', () => {
    const observed = seen(all).map((o) =>
      o.id === 'control-same-namespace-tcp' ? { ...o, got: 'timeout' as const, matched: false } : o,
    );
    const j = judge('strict', all, observed);
    expect(j.code).toBe(2);
    expect(j.summary).toMatch(
      /^could not judge: control: other → other namespace \(TCP\) was allowed but timeout/,
    );
  });

  it('exit 2 when a client said nothing of a check', () => {
    const j = judge('strict', all, seen(all).slice(1));
    expect(j.code).toBe(2);
    expect(j.rows[0]!.got).toBe('no answer');
  });
});

describe('endpointsOf', () => {
  it("reads the API server's ready addresses and their port; none where the slice cannot be read", () => {
    const slice = {
      addressType: 'IPv4',
      ports: [{ port: 6443, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['192.168.5.1'], conditions: { ready: true } },
        { addresses: ['192.168.5.2'], conditions: { ready: false } },
        { addresses: ['192.168.5.3'] },
      ],
    };
    expect(endpointsOf(slice)).toEqual([
      { ip: '192.168.5.1', port: 6443 },
      { ip: '192.168.5.3', port: 6443 },
    ]);
    expect(endpointsOf(undefined)).toEqual([]);
  });
});
