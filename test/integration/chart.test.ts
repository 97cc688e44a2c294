// The Helm chart, with real Helm: it renders what kustomize renders (object by object, for the
// defaults and for each optional component), lints, refuses bad values naming them, and installs
// for real: its Deployment's Pods pass Pod Security admission and the controller does its whole
// job under the chart's RBAC.
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, helm } from '../../harness/chart.ts';
import { repoRoot } from '../../harness/gobuild.ts';
import { VERSION as version } from '../../src/version.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { doesItsJob, podsOf } from '../support/install.ts';
import {
  applyObject,
  kustomizeBuild,
  kustomizeOverlay,
  type ManifestObject,
  manifestObjects,
} from '../support/manifests.ts';
import { controllerNamespace } from '../support/users.ts';

const kubeconfig = inject('kubeconfig');
const admin = new KubeClient(loadKubeConfig(kubeconfig));
const RELEASE = 'namespace-isolation-controller';
/** The labels Helm's convention adds to every object, beyond kustomize's. */
const HELM_LABELS = [
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
  'helm.sh/chart',
];

/** `kustomize build manifests/`: the Namespace, and the objects the chart must render too. */
let namespace: ManifestObject;
let base: ManifestObject[];
beforeAll(async () => {
  const objects = await kustomizeBuild('manifests');
  namespace = objects.find((o) => o.kind === 'Namespace')!;
  base = objects.filter((o) => o !== namespace);
});
afterAll(() => admin.close());

const render = async (...set: string[]) =>
  manifestObjects(
    await helm([
      'template',
      RELEASE,
      CHART_DIR,
      '--namespace',
      controllerNamespace,
      ...set.flatMap((s) => ['--set', s]),
    ]),
  );

/** The paths inside a .tgz. */
async function tarList(archive: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('tar', ['tzf', archive]);
  return stdout.split('\n').filter(Boolean);
}

const key = (o: ManifestObject) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * An object as compared: Helm's own labels dropped, the configuration file parsed (the chart
 * writes it from values, kustomize copies the file with its comments).
 */
function comparable(o: ManifestObject, labels: 'all' | 'theirs-only'): ManifestObject {
  const copy = structuredClone(o) as ManifestObject & { data?: Record<string, string> };
  const own = { ...copy.metadata.labels };
  for (const l of HELM_LABELS) delete own[l];
  if (labels === 'theirs-only') delete copy.metadata.labels;
  else copy.metadata.labels = own;
  if (copy.kind === 'ConfigMap' && copy.data?.['controller.yaml'] !== undefined) {
    (copy as Record<string, unknown>).data = {
      'controller.yaml': parse(copy.data['controller.yaml']) as unknown,
    };
  }
  return copy;
}

/**
 * The chart's objects equal kustomize's, one by one: every field, and kustomize's labels. Objects
 * from a component (which kustomize's base labels do not reach) may carry the base's labels too.
 */
function expectSame(chart: ManifestObject[], kustomize: ManifestObject[], base: ManifestObject[]) {
  expect(chart.map(key).sort()).toEqual(kustomize.map(key).sort());
  const inBase = new Set(base.map(key));
  for (const want of kustomize) {
    const got = chart.find((o) => key(o) === key(want))!;
    if (inBase.has(key(want))) {
      expect(comparable(got, 'all'), key(want)).toEqual(comparable(want, 'all'));
    } else {
      expect(comparable(got, 'theirs-only'), key(want)).toEqual(comparable(want, 'theirs-only'));
      expect(got.metadata.labels, key(want)).toMatchObject(want.metadata.labels ?? {});
    }
  }
}

