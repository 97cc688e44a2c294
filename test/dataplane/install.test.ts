// The controller as real Pods, installed each way the README says (kustomize build
// manifests/overlays/guardrails applied with the real kubectl; the Helm chart with the guardrails,
// with real Helm) on the node, the image from `npm run image`. Its two replicas run under Pod Security restricted and under their own
// NetworkPolicy, enforced; one leads; /metrics answers where the policy admits; the standby takes
// over from a deleted leader; and with the guardrails, Pods wait for their namespace's policies.
// Both installs include the dataplane probe (its component, `probe` in the configuration) and the
// PolicyReports with their CRDs: the probe runs and writes its ClusterPolicyReport under the
// controller's own RBAC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CHART_DIR, helm } from '../../harness/chart.ts';
import { DATAPLANE_REPORT } from '../../src/policy/compliance.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { type ClusterPolicyReport, findingOf } from '../../src/probe/report.ts';
import { LocalNode } from '../../harness/node.ts';
import { eventually } from '../../harness/wait.ts';
import { fixtures, policiesPath } from '../support/fixtures.ts';
import { kubectl, kubectlRun } from '../support/kubectl.ts';
import { kustomizeOverlay, type ManifestObject } from '../support/manifests.ts';
import { BLOCKED, probePod, type ProbePod, Wire } from '../../harness/wire.ts';

// A node of its own for each installer: admission policies deleted and created again under the same
// names leave their bindings unable to find params (kubernetes/kubernetes#133827), so a second
// install on one cluster is not a first install (docs/guardrails.md).
let node: LocalNode;
let kubeconfig: string;
let kube: ReturnType<typeof fixtures>;
let wire: Wire;
const NS = 'namespace-isolation-controller';
const PROBE_MINUTES = 0.25;
const k = (...args: string[]) => kubectl(kubeconfig, args);
const json = async <T>(...args: string[]) => JSON.parse(await k(...args, '-o', 'json')) as T;
let outside: ProbePod;

interface Pod {
  metadata: { name: string; creationTimestamp: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number; state: Record<string, unknown> }[];
  };
}

const holder = async () =>
  (
    await k(
      '-n',
      NS,
      'get',
      'lease',
      'namespace-isolation-controller',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    )
  ).split('_')[0];
const controllerPods = async () =>
  (
    await json<{ items: Pod[] }>(
      '-n',
      NS,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=namespace-isolation-controller',
    )
  ).items;
const ready = (p: Pod) =>
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Each way the README installs it, with the guardrails; each uninstall leaves nothing of it. */
const INSTALLERS: Record<string, { install(): Promise<void>; uninstall(): Promise<void> }> = (() => {
  let objects: ManifestObject[] = [];
  const stream = () => objects.map((o) => stringify(o)).join('---\n');
  return {
    kustomize: {
      async install() {
        // The guardrails overlay, the dataplane probe's and the reports' components, and `probe` in
        // the configuration.
        const components = ['dataplane-probe', 'policy-reports', 'policy-report-crd'].map(
          (c) => `../../manifests/components/${c}`,
        );
        objects = await kustomizeOverlay(
          'overlay-install-probe',
          `resources: [../../manifests/overlays/guardrails]\ncomponents: [${components.join(', ')}]\n`,
        );
        const config = objects.find((o) => o.kind === 'ConfigMap') as ManifestObject & {
          data: Record<string, string>;
        };
        config.data['controller.yaml'] += `\nprobe:\n  intervalMinutes: ${PROBE_MINUTES}\n`;
        await kubectl(kubeconfig, ['apply', '--server-side', '-f', '-'], stream());
      },
      async uninstall() {
        await kubectl(kubeconfig, ['delete', '--ignore-not-found', '-f', '-'], stream());
      },
    },
    helm: {
      async install() {
        await k('create', 'namespace', NS);
        await k(
          'label',
          'namespace',
          NS,
          'pod-security.kubernetes.io/enforce=restricted',
          'pod-security.kubernetes.io/enforce-version=latest',
        );
        const args = [
          '-n',
          NS,
          '--kubeconfig',
          kubeconfig,
          '--set',
          'guardrails.enabled=true',
          '--set',
          'dataplaneProbe.enabled=true',
          '--set',
          'policyReports.enabled=true,policyReports.installCRD=true',
          // --set keeps a fraction a string; the schema wants a number.
          '--set-json',
          `config.probe={"intervalMinutes":${PROBE_MINUTES}}`,
          '--wait=false',
        ];
        await helm(['install', NS, CHART_DIR, ...args]);
      },
      async uninstall() {
        await helm(['uninstall', NS, '-n', NS, '--kubeconfig', kubeconfig]);
        await k('delete', 'namespace', NS);
      },
    },
  };
})();

