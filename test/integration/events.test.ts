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
  const recorder = new EventRecorder(client, {
    controller: 'events-test',
    instance: 'events-test-1',
    onError: (e) => errors.push(e),
    remembered: 2,
  });
  const record = (note: string) =>
    recorder.record({ name: ns, uid: metadata.uid }, 'Normal', 'Test', 'Test', note);

  await record('a');
  await record('b');
  await record('b'); // remembered: the series of the first 'b'
  await record('c'); // 'a', the least recent, is forgotten
  await record('a'); // so a new Event
  await record('c');

  expect(errors).toEqual([]);
  const events = (await client.list<Event>(`/apis/events.k8s.io/v1/namespaces/${ns}/events`)).items;
  const summary = events.map((e) => `${e.note}:${e.series?.count ?? 1}`).sort();
  expect(summary).toEqual(['a:1', 'a:1', 'b:2', 'c:2']);
});
