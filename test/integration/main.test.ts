// The controller as a process: configuration from a file, bad configuration refused, SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { repoRoot } from '../support/controlplane.ts';
import { uniqueName } from '../support/kube.ts';
import { eventually } from '../support/wait.ts';

const kubeconfig = inject('kubeconfig');
const raw = new KubeClient(loadKubeConfig(kubeconfig));
afterAll(() => raw.close());

function controller(args: string[]) {
  const child = spawn(
    join(repoRoot, 'node_modules', '.bin', 'node'),
    [join(repoRoot, 'src', 'main.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, out: () => stdout, err: () => stderr };
}

it('refuses a bad configuration file with exit code 2, naming each field, before touching the cluster', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nic-config-'));
  await writeFile(join(dir, 'bad.yaml'), 'optOut: keep\nconcurency: 3\n');
  const run = controller(['--config', join(dir, 'bad.yaml'), '--kubeconfig', '/nonexistent/kubeconfig']);
  expect(await run.exited).toBe(2);
  expect(run.err()).toContain('optOut: Invalid option: expected one of "delete"|"orphan" (got "keep")');
  expect(run.err()).toContain('unknown field concurency');
});

it('honours the legacy DefaultDeny annotation when its configuration file opts in, and exits 0 on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nic-config-'));
  const config = parse(await readFile(join(repoRoot, 'config', 'controller.yaml'), 'utf8')) as {
    legacyAnnotation: { enabled: boolean };
  };
  config.legacyAnnotation.enabled = true;
  await writeFile(join(dir, 'controller.yaml'), stringify(config));
  const run = controller(['--config', join(dir, 'controller.yaml'), '--kubeconfig', kubeconfig]);
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
