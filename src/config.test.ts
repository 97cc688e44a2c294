import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from './version.ts';
import { ConfigError, loadConfig, parseConfig, policyConfig } from './config.ts';
import { defaultPolicyConfig, specOf } from './policy/profiles.ts';

const shipped = join(import.meta.dirname, '..', 'config', 'controller.yaml');

function problems(doc: unknown): string {
  try {
    parseConfig(doc, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('ships config/controller.yaml equal to the built-in defaults', () => {
    const c = loadConfig(shipped);
    expect(policyConfig(c)).toEqual(defaultPolicyConfig);
    expect(c).toEqual(parseConfig({}, 'empty'));
  });

  it('fills in every default for an empty file', () => {
    expect(parseConfig(null, 'empty')).toMatchObject({
      selectorLabel: 'isolation',
      optOut: 'delete',
      resyncPeriodSeconds: 600,
      watchSilenceSeconds: 90,
      concurrency: 4,
      gracefulShutdownSeconds: 20,
      backoff: { baseMilliseconds: 5, maxSeconds: 1000 },
      rateLimit: { qps: 10, burst: 100 },
      leaderElection: { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 },
    });
  });

  it.each([
    [{ selectorLabel: 'has space' }, 'selectorLabel: must be a valid label key (got "has space")'],
    [{ profiles: { strict: [] } }, 'profiles.strict: a profile needs at least one policy'],
    [
      { profiles: { strict: ['nope'] } },
      'profiles.strict.0: names policy nope, which is not defined under policies',
    ],
    [{ policies: { Bad_Name: { podSelector: {} } } }, 'policies.Bad_Name: invalid name: must be a DNS label'],
    [{ policies: { x: { podSelector: {}, policyTypes: ['Both'] } } }, 'policies.x.policyTypes.0:'],
    [
      { policies: { x: { podSelector: {}, egress: [{ ports: [{ port: 70000 }] }] } } },
      'policies.x.egress.0.ports.0.port',
    ],
    [{ policies: { x: { podSelector: {}, ingres: [] } } }, 'policies.x: unknown field ingres'],
    [{ excludedNamespaces: ['Kube_System'] }, 'excludedNamespaces.0: must be a DNS label'],
    [
      { guardrails: { gatePolicies: { strict: 'default-deny-ingress' } } },
      "guardrails.gatePolicies.strict: must be one of profile strict's policies (default-deny-all, allow-dns, allow-same-namespace)",
    ],
    [
      { guardrails: { gatePolicies: { nope: 'allow-dns' } } },
      'guardrails.gatePolicies.nope: names no profile',
    ],
    [{ guardrails: { maxExceptionHours: 0 } }, 'guardrails.maxExceptionHours:'],
    [{ sanctioned: { nope: { ingress: [{}] } } }, 'sanctioned.nope: names no profile'],
    [
      { sanctioned: { strict: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0/8' } }] }] } } },
      'sanctioned.strict.egress.0.to.0.ipBlock.cidr: must be a CIDR block, e.g. 10.0.0.0/8 or fd00::/8 (got "10.0.0/8")',
    ],
    [{ sanctioned: { strict: { podSelector: {} } } }, 'sanctioned.strict: unknown field podSelector'],
    [
      { sanctioned: { strict: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', expect: [] } }] }] } } },
      'sanctioned.strict.ingress.0.from.0.ipBlock: unknown field expect',
    ],
    [
      { profiles: { Strict: ['default-deny-all'], strict: ['default-deny-all'] } },
      'profiles.strict: differs from profile Strict only in case',
    ],
    [
      { legacyAnnotation: { enabled: true, profile: 'missing' } },
      'legacyAnnotation.profile: must name a profile',
    ],
    [{ legacyAnnotation: { enabled: 'yes', profile: 'strict' } }, 'legacyAnnotation.enabled:'],
    [{ probe: { intervalMinutes: 0.1 } }, 'probe.intervalMinutes: '],
    [{ probe: { intervalMnutes: 10 } }, 'probe: '],
    [
      { probe: { intervalMinutes: 10, namespaces: { isolated: 'kube-system', other: 'p' } } },
      'probe.namespaces.isolated: is in excludedNamespaces',
    ],
    [
      { probe: { intervalMinutes: 10, namespaces: { isolated: 'p', other: 'p' } } },
      'probe.namespaces.other: must differ from probe.namespaces.isolated',
    ],
    [{ optOut: 'keep' }, 'optOut: '],
    [{ resyncPeriodSeconds: 1 }, 'resyncPeriodSeconds: '],
    [{ watchSilenceSeconds: 0 }, 'watchSilenceSeconds: '],
    [{ concurrency: 0 }, 'concurrency: '],
    [{ gracefulShutdownSeconds: 0 }, 'gracefulShutdownSeconds: '],
    [{ concurrency: 2.5 }, 'concurrency: '],
    [{ backoff: { baseMilliseconds: 5 } }, 'backoff.maxSeconds: '],
    [{ rateLimit: { qps: -1, burst: 10 } }, 'rateLimit.qps: '],
    [
      { leaderElection: { leaseDurationSeconds: 1.5, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.5 } },
      'leaderElection.leaseDurationSeconds: ',
    ],
    [
      { leaderElection: { leaseDurationSeconds: 10, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 } },
      'leaderElection.renewDeadlineSeconds: must be less than leaseDurationSeconds (10) (got 10)',
    ],
    [
      { leaderElection: { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 10 } },
      'leaderElection.retryPeriodSeconds: must be less than renewDeadlineSeconds (10) (got 10)',
    ],
    [{ selectorlabel: 'isolation' }, '(top level): unknown field selectorlabel: remove or correct it'],
    [
      { policies: { 'allow-dns': { podSelector: {} } } },
      'policies.allow-dns: is built from dns.preset (kube-dns); remove it, or set dns.preset: custom to write it yourself',
    ],
    [
      { dns: { preset: 'custom' } },
      'profiles.strict.1: names policy allow-dns, which is not defined under policies',
    ],
    [{ dns: { preset: 'coredns' } }, 'dns.preset: '],
    [{ dns: { nodeLocalAddress: '169.254.20' } }, 'dns.nodeLocalAddress: must be an IPv4 address'],
    [
      { policies: { 'allow-kube-apiserver': { podSelector: {} } } },
      'policies.allow-kube-apiserver: is a built-in policy',
    ],
    [
      { policies: { x: { podSelector: { matchLabels: { team: '$(namespace.nam)' } } } } },
      'policies.x.podSelector.matchLabels.team: unknown variable $(namespace.nam): use $(namespace.name) or $(namespace.labels.<label key>)',
    ],
    [
      {
        policies: {
          x: {
            podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['$(namespace.name'] }] },
          },
        },
      },
      'policies.x.podSelector.matchExpressions.0.values.0: unclosed variable',
    ],
    [
      { profiles: { strict: ['allow-sanctioned'] } },
      'profiles.strict.0: is made from sanctioned.strict, which is not set',
    ],
    [
      { sanctioned: { 'same-namespace-only': { egress: [{}] } } },
      'sanctioned.same-namespace-only.egress: profile same-namespace-only does not isolate egress',
    ],
    [
      {
        sanctioned: {
          'same-namespace-only': {
            pods: { web: { podSelector: { matchLabels: { app: 'web' } }, egress: [{}] } },
          },
        },
      },
      'sanctioned.same-namespace-only.pods.web.egress: profile same-namespace-only does not isolate egress',
    ],
    [
      { sanctioned: { strict: { pods: { Web: { podSelector: {} } } } } },
      'sanctioned.strict.pods.Web: invalid name: must be a DNS label',
    ],
    [
      { sanctioned: { strict: { pods: { web: { ingress: [{}] } } } } },
      'sanctioned.strict.pods.web.podSelector:',
    ],
    [
      { policies: { 'allow-sanctioned-web': { podSelector: {} } } },
      'policies.allow-sanctioned-web: allow-sanctioned-… names the policies of sanctioned openings (sanctioned.<profile>.pods); give yours another name',
    ],
    [
      { profiles: { strict: ['default-deny-all', 'allow-sanctioned-web'] } },
      'profiles.strict.1: is made from sanctioned.strict.pods.web, which is not set',
    ],
    [{ rollout: { namespacesPerSecond: 0 } }, 'rollout.namespacesPerSecond: '],
  ])('refuses %j, naming the field', (doc, expected) => {
    expect(problems(doc)).toContain(expected);
  });

  it('accepts per-namespace values, the built-in policies and sanctioned openings where the profile isolates', () => {
    const c = parseConfig(
      {
        profiles: {
          mesh: [
            'default-deny-all',
            'allow-dns',
            'allow-istio-ambient',
            'allow-kube-apiserver',
            'from-siblings',
          ],
        },
        policies: {
          'default-deny-all': { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
          'from-siblings': {
            podSelector: {},
            ingress: [
              {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: { 'kubernetes.io/metadata.name': '$(namespace.name)-monitoring' },
                      matchExpressions: [
                        { key: 'team', operator: 'In', values: ['$(namespace.labels.example.com/team)'] },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        },
        dns: { preset: 'node-local-dns' },
        sanctioned: {
          mesh: {
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'ingress' } } }] }],
            pods: {
              web: {
                podSelector: { matchLabels: { app: 'web' } },
                ingress: [
                  {
                    from: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }],
                    ports: [{ port: 8080 }],
                  },
                ],
              },
            },
          },
        },
      },
      'test.yaml',
    );
    const policy = policyConfig(c);
    expect(policy.profiles.mesh).toEqual([
      'default-deny-all',
      'allow-dns',
      'allow-istio-ambient',
      'allow-kube-apiserver',
      'from-siblings',
      'allow-sanctioned',
      'allow-sanctioned-web',
    ]);
    expect(specOf(policy, 'mesh', 'allow-sanctioned-web')).toEqual({
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }], ports: [{ port: 8080 }] },
      ],
    });
  });

  it('accepts profiles of its own without the legacy annotation default profile while that feature is off', () => {
    const c = parseConfig({ profiles: { tight: ['default-deny-all'] } }, 'test.yaml');
    expect(c.legacyAnnotation).toEqual({ enabled: false, profile: 'default-deny-ingress' });
    expect(
      problems({
        profiles: { tight: ['default-deny-all'] },
        legacyAnnotation: { enabled: true, profile: 'default-deny-ingress' },
      }),
    ).toContain('legacyAnnotation.profile: must name a profile (defined: tight)');
  });

  it('leaves the dataplane probe off unless asked, and fills in its image and namespaces', () => {
    expect(parseConfig({}, 'test.yaml').probe).toBeUndefined();
    expect(parseConfig({ probe: { intervalMinutes: 10 } }, 'test.yaml').probe).toEqual({
      intervalMinutes: 10,
      image: `ghcr.io/namespace-isolation-controller/namespace-isolation-controller:${VERSION}`,
      namespaces: { isolated: 'namespace-isolation-probe', other: 'namespace-isolation-probe-other' },
    });
  });

  it('shows the bad value and what is allowed', () => {
    expect(problems({ optOut: 'keep' })).toMatch(/optOut: .*"delete".*"orphan".* \(got "keep"\)/);
  });

  it('reports a file that cannot be read or is not YAML', () => {
    expect(() => loadConfig('/nonexistent/controller.yaml')).toThrow(/cannot read the file/);
    expect(() => loadConfig(join(import.meta.dirname, '..', 'README.md'))).toThrow(ConfigError);
  });
});