describe('the Helm chart', () => {
  it('passes helm lint', async () => {
    expect(await helm(['lint', '--strict', CHART_DIR])).toContain('0 chart(s) failed');
  });

  it('packages into one archive that renders the same as the directory, the manifests it reads inside', async () => {
    const dir = join(repoRoot, '.cache', 'chart-package');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await helm(['package', CHART_DIR, '--destination', dir]);
    const archive = join(dir, `namespace-isolation-controller-${version}.tgz`);
    const files = await tarList(archive);
    // The symlinked manifests are copied in; kustomize's own files are left out (.helmignore).
    expect(files).toContain('namespace-isolation-controller/files/base/deployment.yaml');
    expect(files.filter((f) => f.endsWith('kustomization.yaml'))).toEqual([]);
    const args = (chart: string) => ['template', RELEASE, chart, '--namespace', controllerNamespace];
    expect(await helm(args(archive))).toBe(await helm(args(CHART_DIR)));
    await rm(dir, { recursive: true, force: true });
  });

  it('renders with default values what kustomize build manifests/ renders, object by object, but the Namespace', async () => {
    const chart = await render();
    // Helm cannot create the namespace it installs into: `kubectl create namespace` (with the
    // Pod Security labels) comes first, as the README says.
    expectSame(chart, base, base);
    const deployment = chart.find((o) => o.kind === 'Deployment')!;
    expect(JSON.stringify(deployment)).toContain(`namespace-isolation-controller:${version}"`);
  });

  it.each([
    [
      'manifests/overlays/monitoring',
      [
        'monitoring.serviceMonitor.enabled=true',
        'monitoring.prometheusRule.enabled=true',
        'monitoring.dashboard.enabled=true',
      ],
    ],
    ['manifests/overlays/policy-reports', ['policyReports.enabled=true', 'policyReports.installCRD=true']],
    ['manifests/overlays/guardrails', ['guardrails.enabled=true']],
    ['kube-apiserver-access', ['kubeApiserverAccess.enabled=true']],
    ['dataplane-probe', ['dataplaneProbe.enabled=true']],
  ])('renders %s with %j', async (overlay, set) => {
    // No overlay ships for these components: one made here, as a user would.
    const kustomize = overlay.startsWith('manifests/')
      ? await kustomizeBuild(overlay)
      : await kustomizeOverlay(
          `overlay-${overlay}`,
          `resources: [../../manifests/base]\ncomponents: [../../manifests/components/${overlay}]\n`,
        );
    // The controller's own Namespace is not the chart's (Helm installs into it); the probe's are.
    expectSame(
      await render(...set),
      kustomize.filter((o) => o.kind !== 'Namespace' || o.metadata.name !== 'namespace-isolation-controller'),
      base,
    );
  });

  it('refuses a bad value, naming it, before anything is sent', async () => {
    await expect(render('replicas=two')).rejects.toThrow("at '/replicas': got string, want integer");
    await expect(render('config.optOut=keep')).rejects.toThrow(
      "at '/config/optOut': value must be one of 'delete', 'orphan'",
    );
    await expect(render('config.concurrency=0')).rejects.toThrow("at '/config/concurrency'");
    await expect(render('config.profiles.strict=nothing')).rejects.toThrow("at '/config/profiles/strict'");
    await expect(render('monitoring.serviceMonitr.enabled=true')).rejects.toThrow(
      "additional properties 'serviceMonitr' not allowed",
    );
  });

  it('refuses the shipped guardrails in another namespace, saying how to render its own', async () => {
    await expect(
      helm(['template', RELEASE, CHART_DIR, '--namespace', 'elsewhere', '--set', 'guardrails.enabled=true']),
    ).rejects.toThrow('render guardrails --config');
  });

  it('installs with helm install: server-side dry-run, then for real; Pods admitted; the controller does its job under its RBAC', async () => {
    const namespacePath = `/api/v1/namespaces/${controllerNamespace}`;
    // The namespace as the README has it made, with its Pod Security labels.
    await applyObject(admin, namespace, {
      dryRun: false,
      fieldManager: 'chart-test',
    });
    // Over the objects install.test.ts applied, if it ran first: taken over as when a cluster moves
    // from kubectl apply -k to Helm (ownership, and server-side apply's fields).
    const common = [
      '--namespace',
      controllerNamespace,
      '--kubeconfig',
      kubeconfig,
      '--take-ownership',
      '--force-conflicts',
    ];
    await helm(['install', RELEASE, CHART_DIR, ...common, '--dry-run=server']);
    await helm(['install', RELEASE, CHART_DIR, ...common, '--wait=false']);
    try {
      expect(await podsOf(admin, 'namespace-isolation-controller', 2)).toEqual({ pods: 2 });
      const configMap = await admin.request<{ data: Record<string, string> }>(
        'GET',
        `${namespacePath}/configmaps/namespace-isolation-controller-config`,
      );
      await doesItsJob(admin, inject('controllerKubeconfig'), configMap.data['controller.yaml']!);
    } finally {
      await helm(['uninstall', RELEASE, '--namespace', controllerNamespace, '--kubeconfig', kubeconfig]);
    }
  });
});
