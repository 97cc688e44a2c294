// Faults of the API server and the network under a running controller (a process, as deployed):
// the server away for 20 s, an expired resourceVersion (410 Gone), and connections frozen by a
// proxy without being closed. Each time the controller stays up, says what happened, reconnects by
// itself and repairs drift made afterwards. Uses a control plane of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { ControlPlane } from '../../harness/controlplane.ts';
import { type ControllerProcess, configFile, ensureStopped, startProcess } from '../../harness/process.ts';
import { FreezingProxy } from '../support/proxy.ts';
import { eventually } from '../../harness/wait.ts';

const ns = 'faults';
const SILENCE_S = 3;
let cp: ControlPlane;
let dataDir: string;
let proxy: FreezingProxy;
let ctl: ControllerProcess;
let raw: KubeClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-faults-'));
  cp = await ControlPlane.start({ dataDir });
  raw = new KubeClient(loadKubeConfig(cp.kubeconfig));
  proxy = await FreezingProxy.start(cp.server);
  const config = await configFile({
    watchSilenceSeconds: SILENCE_S,
    backoff: { baseMilliseconds: 5, maxSeconds: 2 },
  });
  ctl = startProcess([
    '--kubeconfig',
    await proxy.kubeconfig(cp.kubeconfig),
    '--config',
    config,
    '--log-level',
    'info',
  ]);
  await raw.request('POST', '/api/v1/namespaces', {
    body: { metadata: { name: ns, labels: { isolation: 'strict' } } },
  });
  for (const name of ['allow-dns', 'allow-same-namespace', 'default-deny-all']) await policyBack(name);
});

afterAll(async () => {
  await ensureStopped(ctl);
  await proxy?.close();
  await raw?.close();
  await cp?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function policyBack(name: string, timeoutMs = 30_000) {
  return eventually(
    () => raw.request<{ metadata: { uid: string } }>('GET', networkPolicyPath(ns, name)),
    `${name} to exist`,
    timeoutMs,
  );
}

/** Deletes a policy and waits for the controller to put it back; returns how long that took. */
async function repaired(name: string): Promise<number> {
  const before = await policyBack(name);
  const deleted = performance.now();
  await raw.request('DELETE', networkPolicyPath(ns, name));
  const after = await eventually(async () => {
    const p = await raw.request<{ metadata: { uid: string } }>('GET', networkPolicyPath(ns, name));
    return p.metadata.uid !== before.metadata.uid ? p : undefined;
  }, `${name} to be re-created`);
  expect(after.metadata.uid).not.toBe(before.metadata.uid);
  return performance.now() - deleted;
}

/** Nobody else writes here: failed or repeated attempts must never look like a fight. */
const noFight = () =>
  expect(
    ctl.logs().filter((l) => l.msg === 'another writer keeps undoing our writes; they back off'),
  ).toEqual([]);

const restarts = (reason: string) =>
  ctl.logs().filter((l) => l.msg === 'watch ended; restarting' && l.reason === reason);

it('rides out the API server being away for 20 s: alive, says so, backs off, reconnects as soon as it answers, repairs', async () => {
  const errorsBefore = restarts('error').length;
  const restarted = cp.restart(20_000);
  // While the server is away: the watch errors are logged and counted, with growing delays.
  await eventually(
    () => restarts('error').length >= errorsBefore + 3,
    'watch errors logged while the server is away',
  );
  const delays = restarts('error').map((l) => l.delayMs as number);
  expect(Math.max(...delays.slice(-3))).toBeGreaterThan(
    Math.min(...delays.slice(errorsBefore, errorsBefore + 2)),
  );
  expect(
    await ctl.metric('namespace_isolation_watch_restarts_total{resource="namespaces",reason="error"}'),
  ).toBeGreaterThan(0);
  await restarted;
  expect(ctl.child.exitCode).toBeNull();
  // Back: the first probe that answers wakes both watches out of their backoff (by then seconds
  // long), rather than leaving them to wait it out.
  const recovery = await eventually(
    () => ctl.logs().find((l) => l.msg === 'the API server answers again; watches restart now'),
    'the watches woken when the server answers again',
  );
  // Each watch still in its backoff then (one may be mid-attempt, which needs no waking).
  const woken = recovery.resources as string[];
  expect(woken.length).toBeGreaterThan(0);
  const cutShort = recovery.cutShortMs as number[];
  console.info(`backoff cut short by ${cutShort.join(', ')} ms`);
  expect(Math.max(...cutShort)).toBeGreaterThan(0);
  const ms = await repaired('allow-dns');
  console.info(`repaired ${Math.round(ms)} ms after a deletion made once the server was back`);
  // The woken watches did not back off again: they reconnected at once, not at a later retry (a
  // restarted API server may answer 410 to their old resourceVersion: a re-list without delay).
  const lines = ctl.logs();
  const after = lines.slice(lines.findIndex((l) => l.msg === recovery.msg));
  const backedOffAgain = after.filter(
    (l) => l.msg === 'watch ended; restarting' && woken.includes(l.resource as string) && l.delayMs !== 0,
  );
  expect(backedOffAgain).toEqual([]);
  noFight();
});

it('re-lists when its resourceVersion has been compacted away (410 Gone), then repairs drift', async () => {
  // Writes elsewhere move etcd past the resourceVersion the policy watch holds; compaction makes
  // it too old; a restart of the server makes the watch resume from it.
  await raw.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'unrelated' } } });
  await cp.compact();
  await cp.restart();
  await eventually(() => restarts('expired').length > 0, 'a re-list after 410 Gone', 60_000);
  await repaired('default-deny-all');
  noFight();
});

it('notices connections frozen without being closed, replaces them once a watch falls silent, and repairs', async () => {
  await policyBack('allow-same-namespace');
  const frozen = proxy.freeze();
  expect(frozen).toBeGreaterThan(0);
  const at = performance.now();
  const silentBefore = restarts('silent').length;
  // A drift while every connection the controller holds is frozen: seen only once it has new ones.
  const ms = await repaired('allow-same-namespace');
  expect(restarts('silent').length).toBeGreaterThan(silentBefore);
  expect(ctl.logs().map((l) => l.msg)).toContain(
    'a watch fell silent: replacing the connections to the API server',
  );
  console.info(
    `frozen connections replaced; drift repaired ${Math.round(ms)} ms after the freeze (${Math.round(performance.now() - at)} ms)`,
  );
  noFight();
});
