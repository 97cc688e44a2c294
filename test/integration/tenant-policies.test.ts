// Tenants' NetworkPolicies at admission (guardrails.tenantPolicies), on a control plane of their own:
// one truth for "opens". Every case of the table goes through the real API server with the
// rendered admission policy in `deny` mode, and its outcome is compared with the evaluator's verdict
// (the one the PolicyReports give): refused ⇔ `fail`, with the message the TypeScript mirror
// (openingsRefused) gives. The cases CEL cannot judge are asserted as such: admitted although the
// report says `fail`, or refused although nothing opens. Then the modes and the exceptions through
// a real kubectl, as a tenant with `edit` in its namespace.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient } from '../../src/kube/client.ts';
import { NAMESPACES, resourcePath } from '../../src/kube/resources.ts';
import { assess } from '../../src/policy/compliance.ts';
import { desiredPolicies } from '../../src/policy/desired.ts';
import {
  EXCEPTION_EXPIRES_LABEL,
  EXCEPTION_REASON_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '../../src/policy/labels.ts';
import { defaultPolicyConfig, defaultPolicySettings, type PolicyConfig } from '../../src/policy/profiles.ts';
import { parseConfig, policyConfig } from '../../src/config.ts';
import { namespaceLookup } from '../../src/policy/selectors.ts';
import {
  openingsRefused,
  refusalMessage,
  type TenantPolicyMode,
  tenantPolicyGuards,
} from '../../src/policy/tenantpolicies.ts';
import type { NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec } from '../../src/policy/types.ts';
import { ControlPlane } from '../../harness/controlplane.ts';
import { eventually } from '../../harness/wait.ts';
import { fixtures } from '../support/fixtures.ts';
import { kubectl, kubectlRun } from '../support/kubectl.ts';
import { applyObject } from '../support/manifests.ts';

const TENANT = 'tenant';
const PLATFORM = 'platform-admin';
let cp: ControlPlane;
let dataDir: string;
let kube: ReturnType<typeof fixtures>;
let admin: KubeClient;

const withModes = (modes: Record<string, TenantPolicyMode>): PolicyConfig => ({
  ...defaultPolicyConfig,
  guardrails: { ...defaultPolicyConfig.guardrails, tenantPolicies: modes },
});
const DENY = withModes({ strict: 'deny', 'same-namespace-only': 'deny', 'default-deny-ingress': 'deny' });

async function install(config: PolicyConfig): Promise<void> {
  for (const o of tenantPolicyGuards(config))
    await applyObject(admin, o, { dryRun: false, fieldManager: 'test' });
}

/** Creates the policy as `client`; what the API server said when it refused, or undefined. */
async function create(client: KubeClient, ns: string, name: string, spec: NetworkPolicySpec, labels = {}) {
  try {
    await client.send('POST', resourcePath('NetworkPolicy', ns), {
      body: { metadata: { name, labels }, spec },
    });
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError && err.status !== 409) return err.message;
    throw err;
  }
}

/** The evaluator's verdict on `ns` with the profile's policies and this one. */
async function verdict(ns: string, profile: string, spec: NetworkPolicySpec, config = defaultPolicyConfig) {
  const namespaces = (
    await admin.list<{ metadata: { name: string; labels?: Record<string, string> } }>(NAMESPACES)
  ).items;
  const labels = namespaces.find((n) => n.metadata.name === ns)!.metadata.labels ?? {};
  const ours = desiredPolicies({ name: ns, labels }, profile, config);
  return assess(
    {
      namespace: ns,
      labels,
      profile,
      policies: [
        ...ours,
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'tenant', namespace: ns },
          spec,
        },
      ],
      failed: new Map(),
      exception: { kind: 'none' },
      lookup: namespaceLookup(
        (n) => namespaces.find((x) => x.metadata.name === n),
        () => namespaces,
      ),
    },
    config,
  ).verdict;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-tenant-policies-'));
  cp = await ControlPlane.start({
    dataDir,
    users: { [TENANT]: ['tenants'], [PLATFORM]: ['platform-admins'] },
  });
  kube = fixtures(cp.kubeconfig);
  admin = kube.raw;
  await kubectl(cp.kubeconfig, [
    'create',
    'clusterrolebinding',
    'platform',
    '--clusterrole=cluster-admin',
    '--group=platform-admins',
  ]);
  await install(DENY);
  // Admission policies load asynchronously: in force once an allow-all is refused.
  const probe = await kube.namespace('tp-probe', { isolation: 'strict' });
  await eventually(
    async () => (await create(admin, probe, 'probe', { podSelector: {}, ingress: [{}] })) !== undefined,
    'the tenant-policy guard in force',
  );
}, 120_000);

