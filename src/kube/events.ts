// Kubernetes Events (events.k8s.io/v1) about Namespaces. A repeat of the same event within ten
// minutes updates the first one's series (count, last seen) instead of creating another. The
// recorder remembers the 4,096 most recent events for that, as client-go's correlator does: a
// cold start at 5,000 namespaces records 15,000, which it need not keep.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from './client.ts';
import { microTime } from './microtime.ts';

export interface EventSubject {
  name: string;
  uid?: string | undefined;
}

export interface EventRecorderOptions {
  controller: string;
  instance: string;
  onError(error: unknown): void;
  /** How many recent events are remembered for series (client-go's correlator: 4,096). */
  remembered?: number;
}

const SERIES_WINDOW_MS = 10 * 60_000;

interface Recorded {
  name: string;
  count: number;
  last: number;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly options: EventRecorderOptions;
  private readonly recent = new Map<string, Recorded>();

  constructor(client: KubeClient, options: EventRecorderOptions) {
    this.client = client;
    this.options = options;
  }

  /** Records an event on the Namespace; never throws (a lost Event must not fail a reconcile). */
  async record(ns: EventSubject, type: 'Normal' | 'Warning', reason: string, action: string, note: string) {
    const key = `${ns.name}\0${type}\0${reason}\0${note}`;
    const now = Date.now();
    try {
      const seen = this.recent.get(key);
      if (seen && now - seen.last < SERIES_WINDOW_MS) {
        seen.count++;
        seen.last = now;
        this.recent.delete(key); // most recently used last
        this.recent.set(key, seen);
        await this.client.request(
          'PATCH',
          `/apis/events.k8s.io/v1/namespaces/${ns.name}/events/${seen.name}`,
          {
            query: { fieldManager: this.options.controller },
            body: { series: { count: seen.count, lastObservedTime: microTime(now) } },
            contentType: 'application/merge-patch+json',
          },
        );
        return;
      }
      const name = `${ns.name}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
      await this.client.request('POST', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`, {
        query: { fieldManager: this.options.controller },
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace: ns.name },
          eventTime: microTime(now),
          reportingController: this.options.controller,
          reportingInstance: this.options.instance,
          action,
          reason,
          type,
          note: note.slice(0, 1024),
          // The API requires regarding.namespace to match the Event's namespace; a Namespace's
          // Events live in the namespace itself, where its users look.
          regarding: { apiVersion: 'v1', kind: 'Namespace', name: ns.name, namespace: ns.name, uid: ns.uid },
        },
      });
      this.recent.set(key, { name, count: 1, last: now });
      if (this.recent.size > (this.options.remembered ?? 4096))
        this.recent.delete(this.recent.keys().next().value!);
    } catch (err) {
      this.options.onError(err);
    }
  }
}
