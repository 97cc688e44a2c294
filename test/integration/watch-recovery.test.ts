// Watches never die quietly: the API server going away, and an expired resourceVersion (410 Gone),
// end in a re-established watch that still sees drift. Uses a control plane of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { ControlPlane } from '../support/controlplane.ts';
import { startTestController } from '../support/controller.ts';
import { eventually } from '../support/wait.ts';

let cp: ControlPlane;
let dataDir: string;
let ctl: Awaited<ReturnType<typeof startTestController>>;
let raw: KubeClient;
const ns = 'watch-recovery';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-watch-'));
  cp = await ControlPlane.start({ dataDir });
  raw = new KubeClient(loadKubeConfig(cp.kubeconfig));
  ctl = await startTestController(cp.kubeconfig, { backoff: { baseMs: 5, maxMs: 1000 } });
  await raw.request('POST', '/api/v1/namespaces', {
    body: { metadata: { name: ns, labels: { isolation: 'strict' } } },
  });
  await policyBack('allow-dns');
});

afterAll(async () => {
  await ctl?.stop();
  await raw?.close();
  await cp?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function policyBack(name: string) {
  return eventually(
    () => raw.request<{ metadata: { uid: string } }>('GET', networkPolicyPath(ns, name)),
    `${name} to exist`,
    60_000,
  );
}

const restarts = (reason: string) =>
  ctl.logs.filter((l) => l.msg === 'watch ended; restarting' && l.reason === reason);

it('reconnects by itself after the API server goes away and comes back, then repairs drift', async () => {
  await cp.restart();
  await eventually(() => restarts('error').length > 0, 'a logged watch error while the server was away');
  const before = await policyBack('allow-dns');
  await raw.request('DELETE', networkPolicyPath(ns, 'allow-dns'));
  const after = await policyBack('allow-dns');
  expect(after.metadata.uid).not.toBe(before.metadata.uid);
});

it('re-lists when its resourceVersion has been compacted away (410 Gone), then repairs drift', async () => {
  // Writes elsewhere move etcd past the resourceVersion the policy watch holds; compaction makes
  // it too old; a restart of the server makes the watch resume from it.
  await raw.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'unrelated' } } });
  await cp.compact();
  await cp.restart();
  await eventually(() => restarts('expired').length > 0, 'a re-list after 410 Gone', 60_000);
  const before = await policyBack('default-deny-all');
  await raw.request('DELETE', networkPolicyPath(ns, 'default-deny-all'));
  const after = await policyBack('default-deny-all');
  expect(after.metadata.uid).not.toBe(before.metadata.uid);
});
