// The install, proved against the real API server with RBAC on: the kustomize manifests are
// accepted (server-side dry-run, then for real); the controller, authenticated as its
// ServiceAccount with only the shipped RBAC, does its whole job; and it can do nothing else. An
// overlay that moves it to another namespace keeps those permissions.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import {
  applyObject,
  kustomizeBuild,
  kustomizeOverlay,
  type ManifestObject,
  objectPath,
} from '../support/manifests.ts';
import { startProcess } from '../../harness/process.ts';
import { doesItsJob, podsOf } from '../support/install.ts';
import { controllerNamespace } from '../support/users.ts';

const admin = new KubeClient(loadKubeConfig(inject('kubeconfig')));
const controllerKubeconfig = inject('controllerKubeconfig');
const asController = new KubeClient(loadKubeConfig(controllerKubeconfig));
const LEASE = 'namespace-isolation-controller';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * Every permission the controller uses, and where. The ClusterRole and Role must grant exactly
 * these: a verb the code needs and the role lacks fails the scenario below with that verb named.
 */
const CLUSTER_RULES: Rule[] = [
  // src/kube/resources.ts listWatch(NAMESPACES): the namespace informer.
  { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
  // listWatch(NETWORK_POLICIES): the policy informer; applyNetworkPolicy (server-side apply: patch,
  // and create when the policy is missing), deleteNetworkPolicy, letGo (patch).
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['networkpolicies'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  // src/kube/events.ts: a new Event (create), a repeat's series count (patch).
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];
const LEASE_RULES: Rule[] = [
  // src/kube/lease.ts: the first candidate creates the Lease; then get and update (renew, release).
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: [LEASE],
    verbs: ['get', 'update'],
  },
];

interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

async function allowed(client: KubeClient, access: Access): Promise<boolean> {
  const review = await client.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: access },
      },
    },
  );
  return review.status.allowed;
}
/** Whether a user (a ServiceAccount's, say) may, as the admin asks the API server. */
async function allowedAs(user: string, groups: string[], access: Access): Promise<boolean> {
  const review = await admin.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user, groups, resourceAttributes: access },
      },
    },
  );
  return review.status.allowed;
}
const describeAccess = (a: Access) =>
  `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}${a.name ? ` ${a.name}` : ''}${a.namespace ? ` in ${a.namespace}` : ' (all namespaces)'}`;

let objects: ManifestObject[];
beforeAll(async () => {
  objects = await kustomizeBuild('manifests');
});
afterAll(async () => {
  await admin.close();
  await asController.close();
});

describe('installing with kubectl apply -k manifests/', () => {
  it('is accepted by the API server object by object: server-side dry-run first, then for real', async () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Deployment',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    // The Namespace first: a dry-run of the objects in it needs it to exist.
    const ordered = [...objects].sort(
      (a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'),
    );
    for (const obj of ordered) {
      const what = `${obj.kind} ${obj.metadata.name}`;
      await expect(
        applyObject(admin, obj, { dryRun: true, fieldManager: 'install-test' }),
        what,
      ).resolves.toBeDefined();
      await expect(
        applyObject(admin, obj, { dryRun: false, fieldManager: 'install-test' }),
        what,
      ).resolves.toBeDefined();
    }
  });

  it('grants exactly the permissions the controller uses, in its roles', () => {
    const byKind = (kind: string) =>
      objects.find((o) => o.kind === kind) as ManifestObject & { rules: Rule[] };
    expect(byKind('ClusterRole').rules).toEqual(CLUSTER_RULES);
    expect(byKind('Role').rules).toEqual(LEASE_RULES);
    expect(byKind('Role').metadata.namespace).toBe(controllerNamespace);
  });
});

