// Profiles that fit the platform: the DNS presets, `check --dns`, per-namespace values, sanctioned
// openings, allow-kube-apiserver from the API server's EndpointSlice, and the configuration file
// reloaded while the controller runs. On a control plane of its own: the controllers here use
// configurations of their own, and one test makes 1,000 namespaces.
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { ControlPlane, repoRoot } from '../../harness/controlplane.ts';
import { startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController, testConfig } from '../support/controller.ts';
import { fixtures, type Policy } from '../support/fixtures.ts';
import { tempDir } from '../../harness/tmp.ts';

let cp: ControlPlane;
let dataDir: string;
let kube: ReturnType<typeof fixtures>;
const CONTROLLER_NAMESPACE = 'namespace-isolation-controller';

interface Manifest {
  kind: string;
  metadata: { name: string };
  [field: string]: unknown;
}

/** Publishes a configuration file as the kubelet does a ConfigMap: a new folder, `..data` swapped. */
async function publish(dir: string, doc: Record<string, unknown>): Promise<string> {
  const version = join(dir, `..${Date.now()}-${Math.random().toString(16).slice(2)}`);
  await mkdir(version);
  await writeFile(join(version, 'controller.yaml'), JSON.stringify({ ...testConfig, ...doc }));
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  const file = join(dir, 'controller.yaml');
  await symlink('..data/controller.yaml', file).catch(() => undefined); // there from the first time on
  return file;
}

const specOf = async (ns: string, name: string) =>
  (await kube.policies(ns)).find((p: Policy) => p.metadata.name === name)?.spec;

const cli = async (args: string[], kubeconfig = cp.kubeconfig) => {
  const p = startProcess([...args, '--kubeconfig', kubeconfig]);
  return { code: await p.exited, out: p.out() };
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-profiles-'));
  cp = await ControlPlane.start({ dataDir, controllers: '', users: { controller: [] } });
  kube = fixtures(cp.kubeconfig);
  await kube.raw.request('POST', resourcePath('Namespace'), {
    body: { metadata: { name: CONTROLLER_NAMESPACE } },
  });
});
afterAll(async () => {
  await kube.close();
  await cp.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const both = (port: number) => [
  { protocol: 'UDP', port },
  { protocol: 'TCP', port },
];
const KUBE_DNS = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: both(53),
};
/** The README's table: platform → preset → the egress allow-dns needs there. */
const DNS_RULES: Record<string, unknown[]> = {
  'kube-dns': [KUBE_DNS],
  openshift: [
    {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'openshift-dns' } },
          podSelector: { matchLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' } },
        },
      ],
      ports: both(5353),
    },
  ],
  'node-local-dns': [{ to: [{ ipBlock: { cidr: '169.254.20.10/32' } }], ports: both(53) }, KUBE_DNS],
  'gke-cloud-dns': [{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: both(53) }],
};

