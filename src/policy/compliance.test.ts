import { describe, expect, it } from 'vitest';
import { assess, policyReport, reasons, reportContent, stamp } from './compliance.ts';
import { desiredPolicies } from './desired.ts';
import type { NamespaceLookup } from './selectors.ts';
import { defaultPolicyConfig as config, defaultPolicySettings, expand } from './profiles.ts';
import type { NetworkPolicy, NetworkPolicySpec } from './types.ts';

const lookup: NamespaceLookup = { select: () => ({ all: false, names: ['monitoring'] }) };
const ours = desiredPolicies('team-a', 'strict', config);
const tenant = (name: string, spec: NetworkPolicySpec): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'team-a' },
  spec,
});
const allowAll = tenant('allow-all', { podSelector: {}, ingress: [{}] });
const fromMonitoring = tenant('from-monitoring', {
  podSelector: {},
  ingress: [
    { from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }], ports: [{ port: 9090 }] },
  ],
});
const none = { kind: 'none' } as const;
const run = (policies: NetworkPolicy[], extra: Partial<Parameters<typeof assess>[0]> = {}, c = config) =>
  assess(
    {
      namespace: 'team-a',
      labels: {},
      profile: 'strict',
      policies,
      failed: new Map(),
      exception: none,
      lookup,
      ...extra,
    },
    c,
  );

describe('assess: a managed namespace against its profile', () => {
  it('passes with the profile in place, whatever else only narrows it', () => {
    const a = run([...ours, tenant('deny', { podSelector: {}, policyTypes: ['Ingress'] })]);
    expect(a.verdict).toBe('pass');
    expect(a.results.map((r) => `${r.policy} ${r.result}`)).toEqual([
      'default-deny-all pass',
      'allow-dns pass',
      'allow-same-namespace pass',
    ]);
  });

  it('fails on a tenant policy that lets everyone in, and says so', () => {
    const a = run([...ours, allowAll]);
    expect(a.verdict).toBe('fail');
    expect(reasons(a)).toEqual([
      'allow-all: opens ingress to all pods from everyone (every pod of every namespace and every address) on all ports (admission only warns: guardrails.tenantPolicies is warn)',
    ]);
    expect(a.results.at(-1)!.admission).toBe('warn');
    const denying = {
      ...config,
      guardrails: { ...config.guardrails, tenantPolicies: { strict: 'deny' as const } },
    };
    expect(run([...ours, allowAll], {}, denying).results.at(-1)!.message).toMatch(
      / on all ports \(admitted before the guardrail: refused now\)$/,
    );
  });

  it('warns on an opening to named namespaces, and passes when it is sanctioned', () => {
    expect(run([...ours, fromMonitoring]).verdict).toBe('warn');
    const sanctioned = expand({
      ...defaultPolicySettings,
      sanctioned: {
        strict: { ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }] }] },
      },
    });
    // Installed as allow-sanctioned: the tenant's copy of the same opening passes.
    const withSanctioned = desiredPolicies('team-a', 'strict', sanctioned);
    expect(withSanctioned.map((p) => p.metadata.name).at(-1)).toBe('allow-sanctioned');
    expect(run([...withSanctioned, fromMonitoring], {}, sanctioned).verdict).toBe('pass');
    // Missing, it fails as any policy of ours would.
    expect(reasons(run([...ours, fromMonitoring], {}, sanctioned))).toEqual(['allow-sanctioned: missing']);
  });

  it('says a named opening would be refused now where denyNamedOpenings judges them', () => {
    const named = {
      ...config,
      guardrails: {
        ...config.guardrails,
        tenantPolicies: { strict: 'deny' as const },
        denyNamedOpenings: { strict: true },
      },
    };
    const [result] = run([...ours, fromMonitoring], {}, named).results.slice(-1);
    expect(result).toMatchObject({ result: 'warn', admission: 'deny' });
    expect(result!.message).toMatch(/on TCP 9090 \(admitted before the guardrail: refused now\)$/);
    expect(run([...ours, fromMonitoring]).results.at(-1)!.admission).toBeUndefined();
  });

  it('fails on a policy of ours missing or failing to apply, with the API server message', () => {
    const a = run([ours[0]!, ours[2]!], {
      failed: new Map([['allow-same-namespace', 'admission webhook denied it']]),
    });
    expect(a.verdict).toBe('fail');
    expect(reasons(a)).toEqual([
      'allow-dns: missing',
      'allow-same-namespace: failed to apply: admission webhook denied it',
    ]);
  });

  it('warns when a policy of ours differs from the profile without opening anything', () => {
    const narrowed = structuredClone(ours);
    narrowed[2]!.spec.egress = [];
    expect(reasons(run(narrowed))).toEqual([
      'allow-same-namespace: present, but differs from the profile (a repair is held back, or another writer keeps it)',
    ]);
  });

  it('an exception in force skips our policies and makes the verdict a warning', () => {
    const exception = {
      kind: 'active',
      value: 'x',
      untilMs: Date.UTC(2026, 10, 24, 12),
      reason: 'migration',
    } as const;
    const a = run([], { exception });
    expect(a.verdict).toBe('warn');
    expect(a.results.map((r) => r.result)).toEqual(['skip', 'skip', 'skip']);
    expect(a.results[0]!.message).toBe('not enforced: exception until 2026-11-24T12:00:00Z (migration)');
  });
});