afterAll(async () => {
  await kube?.close();
  await cp?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const all = { podSelector: {} };
/** `gap`: CEL cannot judge it; `misses` (admitted, report fail) or `over` (refused, nothing opens). */
const CASES: { name: string; profile?: string; spec: NetworkPolicySpec; gap?: 'misses' | 'over' }[] = [
  { name: 'allow-all ingress', spec: { ...all, ingress: [{}] } },
  { name: 'everyone on one port', spec: { ...all, ingress: [{ ports: [{ port: 80 }] }] } },
  { name: 'namespaceSelector {}', spec: { ...all, ingress: [{ from: [{ namespaceSelector: {} }] }] } },
  {
    name: 'namespaceSelector {} for some pods',
    spec: {
      ...all,
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } }] }],
    },
  },
  {
    name: 'namespaceSelector {} in the second peer',
    spec: { ...all, ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: {} }] }] },
  },
  { name: '0.0.0.0/0', spec: { ...all, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] } },
  {
    name: '0.0.0.0/0 with an except',
    spec: { ...all, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] },
  },
  {
    name: 'IPv6 ::/0 egress',
    spec: { ...all, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '::/0' } }] }] },
  },
  {
    name: 'egress to every namespace on DNS',
    spec: {
      ...all,
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }],
    },
  },
  { name: 'egress implied by its rules', spec: { ...all, egress: [{}] } },
  { name: 'a block', spec: { ...all, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] } },
  {
    name: 'a named namespace',
    spec: { ...all, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] },
  },
  {
    name: 'a selector no namespace satisfies',
    spec: { ...all, ingress: [{ from: [{ namespaceSelector: { matchLabels: { nobody: 'here' } } }] }] },
  },
  {
    name: 'pods of its own namespace',
    spec: { ...all, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] },
  },
  {
    name: 'ingress rules under policyTypes [Egress]',
    spec: { ...all, policyTypes: ['Egress'], ingress: [{}] },
  },
  {
    name: 'egress where the profile leaves it open',
    profile: 'default-deny-ingress',
    spec: { ...all, egress: [{}], policyTypes: ['Egress'] },
  },
  {
    name: 'allow-all in same-namespace-only',
    profile: 'same-namespace-only',
    spec: { ...all, ingress: [{}] },
  },
  {
    name: 'two blocks that together hold every IPv4 address',
    spec: {
      ...all,
      ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/1' } }, { ipBlock: { cidr: '128.0.0.0/1' } }] }],
    },
    gap: 'misses',
  },
  {
    name: 'two selectors that together select every namespace',
    spec: {
      ...all,
      ingress: [
        {
          from: [
            { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } },
            { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] } },
          ],
        },
      ],
    },
    gap: 'misses',
  },
  {
    name: 'a selector every namespace there is happens to satisfy',
    spec: {
      ...all,
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }],
              },
            },
          ],
        },
      ],
    },
    gap: 'misses',
  },
  {
    name: 'allow-all for pods no pod can be',
    spec: {
      podSelector: {
        matchLabels: { a: 'x' },
        matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }],
      },
      ingress: [{}],
    },
    gap: 'over',
  },
];

describe('one truth for "opens": admission and the evaluator, case by case', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const profile = c.profile ?? 'strict';
    const ns = await kube.namespace('tp', { isolation: profile });
    const refused = await create(admin, ns, 'tenant', c.spec);
    const judged = await verdict(ns, profile, c.spec);
    const expected = openingsRefused(c.spec, ns, DENY, profile);
    if (!c.gap) {
      expect(refused !== undefined, `refused (${refused ?? 'admitted'}) ⇔ fail (${judged})`).toBe(
        judged === 'fail',
      );
      expect(refused ?? '').toContain(expected.length ? refusalMessage('tenant', expected, profile) : '');
    } else if (c.gap === 'misses') {
      expect(refused).toBeUndefined();
      expect(judged).toBe('fail');
    } else {
      expect(refused).toContain(refusalMessage('tenant', expected, profile));
      expect(judged).toBe('pass');
    }
  });
});

