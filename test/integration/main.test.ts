// The controller as a process: configuration from a file, bad configuration refused, SIGTERM.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { configFile, startProcess } from '../../harness/process.ts';
import { uniqueName } from '../support/kube.ts';
import { eventually } from '../../harness/wait.ts';
import { tempDir } from '../../harness/tmp.ts';

const kubeconfig = inject('kubeconfig');
const raw = new KubeClient(loadKubeConfig(kubeconfig));
afterAll(() => raw.close());

it('refuses a bad configuration file with exit code 2, naming each field, before touching the cluster', async () => {
  const dir = await tempDir('nic-config');
  await writeFile(join(dir, 'bad.yaml'), 'optOut: keep\nconcurency: 3\n');
  const run = startProcess(['--config', join(dir, 'bad.yaml'), '--kubeconfig', '/nonexistent/kubeconfig']);
  expect(await run.exited).toBe(2);
  expect(run.err()).toContain('optOut: Invalid option: expected one of "delete"|"orphan" (got "keep")');
  expect(run.err()).toContain('unknown field concurency');
});

it('honours the legacy DefaultDeny annotation when its configuration file opts in, and exits 0 on SIGTERM', async () => {
  const config = await configFile({ legacyAnnotation: { enabled: true, profile: 'default-deny-ingress' } });
  const run = startProcess(['--config', config, '--kubeconfig', kubeconfig]);
  try {
    const ns = uniqueName('it-legacy');
    await raw.request('POST', '/api/v1/namespaces', {
      body: {
        metadata: {
          name: ns,
          annotations: { 'net.beta.kubernetes.io/network-policy': '{"ingress":{"isolation":"DefaultDeny"}}' },
        },
      },
    });
    const policy = await eventually(
      () =>
        raw.request<{ metadata: { labels: Record<string, string> }; spec: unknown }>(
          'GET',
          networkPolicyPath(ns, 'default-deny-ingress'),
        ),
      'default-deny-ingress in the annotated namespace',
    );
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(policy.metadata.labels['namespace-isolation-controller/profile']).toBe('default-deny-ingress');
  } finally {
    run.child.kill('SIGTERM');
  }
  expect(await run.exited).toBe(0);
  expect(run.out()).toContain('"msg":"stopped"');
});
