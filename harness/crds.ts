// Installs CustomResourceDefinitions from the manifests into a control plane, as a cluster with a
// policy engine has them, and waits until the API server serves them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { repoRoot } from './gobuild.ts';
import { eventually } from './wait.ts';

/** The PolicyReport and ClusterPolicyReport CRDs the reports component ships. */
export const POLICY_REPORT_CRDS = [
  'manifests/components/policy-report-crd/wgpolicyk8s.io_policyreports.yaml',
  'manifests/components/policy-report-crd/wgpolicyk8s.io_clusterpolicyreports.yaml',
];

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
}

export async function installCrds(kubeconfig: string, files = POLICY_REPORT_CRDS): Promise<void> {
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  try {
    const texts = await Promise.all(files.map((file) => readFile(join(repoRoot, file), 'utf8')));
    const docs = texts.flatMap((text) => parseAllDocuments(text));
    for (const crd of docs.map((d) => d.toJS() as Crd | null).filter((d) => d !== null)) {
      await client.request(
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        {
          query: { fieldManager: 'test-harness', force: true },
          body: crd,
          contentType: 'application/apply-patch+yaml',
        },
      );
      // Listed, not only discovered: a new CRD's storage answers 429 while it initializes.
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        const path = `/apis/${crd.spec.group}/${version.name}/${crd.spec.names.plural}`;
        await eventually(
          () => client.request('GET', path, { query: { limit: '1' } }).catch(() => undefined),
          `${crd.metadata.name} served as ${version.name}`,
          30_000,
        );
      }
    }
  } finally {
    await client.close();
  }
}