// guardrails.denyNamedOpenings: a profile whose sanctioned openings are the only named ones admitted.
const NAMED = policyConfig(
  parseConfig(
    {
      profiles: { ...defaultPolicySettings.profiles, 'strict-named': defaultPolicySettings.profiles.strict },
      sanctioned: {
        'strict-named': {
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }],
              ports: [{ port: 9090 }],
            },
          ],
          egress: [
            {
              to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }],
              ports: [{ port: 8000, endPort: 8100 }],
            },
          ],
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
      guardrails: {
        tenantPolicies: {
          strict: 'deny',
          'same-namespace-only': 'deny',
          'default-deny-ingress': 'deny',
          'strict-named': 'deny',
        },
        denyNamedOpenings: { 'strict-named': true },
      },
    },
    'test',
  ),
);
const from = (peers: NetworkPolicyPeer[], ports?: NetworkPolicyPort[]): NetworkPolicySpec => ({
  ...all,
  ingress: [{ from: peers, ...(ports && { ports }) }],
});
const to = (peers: NetworkPolicyPeer[], ports?: NetworkPolicyPort[]): NetworkPolicySpec => ({
  ...all,
  policyTypes: ['Egress'],
  egress: [{ to: peers, ...(ports && { ports }) }],
});
const ns = (labels: Record<string, string>): NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: labels },
});
const block = (cidr: string, except?: string[]): NetworkPolicyPeer => ({
  ipBlock: { cidr, ...(except && { except }) },
});
/** `over`: refused although the evaluator sees nothing open (written otherwise, or selecting nothing yet). */
const NAMED_CASES: { name: string; spec: NetworkPolicySpec; over?: true }[] = [
  { name: 'a named namespace', spec: from([ns({ team: 'b' })]) },
  { name: 'a block', spec: from([block('172.16.0.0/12')]) },
  { name: 'pods of its own namespace', spec: from([{ podSelector: { matchLabels: { app: 'x' } } }]) },
  { name: 'the sanctioned opening, copied', spec: from([ns({ purpose: 'monitoring' })], [{ port: 9090 }]) },
  {
    name: 'the sanctioned peer, UDP',
    spec: from([ns({ purpose: 'monitoring' })], [{ protocol: 'UDP', port: 9090 }]),
  },
  { name: 'the sanctioned peer on every port', spec: from([ns({ purpose: 'monitoring' })]) },
  {
    name: 'the sanctioned peer on a named port',
    spec: from([ns({ purpose: 'monitoring' })], [{ port: 'metrics' }]),
  },
  {
    name: 'the sanctioned peer and another',
    spec: from([ns({ purpose: 'monitoring' }), ns({ team: 'b' })], [{ port: 9090 }]),
  },
  {
    name: "the web pods' opening, for them",
    spec: {
      ...from([ns({ purpose: 'edge' })], [{ port: 8080 }]),
      podSelector: { matchLabels: { app: 'web' } },
    },
  },
  {
    name: "the web pods' opening, for other pods",
    spec: {
      ...from([ns({ purpose: 'edge' })], [{ port: 8080 }]),
      podSelector: { matchLabels: { app: 'api' } },
    },
  },
  {
    name: 'egress within the sanctioned block and range',
    spec: to([block('10.1.0.0/16')], [{ port: 8080, endPort: 8090 }]),
  },
  {
    name: 'egress to a range reaching beyond',
    spec: to([block('10.1.0.0/16')], [{ port: 8050, endPort: 8200 }]),
  },
  { name: "egress into the sanctioned block's except", spec: to([block('10.9.1.0/24')], [{ port: 8080 }]) },
  {
    name: 'egress to the block, its except kept',
    spec: to([block('10.0.0.0/8', ['10.9.0.0/16'])], [{ port: 8050 }]),
  },
  { name: 'egress to the block, its except dropped', spec: to([block('10.0.0.0/8')], [{ port: 8050 }]) },
  { name: 'egress to an IPv6 block', spec: to([block('fd00::/8')], [{ port: 8050 }]) },
  {
    name: 'DNS, as allow-dns allows it',
    spec: to(
      [
        {
          ...ns({ 'kubernetes.io/metadata.name': 'kube-system' }),
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      [{ protocol: 'UDP', port: 53 }],
    ),
  },
  { name: 'allow-all: everyone, said once', spec: { ...all, ingress: [{}] } },
  { name: 'every namespace and a named one', spec: from([{ namespaceSelector: {} }, ns({ team: 'b' })]) },
  {
    name: 'the sanctioned selector written another way',
    spec: from(
      [
        {
          namespaceSelector: {
            matchExpressions: [{ key: 'purpose', operator: 'In', values: ['monitoring'] }],
          },
        },
      ],
      [{ port: 9090 }],
    ),
    over: true,
  },
  { name: 'a namespace no namespace is yet', spec: from([ns({ team: 'nobody-yet' })]), over: true },
];

describe('denyNamedOpenings: only what the profile sanctions, admission and the evaluator case by case', () => {
  beforeAll(async () => {
    for (const labels of [{ team: 'b' }, { purpose: 'monitoring' }, { purpose: 'edge' }] as Record<
      string,
      string
    >[])
      await kube.namespace('tp-peer', labels);
    await install(NAMED);
    const probe = await kube.namespace('tp-named-probe', { isolation: 'strict-named' });
    await eventually(
      async () => (await create(admin, probe, 'probe', from([ns({ team: 'b' })]))) !== undefined,
      'the named-openings guard in force',
    );
  });

  it.each(NAMED_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const ns = await kube.namespace('tp-named', { isolation: 'strict-named' });
    const refused = await create(admin, ns, 'tenant', c.spec);
    const judged = await verdict(ns, 'strict-named', c.spec, NAMED);
    const expected = openingsRefused(c.spec, ns, NAMED, 'strict-named');
    expect(refused ?? '').toContain(
      expected.length ? refusalMessage('tenant', expected, 'strict-named') : '',
    );
    if (c.over) {
      expect([refused !== undefined, judged]).toEqual([true, 'pass']);
    } else {
      expect(refused !== undefined, `refused (${refused ?? 'admitted'}) ⇔ not pass (${judged})`).toBe(
        judged !== 'pass',
      );
    }
  });
});

describe('as a tenant, through kubectl', () => {
  const allowAll = (name: string) =>
    JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name },
      spec: { podSelector: {}, ingress: [{}] },
    });
  const as = (user: string, ns: string, args: string[], input?: string) =>
    kubectl(cp.userKubeconfig(user), ['-n', ns, ...args], input);
  const tenantNamespace = async () => {
    const ns = await kube.namespace('tp-tenant', { isolation: 'strict' });
    await kubectl(cp.kubeconfig, [
      'create',
      'rolebinding',
      'tenants-edit',
      '-n',
      ns,
      '--clusterrole=edit',
      '--group=tenants',
    ]);
    return ns;
  };

  it('deny: refused with the rule, why and what to do; narrower openings admitted; deleting never refused', async () => {
    const ns = await tenantNamespace();
    const err = await as(TENANT, ns, ['apply', '-f', '-'], allowAll('open-up')).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(err).toContain(
      `NetworkPolicy open-up: spec.ingress[0]: no from opens namespace ${ns} to everyone; profile strict forbids it. Ask for an exception or a sanctioned opening (docs/guardrails.md#openings)`,
    );
    const narrow = JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'from-team-b' },
      spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] },
    });
    await as(TENANT, ns, ['apply', '-f', '-'], narrow);
    await as(TENANT, ns, ['delete', 'networkpolicy', 'from-team-b']);
    // A policy carrying the controller's label is the tamper policy's, never judged here.
    expect(
      await create(
        admin,
        ns,
        'ours',
        { podSelector: {}, ingress: [{}] },
        { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ),
    ).toBeUndefined();
  });

  it("warn: admitted, with kubectl's warning", async () => {
    const ns = await tenantNamespace();
    await install(withModes({ strict: 'warn' }));
    try {
      const out = await eventually(async () => {
        const run = await kubectlRun(
          cp.userKubeconfig(TENANT),
          ['-n', ns, 'apply', '-f', '-'],
          allowAll('open-up'),
        );
        return run.code === 0 ? run.stderr : undefined;
      }, 'the binding in warn mode');
      expect(out).toContain(
        `Warning: Validation failed for ValidatingAdmissionPolicy 'namespace-isolation-strict-tenant-policies'`,
      );
      expect(out).toContain('profile strict forbids it');
    } finally {
      await install(DENY);
      await eventually(
        async () => (await create(admin, ns, 'check', { podSelector: {}, ingress: [{}] })) !== undefined,
        'deny again',
      );
    }
  });

  it('an exception in force lets an allow-all through; once it ends, the same policy is refused', async () => {
    const ns = await tenantNamespace();
    const expires = new Date(Math.ceil(Date.now() / 1000) * 1000 + 8_000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace('.000', '');
    await kubectl(cp.userKubeconfig(PLATFORM), [
      'annotate',
      'namespace',
      ns,
      `${EXCEPTION_REASON_ANNOTATION}=INC-7: load test`,
    ]);
    await kubectl(cp.userKubeconfig(PLATFORM), [
      'label',
      'namespace',
      ns,
      `${EXCEPTION_EXPIRES_LABEL}=${expires}`,
    ]);
    await as(TENANT, ns, ['apply', '-f', '-'], allowAll('during'));
    const endMs = Date.parse(
      expires.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    await eventually(() => Date.now() > endMs + 1000, 'the exception to end', 30_000);
    const err = await as(TENANT, ns, ['apply', '-f', '-'], allowAll('after')).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(err).toContain('profile strict forbids it');
  });
});