describe('an overlay that installs the controller in another namespace (`namespace:`)', () => {
  it('moves its ServiceAccount and every RBAC subject together, and still grants the EndpointSlice in default', async () => {
    // As a user would write it, with the optional component; the prefix keeps its cluster-wide
    // objects apart from the ones installed above.
    const moved = await kustomizeOverlay(
      'overlay-moved',
      'namespace: it-moved\nnamePrefix: moved-\nresources: [../../manifests]\ncomponents: [../../manifests/components/kube-apiserver-access]\n',
    );
    const { name, namespace } = moved.find((o) => o.kind === 'ServiceAccount')!.metadata;
    const account = { name, namespace };
    expect(account).toEqual({ name: 'moved-namespace-isolation-controller', namespace: 'it-moved' });
    const subjects = moved.flatMap((o) => (o as { subjects?: unknown[] }).subjects ?? []);
    // The ClusterRoleBinding, the leader election's RoleBinding and the component's binding.
    expect(subjects).toEqual(Array(3).fill({ kind: 'ServiceAccount', ...account }));

    // Applied for real (the RBAC and its namespace; the Deployment would need the image), then
    // asked of the API server as that ServiceAccount.
    const applied = moved
      .filter((o) =>
        ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(
          o.kind,
        ),
      )
      .sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
    const user = `system:serviceaccount:it-moved:${account.name}`;
    const groups = ['system:serviceaccounts', 'system:serviceaccounts:it-moved', 'system:authenticated'];
    try {
      for (const obj of applied)
        await applyObject(admin, obj, { dryRun: false, fieldManager: 'install-test' });
      const uses: Access[] = [
        { verb: 'watch', group: '', resource: 'namespaces' },
        { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'team-a' },
        { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: 'team-a' },
        { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'it-moved' },
        {
          verb: 'update',
          group: 'coordination.k8s.io',
          resource: 'leases',
          namespace: 'it-moved',
          name: LEASE,
        },
        {
          verb: 'watch',
          group: 'discovery.k8s.io',
          resource: 'endpointslices',
          namespace: 'default',
          name: 'kubernetes',
        },
      ];
      for (const access of uses)
        expect(await allowedAs(user, groups, access), describeAccess(access)).toBe(true);
      const other = {
        verb: 'get',
        group: 'discovery.k8s.io',
        resource: 'endpointslices',
        namespace: 'default',
        name: 'other',
      };
      expect(await allowedAs(user, groups, other), describeAccess(other)).toBe(false);
    } finally {
      for (const obj of applied.reverse())
        if (obj.kind !== 'Namespace' && !obj.metadata.namespace)
          await admin.request('DELETE', await objectPath(admin, obj));
      await admin.request('DELETE', '/api/v1/namespaces/it-moved');
    }
  });
});

describe('the Deployment, judged by Pod Security admission (restricted, enforced on its namespace)', () => {
  type Deployment = ManifestObject & {
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          securityContext: Record<string, unknown>;
          containers: { securityContext: Record<string, unknown> }[];
        };
      };
    };
  };
  const deploymentOf = () => structuredClone(objects.find((o) => o.kind === 'Deployment') as Deployment);

  it('has its ReplicaSet create both Pods, which admission accepts', async () => {
    const namespace = objects.find((o) => o.kind === 'Namespace')!;
    expect(namespace.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const deployment = deploymentOf();
    await applyObject(admin, deployment, { dryRun: false, fieldManager: 'install-test' });
    expect(await podsOf(admin, deployment.metadata.name, deployment.spec.replicas)).toEqual({ pods: 2 });
  });

  it('would fail if a change broke the restricted level: without runAsNonRoot, no Pod is admitted', async () => {
    const broken = deploymentOf();
    broken.metadata.name = 'psa-broken';
    const labels = { 'app.kubernetes.io/name': 'psa-broken' };
    broken.spec.selector.matchLabels = labels;
    broken.spec.template.metadata.labels = labels;
    delete broken.spec.template.spec.securityContext.runAsNonRoot;
    for (const c of broken.spec.template.spec.containers) delete c.securityContext.runAsNonRoot;
    await applyObject(admin, broken, { dryRun: false, fieldManager: 'install-test' });
    try {
      const found = await podsOf(admin, broken.metadata.name, broken.spec.replicas);
      expect(found).toEqual({
        refused: expect.stringContaining('violates PodSecurity "restricted:latest"') as string,
      });
      expect((found as { refused: string }).refused).toContain('runAsNonRoot != true');
    } finally {
      await admin.request('DELETE', `/apis/apps/v1/namespaces/${controllerNamespace}/deployments/psa-broken`);
    }
  });
});