describe.each(Object.keys(INSTALLERS))('the controller as real Pods, installed with %s', (installer) => {
  beforeAll(async () => {
    node = await LocalNode.start({ log: () => undefined });
    kubeconfig = node.kubeconfig;
    kube = fixtures(kubeconfig);
    wire = new Wire(kubeconfig);
    [outside] = (await wire.pods({ namespace: await kube.namespace('i-outside'), name: 'o1' })) as [ProbePod];
    await INSTALLERS[installer]!.install();
    await eventually(
      async () => {
        const pods = await controllerPods();
        return pods.length === 2 && pods.every(ready);
      },
      'both replicas to be Ready',
      120_000,
    );
  });

  // Uninstalled as a user would, leaving nothing of it; then the node goes.
  afterAll(async () => {
    await INSTALLERS[installer]!.uninstall();
    await eventually(
      async () => (await kubectlRun(kubeconfig, ['get', 'namespace', NS])).code !== 0,
      `namespace ${NS} to be gone`,
      120_000,
    );
    await kube.close();
    await node.stop();
  });

  it('runs 2 replicas under Pod Security restricted and its own NetworkPolicy; one leads; they reach the API server', async () => {
    const ns = await json<{ metadata: { labels: Record<string, string> } }>('get', 'namespace', NS);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect((await k('-n', NS, 'get', 'networkpolicy', '-o', 'name')).trim()).toBe(
      'networkpolicy.networking.k8s.io/namespace-isolation-controller',
    );
    const pods = await controllerPods();
    expect(pods.map((p) => p.metadata.name)).toContain(await eventually(holder, 'a leader'));
    // Leading and ready means the API server answered them through their policy's egress.
    const ns2 = await kube.namespace('i-led', { isolation: 'strict' });
    await kube.inSync(ns2);
  });

  it('probes the dataplane under its own RBAC, in the two namespaces its install made: enforced', async () => {
    const reasons = async () =>
      (await kube.events('namespace-isolation-probe')).map((e) => `${e.reason}: ${e.note}`);
    await eventually(
      async () => (await reasons()).some((r) => r.startsWith('DataplaneEnforced')),
      'a DataplaneEnforced Event',
      150_000,
    ).catch(async (err: Error) => {
      // What the controller said of its runs, to see why.
      const logs = await k(
        '-n',
        NS,
        'logs',
        '-l',
        'app.kubernetes.io/name=namespace-isolation-controller',
        '--tail=400',
      );
      const said = logs.split('\n').filter((l) => l.includes('dataplane'));
      throw new Error(
        `${err.message}\nEvents: ${(await reasons()).join('\n')}\nLog: ${said.slice(-5).join('\n')}`,
      );
    });
    const probe = (await reasons()).filter((r) => r.startsWith('Dataplane'));
    expect(probe.filter((r) => !r.startsWith('DataplaneEnforced'))).toEqual([]);
    // Its ClusterPolicyReport, created under the Role for that one name (a fresh cluster: none before).
    const report = await eventually(
      () =>
        kube.raw.get<ClusterPolicyReport>(resourcePath('ClusterPolicyReport', undefined, DATAPLANE_REPORT)),
      'the ClusterPolicyReport namespace-isolation-dataplane',
      60_000,
    );
    expect(findingOf(report)).toMatchObject({ result: 'enforced', failed: [] });
    expect(report.summary.fail + report.summary.error).toBe(0);
  });

  it('answers /metrics through its Service from a namespace the policy admits, and refuses others', async () => {
    const scraper = await kube.namespace('i-scraper', {
      'namespace-isolation-controller/scrape-metrics': 'true',
    });
    const [prometheus] = (await wire.pods({ namespace: scraper, name: 'prometheus' })) as [ProbePod];
    const ip = (
      await k(
        '-n',
        NS,
        'get',
        'service',
        'namespace-isolation-controller-metrics',
        '-o',
        'jsonpath={.spec.clusterIP}',
      )
    ).trim();
    const scraped = await eventually(async () => {
      const a = await wire.connect(prometheus, `${ip}:8080`, 'tcp', 1500, '/metrics');
      return a.status === 200 && a;
    }, '/metrics to answer the scraper');
    expect(scraped.outcome).toBe('connected');
    const refused = await wire.connect(outside, `${ip}:8080`, 'tcp', 1500, '/metrics');
    expect(BLOCKED.has(refused.outcome)).toBe(true);
  });

  it('the leader deleted: the other replica leads and repairs a drift made meanwhile', async () => {
    const ns = await kube.namespace('i-failover', { isolation: 'strict' });
    await kube.inSync(ns);
    const leader = await holder();
    await k('-n', NS, 'delete', 'pod', leader!, '--wait=false');
    await kube.raw.request('DELETE', `${policiesPath(ns)}/allow-dns`);
    const next = await eventually(
      async () => {
        const h = await holder();
        return h !== leader && h;
      },
      'another replica to lead',
      60_000,
    );
    expect(next).not.toBe(leader);
    await eventually(
      async () => (await kube.managedNames(ns)).includes('allow-dns'),
      'allow-dns repaired by the new leader',
      60_000,
    );
  });

  it('a labelled Namespace and a Deployment applied together: no Pod before its policies; its connections out blocked within a second of its start', async () => {
    const ns = `i-together-${Date.now().toString(36)}`;
    const target = `${outside.ip}:${outside.port}`;
    const pod = probePod(ns, 'client');
    // Its first act: connections to another namespace, every 10 ms for 5 s, each change logged.
    const args = ['probe', 'connect', target, '--trace', '--within=5000', '--timeout=500'];
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'client', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'client' } },
        template: {
          metadata: { labels: { app: 'client' } },
          spec: { ...pod.spec, containers: [{ ...pod.spec.containers[0]!, args }] },
        },
      },
    };
    const namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { isolation: 'strict' } },
    };
    await kubectl(
      kubeconfig,
      ['apply', '--server-side', '-f', '-'],
      [namespace, deployment].map((o) => stringify(o)).join('---\n'),
    );
    type Change = { outcome: string; at: number };
    const run = await eventually(
      async () => {
        const [p] = (await json<{ items: Pod[] }>('-n', ns, 'get', 'pods')).items;
        const status = p?.status.containerStatuses?.[0];
        if (!p || !status || (status.restartCount === 0 && !('terminated' in status.state))) return undefined;
        const logs = await k(
          '-n',
          ns,
          'logs',
          p.metadata.name,
          ...(status.restartCount > 0 ? ['--previous'] : []),
        );
        return {
          pod: p,
          changes: logs
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Change),
        };
      },
      "the client's first run",
      60_000,
    );
    const policies = await kube.policies(ns);
    expect(policies.map((p) => p.metadata.name).sort()).toEqual([
      'allow-dns',
      'allow-same-namespace',
      'default-deny-all',
    ]);
    const created = (o: { metadata: { creationTimestamp?: string } }) =>
      Date.parse(o.metadata.creationTimestamp!);
    for (const p of policies) expect(created(run.pod)).toBeGreaterThanOrEqual(created(p));
    // kube-router filters a Pod once it has learned its address: until then its packets pass.
    const [first, ...later] = run.changes;
    const blockedAt =
      first!.outcome === 'connected' ? later.find((c) => c.outcome !== 'connected')?.at : first!.at;
    expect(blockedAt, `blocked at last: ${JSON.stringify(run.changes)}`).toBeDefined();
    expect(run.changes.at(-1)!.outcome).not.toBe('connected');
    const open = blockedAt! - first!.at;
    expect(open).toBeLessThan(1000);
    console.log(
      `the Pod's first connection: ${first!.outcome}; out of reach ${open} ms after its first attempt`,
    );
  });

  it('the controller stopped: a newly labelled namespace admits no Pod; existing isolation holds; back, it admits', async () => {
    const isolated = await kube.namespace('i-held', { isolation: 'strict' });
    await kube.inSync(isolated);
    const [inside] = (await wire.pods({ namespace: isolated, name: 'i1' })) as [ProbePod];
    await k('-n', NS, 'scale', 'deployment', 'namespace-isolation-controller', '--replicas=0');
    await eventually(
      async () => (await controllerPods()).length === 0,
      'the controller Pods to be gone',
      60_000,
    );
    const waiting = await kube.namespace('i-waits', { isolation: 'strict' });
    const create = () =>
      kubectlRun(kubeconfig, ['apply', '--server-side', '-f', '-'], JSON.stringify(probePod(waiting, 'w1')));
    const refused = await create();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('namespace-isolation');
    expect(BLOCKED.has((await wire.connect(outside, inside)).outcome)).toBe(true);
    await k('-n', NS, 'scale', 'deployment', 'namespace-isolation-controller', '--replicas=2');
    await eventually(
      async () => (await create()).code === 0,
      'the Pod to be admitted once the controller is back',
      120_000,
    );
  });
});
