// check -f in a CI job before merge: the real kustomize builds an overlay (a Namespace, the
// controller's rendered policies committed beside it, a tenant's policy, kustomize's `namespace:`
// setting every namespace) and pipes it to `check -f -`, as docs/gitops.md shows. No cluster.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/cli/index.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { ensureGoBinary, KUSTOMIZE, repoRoot } from '../../harness/gobuild.ts';

let dir: string;
let kustomize: string;

beforeAll(async () => {
  kustomize = await ensureGoBinary(KUSTOMIZE);
  dir = await mkdtemp(join(tmpdir(), 'nic-check-files-'));
  await writeFile(
    join(dir, 'namespace.yaml'),
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    isolation: strict\n',
  );
  await writeFile(join(dir, 'isolation.yaml'), render(defaultPolicyConfig, 'team-a', 'strict'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** `kustomize build DIR | check -f -` in a shell, as a CI job runs it. */
function pipeline(tenant: object): Promise<{ code: number; out: string }> {
  return (async () => {
    await writeFile(join(dir, 'tenant.yaml'), JSON.stringify(tenant));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      'namespace: team-a\nresources: [namespace.yaml, isolation.yaml, tenant.yaml]\n',
    );
    const node = join(repoRoot, 'node_modules', '.bin', 'node');
    const cli = join(repoRoot, 'src', 'main.ts');
    return new Promise((resolve) =>
      execFile(
        'sh',
        ['-c', `"${kustomize}" build "${dir}" | "${node}" "${cli}" check -f -`],
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
  })();
}

const tenant = (ingress: object[]) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'web' },
  spec: { podSelector: { matchLabels: { app: 'web' } }, ingress },
});

describe('check -f on kustomize build output, before merge', () => {
  it('exit 1 for a change that opens the namespace to everyone, naming it', async () => {
    const { code, out } = await pipeline(tenant([{}]));
    expect(out).toContain('team-a     strict   fail     web: opens ingress to pods app=web from everyone');
    expect(code).toBe(1);
  });

  it('exit 0 for one that names namespaces: judged against those in the files, and said so', async () => {
    const { code, out } = await pipeline(
      tenant([{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }]),
    );
    // No namespace in the files is labelled team=b: nothing opens there; the cluster may differ.
    expect(out).toContain('team-a     strict   pass');
    expect(out).toContain(
      'note: namespace selectors judged against the 1 namespaces in the files; the cluster may hold more',
    );
    expect(out).not.toContain('differs from what the controller writes');
    expect(code).toBe(0);
  });
});