describe('the controller as its ServiceAccount, with the shipped RBAC only', () => {
  it('creates, repairs, records Events, cleans up and leads, without one refusal', async () => {
    const configMap = objects.find((o) => o.kind === 'ConfigMap') as ManifestObject & {
      data: Record<string, string>;
    };
    await doesItsJob(admin, controllerKubeconfig, configMap.data['controller.yaml']!);
  });

  it('holds every permission it uses', async () => {
    const uses: Access[] = [
      ...CLUSTER_RULES.flatMap((r) =>
        r.verbs.map((verb) => ({ verb, group: r.apiGroups[0]!, resource: r.resources[0]! })),
      ),
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: controllerNamespace },
      {
        verb: 'get',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: controllerNamespace,
        name: LEASE,
      },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: controllerNamespace,
        name: LEASE,
      },
    ];
    for (const access of uses) expect(await allowed(asController, access), describeAccess(access)).toBe(true);
  });

  it('can do nothing more: secrets, namespaces, policy status, other leases and escalation are refused', async () => {
    const refused: Access[] = [
      { verb: 'get', group: '', resource: 'secrets' },
      { verb: 'list', group: '', resource: 'secrets', namespace: controllerNamespace },
      { verb: 'get', group: '', resource: 'configmaps', namespace: 'kube-system' },
      { verb: 'create', group: '', resource: 'namespaces' },
      { verb: 'update', group: '', resource: 'namespaces', name: 'default' },
      { verb: 'patch', group: '', resource: 'namespaces', name: 'default' },
      { verb: 'delete', group: '', resource: 'namespaces', name: 'default' },
      {
        verb: 'update',
        group: 'networking.k8s.io',
        resource: 'networkpolicies',
        subresource: 'status',
        namespace: 'default',
      },
      {
        verb: 'patch',
        group: 'networking.k8s.io',
        resource: 'networkpolicies',
        subresource: 'status',
        namespace: 'default',
      },
      { verb: 'get', group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'default' },
      { verb: 'create', group: '', resource: 'events', namespace: 'default' },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: controllerNamespace,
        name: 'kube-controller-manager',
      },
      {
        verb: 'delete',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: controllerNamespace,
        name: LEASE,
      },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
      { verb: 'create', group: '', resource: 'pods', namespace: controllerNamespace },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    ];
    for (const access of refused)
      expect(await allowed(asController, access), describeAccess(access)).toBe(false);
    // And a real request, refused by the API server itself.
    await expect(asController.request('GET', '/api/v1/namespaces/kube-system/secrets')).rejects.toMatchObject(
      { status: 403 },
    );
  });
});

describe('the monitoring component', () => {
  it('renders, and its alerts and dashboard query only metrics the controller exposes', async () => {
    const monitoring = await kustomizeBuild('manifests/overlays/monitoring');
    const kinds = monitoring.map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['ServiceMonitor', 'PrometheusRule', 'ConfigMap']));
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];
    for (const o of monitoring.filter((o) => !clusterScoped.includes(o.kind))) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(controllerNamespace);
    }

    const rule = monitoring.find((o) => o.kind === 'PrometheusRule') as ManifestObject & {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    };
    const dashboard = monitoring.find(
      (o) => o.metadata.name === 'namespace-isolation-controller-dashboard',
    ) as ManifestObject & {
      data: Record<string, string>;
    };
    const panels = (
      JSON.parse(dashboard.data['namespace-isolation-controller.json']!) as {
        panels: { title: string; targets: { expr: string }[] }[];
      }
    ).panels;
    const queries = [
      ...rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
      ...panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ];
    expect(rule.spec.groups[0]!.rules.map((r) => r.alert)).toEqual([
      'NamespaceIsolationReconcileErrors',
      'NamespaceIsolationWatchStale',
      'NamespaceIsolationRepeatedDrift',
      'NamespaceIsolationEnforcementSlow',
      'NamespaceIsolationNoLeader',
      'NamespaceIsolationNotEnforced',
      'NamespaceIsolationProbeNotRunning',
    ]);

    // Every metric family a leader exposes (a family without samples still has its TYPE line).
    const p = startProcess([
      '--kubeconfig',
      inject('kubeconfig'),
      '--leader-elect',
      '--leader-election-namespace',
      controllerNamespace,
    ]);
    try {
      await p.waitForLog('caches synced');
      const text = await (await fetch(`${await p.metricsUrl()}/metrics`)).text();
      const exposed = new Set<string>();
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exposed.add(name!);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(name! + s);
      }
      const metricName =
        /\b((?:controller_runtime|workqueue|namespace_isolation|leader_election|rest_client|process)_[a-z_]+)\b/g;
      for (const q of queries) {
        for (const [name] of q.expr.matchAll(metricName))
          expect(exposed.has(name), `${q.where}: ${name}`).toBe(true);
      }
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