describe('the configuration file, reloaded', () => {
  let dir: string;
  let ctl: Awaited<ReturnType<typeof startTestController>>;
  const TEAM = {
    profiles: {
      strict: ['default-deny-all', 'allow-dns', 'allow-same-namespace'],
      team: ['default-deny-all', 'allow-dns', 'from-monitoring'],
    },
    policies: {
      'default-deny-all': { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      'allow-same-namespace': {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: {} }] }],
        egress: [{ to: [{ podSelector: {} }] }],
      },
      'from-monitoring': {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { 'kubernetes.io/metadata.name': '$(namespace.name)-monitoring' },
                },
              },
            ],
            ports: [{ port: 9090 }],
          },
        ],
      },
    },
  };
  const strict: string[] = [];
  const team: string[] = [];
  const writes = () => ctl.writes().patch + ctl.writes().put;

  beforeAll(async () => {
    dir = await tempDir('nic-config');
    const file = await publish(dir, TEAM);
    ctl = await startTestController(cp.kubeconfig, { configFile: file });
    for (let i = 0; i < 3; i++)
      strict.push(await kube.namespace('it-reload-strict', { isolation: 'strict' }));
    for (let i = 0; i < 2; i++) team.push(await kube.namespace('it-reload-team', { isolation: 'team' }));
    for (const ns of [...strict, ...team])
      await eventually(async () => (await kube.managedNames(ns)).length === 3, `${ns}'s policies`);
    await ctl.idle();
  });
  afterAll(async () => {
    await ctl.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('rolls each DNS preset out to exactly the namespaces whose allow-dns it changes, one write each, as updates, not repairs', async () => {
    const everyone = [...strict, ...team];
    const repairs = async () => {
      let sum = 0;
      for (const drift of ['deleted', 'modified', 'labels'])
        sum +=
          (await ctl.metric('namespace_isolation_drift_repairs_total', { policy: 'allow-dns', drift })) ?? 0;
      return sum;
    };
    const repairsBefore = await repairs();
    for (const preset of ['openshift', 'node-local-dns', 'gke-cloud-dns', 'kube-dns']) {
      const before = writes();
      await publish(dir, { ...TEAM, dns: { preset } });
      for (const ns of everyone)
        await eventually(
          async () => isDeepStrictEqual((await specOf(ns, 'allow-dns'))?.egress, DNS_RULES[preset]),
          `${ns}'s allow-dns to be the ${preset} rule`,
        );
      await ctl.idle();
      expect(writes() - before, preset).toBe(everyone.length);
    }
    expect(
      await ctl.metric('namespace_isolation_rollouts_total', {
        cause: 'configuration file',
        unit: 'namespaces',
      }),
    ).toBe(4 * everyone.length);
    expect(await ctl.metric('namespace_isolation_rollout_pending_namespaces')).toBe(0);
    // A platform change is not tampering: no repair counted, and each team reads why its policy changed.
    expect(await repairs()).toBe(repairsBefore);
    for (const ns of everyone) {
      const events = await kube.events(ns);
      expect(events.filter((e) => e.reason === 'PolicyRepaired')).toEqual([]);
      expect(events.find((e) => e.reason === 'PolicyUpdated')?.note).toMatch(
        /^updated NetworkPolicy allow-dns for profile (strict|team): the configuration file changed$/,
      );
    }
  });

  it("fills in each namespace's own values, and leaves out, with a Warning, what a namespace lacks", async () => {
    for (const ns of team)
      expect((await specOf(ns, 'from-monitoring'))?.ingress?.[0]?.from?.[0]?.namespaceSelector).toEqual({
        matchLabels: { 'kubernetes.io/metadata.name': `${ns}-monitoring` },
      });
    // A profile reading a label: the namespace without it gets the rest, and a Warning.
    const reading = {
      ...TEAM,
      policies: {
        ...TEAM.policies,
        'from-monitoring': {
          ...TEAM.policies['from-monitoring'],
          ingress: [
            {
              from: [
                {
                  namespaceSelector: {
                    matchLabels: { team: '$(namespace.labels.team)', purpose: 'monitoring' },
                  },
                },
              ],
            },
          ],
        },
      },
    };
    await publish(dir, reading);
    const [labelled, bare] = team as [string, string];
    await kube.raw.request('PATCH', resourcePath('Namespace', undefined, labelled), {
      body: { metadata: { labels: { team: 'red' } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(
      async () =>
        isDeepStrictEqual((await specOf(labelled, 'from-monitoring'))?.ingress, [
          { from: [{ namespaceSelector: { matchLabels: { team: 'red', purpose: 'monitoring' } } }] },
        ]),
      'the labelled namespace to read its own team',
    );
    const warning = await eventually(
      async () => (await kube.events(bare)).find((e) => e.reason === 'PolicyNotBuilt'),
      'a PolicyNotBuilt Warning',
    );
    expect(warning.note).toBe(
      'from-monitoring: the namespace has no label team: left as it is until the namespace has what it reads',
    );
    // Left as it was (the old rendering), neither rewritten nor removed.
    expect((await specOf(bare, 'from-monitoring'))?.ingress?.[0]?.from?.[0]?.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': `${bare}-monitoring` },
    });
    await publish(dir, TEAM);
    await eventually(
      async () => (await specOf(labelled, 'from-monitoring'))?.ingress?.[0]?.ports !== undefined,
      'the configuration before to be back',
    );
    await ctl.idle();
  });

  it('refuses an invalid file with a Warning Event and a log line, and keeps the configuration in force', async () => {
    const before = writes();
    const bad = {
      ...TEAM,
      policies: {
        ...TEAM.policies,
        'from-monitoring': { podSelector: { matchLabels: { app: '$(namespace.nam)' } } },
      },
    };
    await publish(dir, bad);
    const event = await eventually(
      async () => (await kube.events(CONTROLLER_NAMESPACE)).find((e) => e.reason === 'ConfigurationRejected'),
      'a ConfigurationRejected Event',
    );
    expect(event.type).toBe('Warning');
    expect(event.note).toContain(
      'policies.from-monitoring.podSelector.matchLabels.app: unknown variable $(namespace.nam): use $(namespace.name) or $(namespace.labels.<label key>)',
    );
    expect(
      ctl.logs.filter(
        (l) => l.msg === 'configuration file changed but is invalid; the configuration in force stays',
      ),
    ).toHaveLength(1);
    // Still in force: a deleted policy comes back as the valid configuration has it.
    const [ns] = team as [string];
    await kube.raw.request('DELETE', resourcePath('NetworkPolicy', ns, 'from-monitoring'));
    await eventually(
      async () => (await specOf(ns, 'from-monitoring'))?.ingress?.[0]?.ports !== undefined,
      'the repair',
    );
    await ctl.idle();
    expect(writes() - before).toBe(1);
    await publish(dir, TEAM);
  });

  it('reaches only the namespaces of the profile that changed', async () => {
    await ctl.idle();
    const before = writes();
    const changed = {
      ...TEAM,
      policies: {
        ...TEAM.policies,
        'from-monitoring': {
          ...TEAM.policies['from-monitoring'],
          ingress: [{ ...TEAM.policies['from-monitoring'].ingress[0], ports: [{ port: 9100 }] }],
        },
      },
    };
    await publish(dir, changed);
    for (const ns of team)
      await eventually(
        async () => (await specOf(ns, 'from-monitoring'))?.ingress?.[0]?.ports?.[0]?.port === 9100,
        `${ns} to allow 9100`,
      );
    await ctl.idle();
    expect(writes() - before).toBe(team.length);
  });
});

describe('sanctioned openings', () => {
  it('are installed as allow-sanctioned, and a tenant policy opening the same passes', async () => {
    const config = {
      sanctioned: {
        strict: {
          ingress: [
            {
              from: [
                { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
              ],
              ports: [{ port: 8080 }],
            },
          ],
        },
      },
    };
    const file = join(dataDir, 'sanctioned.yaml');
    await writeFile(file, JSON.stringify(config));
    const ctl = await startTestController(cp.kubeconfig, { config });
    try {
      const ns = await kube.namespace('it-sanctioned', { isolation: 'strict' });
      await eventually(
        async () => (await kube.managedNames(ns)).includes('allow-sanctioned'),
        'allow-sanctioned',
      );
      expect(await specOf(ns, 'allow-sanctioned')).toEqual({
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
            ],
            ports: [{ protocol: 'TCP', port: 8080 }],
          },
        ],
      });
      await kube.raw.request('POST', resourcePath('NetworkPolicy', ns), {
        body: {
          metadata: { name: 'from-ingress' },
          spec: {
            podSelector: { matchLabels: { app: 'web' } },
            ingress: [
              {
                from: [
                  { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
                ],
                ports: [{ port: 8080 }],
              },
            ],
          },
        },
      });
      const one = await eventually(async () => {
        const r = await cli(['check', '--namespace', ns, '--config', file]);
        return r.code === 0 ? r : undefined;
      }, 'check to pass the namespace');
      expect(one.out).toContain('  pass  allow-sanctioned: present, as the profile defines it');
    } finally {
      await ctl.stop();
    }
  });
});

describe('allow-kube-apiserver', () => {
  const PROFILE = {
    profiles: { api: ['default-deny-all', 'allow-kube-apiserver'] },
  };
  const SLICE = resourcePath('EndpointSlice', 'default', 'kubernetes');
  const slice = (address: string) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  });
  const endpointsBinding = {
    metadata: { name: 'it-controller-kube-apiserver' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'it-controller-kube-apiserver',
    },
    subjects: [{ kind: 'User', name: 'controller', apiGroup: 'rbac.authorization.k8s.io' }],
  };

  beforeAll(async () => {
    // The controller's own identity, with the shipped RBAC: the base ClusterRole, and the component.
    const docs = async (path: string) =>
      parseAllDocuments(await readFile(join(repoRoot, path), 'utf8')).map((d) => d.toJS() as Manifest);
    const role = (await docs('manifests/base/rbac.yaml')).find((d) => d.kind === 'ClusterRole')!;
    const component = await docs('manifests/components/kube-apiserver-access/rbac.yaml');
    const user = [{ kind: 'User', name: 'controller', apiGroup: 'rbac.authorization.k8s.io' }];
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    await kube.raw.request('POST', `${rbac}/clusterroles`, {
      body: { ...role, metadata: { name: 'it-controller' } },
    });
    await kube.raw.request('POST', `${rbac}/clusterrolebindings`, {
      body: {
        metadata: { name: 'it-controller' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'it-controller' },
        subjects: user,
      },
    });
    const endpointsRole = component.find((d) => d.kind === 'ClusterRole')!;
    await kube.raw.request('POST', `${rbac}/clusterroles`, {
      body: { ...endpointsRole, metadata: { name: 'it-controller-kube-apiserver' } },
    });
    await kube.raw.request('POST', `${rbac}/clusterrolebindings`, { body: endpointsBinding });
    await kube.raw.request('POST', resourcePath('EndpointSlice', 'default'), { body: slice('10.0.0.1') });
  });

  it('stops start-up with a configuration error when the controller may not read the endpoints', async () => {
    await kube.raw.request(
      'DELETE',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/it-controller-kube-apiserver',
    );
    try {
      const err = await startTestController(cp.userKubeconfig('controller'), { config: PROFILE }).then(
        (c) => c.stop().then(() => undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(
        'profiles use allow-kube-apiserver, but the controller may not get endpointslices.discovery.k8s.io default/kubernetes: apply manifests/components/kube-apiserver-access',
      );
    } finally {
      await kube.raw.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        body: endpointsBinding,
      });
    }
  });

  it('render prints allow-kube-apiserver with the addresses the controller applies; without a kubeconfig it refuses', async () => {
    const file = join(dataDir, 'api.yaml');
    await writeFile(file, JSON.stringify({ ...testConfig, ...PROFILE }));
    const ctl = await startTestController(cp.userKubeconfig('controller'), { config: PROFILE });
    try {
      const ns = await kube.namespace('it-render-api', { isolation: 'api' });
      const live = await eventually(() => specOf(ns, 'allow-kube-apiserver'), 'the controller to apply it');
      const rendered = await cli(['render', '--namespace', ns, '--profile', 'api', '--config', file]);
      expect(rendered.code).toBe(0);
      const docs = parseAllDocuments(rendered.out).map((d) => d.toJS() as Policy);
      expect(docs.find((d) => d.metadata.name === 'allow-kube-apiserver')?.spec).toEqual(live);
      expect(live?.egress?.[0]?.to?.[0]?.ipBlock?.cidr).toMatch(/\/32$/);

      const alone = startProcess(['render', '--namespace', ns, '--profile', 'api', '--config', file]);
      expect(await alone.exited).toBe(2);
      expect(alone.out()).toBe('');
      expect(alone.err()).toContain(
        "render: profile api lists allow-kube-apiserver, whose peers are your cluster's API server addresses: pass --kubeconfig",
      );
      // Unlabelled again, so that the next test's controller finds only its own namespaces.
      await kube.raw.request('PATCH', resourcePath('Namespace', undefined, ns), {
        body: { metadata: { labels: { isolation: null } } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(async () => (await kube.managedNames(ns)).length === 0, `${ns}'s policies to go`);
    } finally {
      await ctl.stop();
    }
  });

  it('follows the EndpointSlice: replaced endpoints rewrite it in 1,000 namespaces with exactly 1,000 writes', async () => {
    const N = 1000;
    const names = Array.from({ length: N }, (_, i) => `it-api-${String(i).padStart(4, '0')}`);
    const ctl = await startTestController(cp.userKubeconfig('controller'), { config: PROFILE });
    try {
      for (let i = 0; i < N; i += 50)
        await Promise.all(names.slice(i, i + 50).map((n) => kube.namespace('', { isolation: 'api' }, n)));
      const peers = async (ns: string) => (await specOf(ns, 'allow-kube-apiserver'))?.egress;
      const expected = (address: string) => [
        { to: [{ ipBlock: { cidr: `${address}/32` } }], ports: [{ protocol: 'TCP', port: 6443 }] },
      ];
      await eventually(
        async () =>
          (await kube.raw.list<Policy>('/apis/networking.k8s.io/v1/networkpolicies')).items.filter((p) =>
            p.metadata.namespace.startsWith('it-api-'),
          ).length ===
          2 * N,
        'every namespace to hold its policies',
        180_000,
      );
      expect(await peers(names[0]!)).toEqual(expected('10.0.0.1'));
      await ctl.idle();

      // A control plane node replaced.
      const writes = () => ctl.writes().patch + ctl.writes().put;
      const before = writes();
      const started = performance.now();
      const current = await kube.raw.request<{ metadata: { resourceVersion: string } }>('GET', SLICE);
      await kube.raw.request('PUT', SLICE, {
        body: {
          ...slice('10.0.0.2'),
          metadata: { ...slice('10.0.0.2').metadata, resourceVersion: current.metadata.resourceVersion },
        },
      });
      await eventually(
        async () =>
          (await kube.raw.list<Policy>('/apis/networking.k8s.io/v1/networkpolicies')).items.filter((p) =>
            isDeepStrictEqual(p.spec.egress, expected('10.0.0.2')),
          ).length === N,
        'every namespace to allow the new address',
        180_000,
      );
      const seconds = (performance.now() - started) / 1000;
      await ctl.idle();
      expect(writes() - before).toBe(N);
      expect(
        await ctl.metric('namespace_isolation_rollouts_total', {
          cause: 'API server endpoints',
          unit: 'namespaces',
        }),
      ).toBe(N);
      console.log(
        `endpoints replaced: ${N} namespaces rewritten in ${seconds.toFixed(1)} s, ${writes() - before} writes`,
      );
    } finally {
      await ctl.stop();
    }
  }, 600_000);
});

describe('check --dns', () => {
  const core = '/api/v1/namespaces';
  const post = (path: string, body: unknown) => kube.raw.request('POST', path, { body });
  const del = (path: string) => kube.raw.request('DELETE', path);
  const configFor = async (preset: string) => {
    const file = join(dataDir, `dns-${preset}.yaml`);
    await writeFile(file, JSON.stringify({ dns: { preset } }));
    return file;
  };
  const check = async (preset: string) => cli(['check', '--dns', '--config', await configFor(preset)]);
  const sliceOf = (ready: boolean) => ({
    metadata: { name: 'kube-dns-x1', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready } }],
    ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
  });
  const daemonSet = (name: string) => ({
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      },
    },
  });

  it('recommends the preset for a cluster laid out like each platform, and says when the configured one does not fit', async () => {
    // Every cluster: the kube-dns Service with a ready endpoint (kubeadm, EKS, AKS, kind…).
    await post(`${core}/kube-system/services`, {
      metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns' } },
      spec: { selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
    });
    await post('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', sliceOf(true));
    let r = await check('kube-dns');
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toContain('recommended: dns.preset: kube-dns');
    expect((await check('openshift')).out).toContain(
      'problem: dns.preset is openshift, but this cluster needs kube-dns',
    );

    // OpenShift: the DNS operator's Service in openshift-dns.
    await post(core, { metadata: { name: 'openshift-dns' } });
    await post(`${core}/openshift-dns/services`, {
      metadata: { name: 'dns-default' },
      spec: {
        selector: { 'dns.operator.openshift.io/daemonset-dns': 'default' },
        ports: [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }],
      },
    });
    expect(await check('openshift')).toMatchObject({ code: 0 });
    r = await check('kube-dns');
    expect(r.code).toBe(1);
    expect(r.out).toContain('problem: dns.preset is kube-dns, but this cluster needs openshift');
    await del(`${core}/openshift-dns/services/dns-default`);

    // NodeLocal DNSCache: its ConfigMap, binding the link-local address.
    await post(`${core}/kube-system/configmaps`, {
      metadata: { name: 'node-local-dns' },
      data: {
        Corefile:
          'cluster.local:53 {\n    bind 169.254.20.10 10.96.0.10\n    forward . __PILLAR__CLUSTER__DNS__\n}\n',
      },
    });
    expect(await check('node-local-dns')).toMatchObject({ code: 0 });
    expect((await check('kube-dns')).out).toContain('this cluster needs node-local-dns');
    await del(`${core}/kube-system/configmaps/node-local-dns`);

    // GKE with Cloud DNS: GKE's DaemonSets, and no kube-dns endpoint ready.
    await post('/apis/apps/v1/namespaces/kube-system/daemonsets', daemonSet('gke-metadata-server'));
    expect((await check('kube-dns')).code).toBe(0); // GKE with kube-dns still running
    await kube.raw.request(
      'PUT',
      '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-x1',
      {
        body: {
          ...sliceOf(false),
          metadata: {
            ...sliceOf(false).metadata,
            resourceVersion: (
              await kube.raw.request<{ metadata: { resourceVersion: string } }>(
                'GET',
                '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-x1',
              )
            ).metadata.resourceVersion,
          },
        },
      },
    );
    expect(await check('gke-cloud-dns')).toMatchObject({ code: 0 });
    r = await check('kube-dns');
    expect(r.code).toBe(1);
    expect(r.out).toContain('DNS: GKE with Cloud DNS (no kube-dns endpoint ready)');
  });
});