describe("docs/compliance.md's examples (linked from the README)", () => {
  const monitoring: NamespaceLookup = { select: () => ({ all: false, names: ['monitoring'] }) };
  it.each<[NetworkPolicySpec, string, string]>([
    [{ podSelector: {}, ingress: [{}] }, 'fail', 'ingress to all pods from everyone'],
    [
      { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] },
      'fail',
      'from all namespaces on all ports',
    ],
    [
      { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] },
      'fail',
      'to every address 0.0.0.0/0',
    ],
    [
      {
        podSelector: {},
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
            ports: [{ port: 9090 }],
          },
        ],
      },
      'warn',
      'from namespace monitoring on TCP 9090',
    ],
    [
      {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 5432 }] }],
      },
      'warn',
      'to 10.20.0.0/16 on TCP 5432',
    ],
    [
      {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
      },
      'pass',
      '',
    ],
  ])('%j: %s', (spec, verdict, why) => {
    const a = assess(
      {
        namespace: 'team-a',
        labels: {},
        profile: 'strict',
        policies: [...ours, tenant('t', spec)],
        failed: new Map(),
        exception: none,
        lookup: monitoring,
      },
      config,
    );
    expect(a.verdict).toBe(verdict);
    expect(reasons(a).join()).toContain(why);
  });
});

describe('the PolicyReport', () => {
  it('counts results, labels the verdict and references each policy', () => {
    const report = policyReport(run([...ours, allowAll]), 'isolation');
    expect(report.summary).toEqual({ pass: 3, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(report.metadata.labels['namespace-isolation-controller/verdict']).toBe('fail');
    expect(report.results[3]).toMatchObject({
      policy: 'isolation=strict',
      rule: 'allow-all',
      result: 'fail',
      severity: 'high',
      resources: [{ kind: 'NetworkPolicy', name: 'allow-all', namespace: 'team-a' }],
      properties: { managed: 'false', openings: '1' },
    });
  });

  it('while the dataplane probe finds the profile not enforced, one more result fails, naming the checks', () => {
    const report = policyReport(run(ours), 'isolation', ['other-to-isolated-tcp']);
    expect(report.metadata.labels['namespace-isolation-controller/verdict']).toBe('pass');
    expect(report.summary).toEqual({ pass: 3, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(report.results.at(-1)).toMatchObject({
      rule: 'dataplane',
      result: 'fail',
      severity: 'high',
      resources: [{ kind: 'ClusterPolicyReport', name: 'namespace-isolation-dataplane' }],
    });
    expect(report.results.at(-1)!.message).toMatch(
      /^the dataplane probe found NetworkPolicies not enforced \(other-to-isolated-tcp\)/,
    );
    expect(reportContent(report)).not.toBe(reportContent(policyReport(run(ours), 'isolation')));
  });

  it('a timestamp alone is no change; a result is', () => {
    const report = policyReport(run([...ours, allowAll]), 'isolation');
    expect(reportContent(stamp(report, 1_000))).toBe(reportContent(stamp(report, 9_000_000)));
    expect(reportContent(report)).not.toBe(reportContent(policyReport(run(ours), 'isolation')));
  });
});
