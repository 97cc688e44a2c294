// The Event recorder against the real API server: repeats become a series, and what it remembers
// for that is bounded.
import { afterAll, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { uniqueName } from '../support/kube.ts';

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
