// The Event recorder against the real API server: repeats become a series, what it remembers for
// that is bounded, and a frozen connection delays Events but never a reconcile.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures } from '../support/fixtures.ts';
import { uniqueName } from '../support/kube.ts';
import { FreezingProxy } from '../support/proxy.ts';

const client = new KubeClient(loadKubeConfig(inject('kubeconfig')));
afterAll(() => client.close());

interface Event {
  note: string;
  series?: { count: number };
}

it('counts a repeat in the first Event’s series, and forgets the least recent beyond its bound', async () => {
  const ns = uniqueName('it-events');
  const { metadata } = await client.request<{ metadata: { uid: string } }>('POST', '/api/v1/namespaces', {
    body: { metadata: { name: ns } },
  });
  const errors: unknown[] = [];
  let dropped = 0;
  const recorder = new EventRecorder(client, {
    controller: 'events-test',
    instance: 'events-test-1',
    capacity: 100,
    remembered: 2,
    failed: (e) => errors.push(e),
    dropped: () => dropped++,
  });
  const record = (note: string) =>
    recorder.record(
      { name: ns, uid: metadata.uid },
      { type: 'Normal', reason: 'Test', action: 'Test', note },
    );

  record('a');
  record('b');
  record('b'); // remembered: the series of the first 'b'
  record('c'); // 'a', the least recent, is forgotten
  record('a'); // so a new Event
  record('c');
  await recorder.close(30_000);

  expect(errors).toEqual([]);
  expect(dropped).toBe(0);
  const events = (await client.list<Event>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)).items;
  const summary = events.map((e) => `${e.note}:${e.series?.count ?? 1}`).sort();
  expect(summary).toEqual(['a:1', 'a:1', 'b:2', 'c:2']);
});

it('delays Events, never reconciles, while the connection Events use is frozen', async () => {
  const { server } = (
    parse(readFileSync(inject('kubeconfig'), 'utf8')) as { clusters: { cluster: { server: string } }[] }
  ).clusters[0]!.cluster;
  const proxy = await FreezingProxy.start(server);
  const eventsClient = new KubeClient(loadKubeConfig(await proxy.kubeconfig(inject('kubeconfig'))));
  const { namespace, inSync, events, close } = fixtures(inject('kubeconfig'));
  const ctl = await startTestController(inject('kubeconfig'), { eventsClient });
  try {
    // Events flow: the first namespace's arrives, over a connection the proxy now holds open.
    const first = await namespace('it-evfrozen', { isolation: 'strict' });
    await eventually(async () => (await events(first)).length === 1, "the first namespace's Event");
    expect(proxy.freeze()).toBeGreaterThan(0);

    const later = await Promise.all(
      Array.from({ length: 10 }, () => namespace('it-evfrozen', { isolation: 'strict' })),
    );
    for (const ns of later) await inSync(ns);
    // Their Events wait in the sink (or in the one frozen request); none has arrived.
    expect(ctl.running.events.pending).toBeGreaterThan(0);
    for (const ns of later) expect(await events(ns)).toEqual([]);
    expect(await ctl.metric('namespace_isolation_events_dropped_total')).toBe(0);
  } finally {
    await ctl.stop();
    await eventsClient.close();
    await proxy.close();
    await close();
  }
});
