// Kubernetes Events (events.k8s.io/v1) about Namespaces, recorded without waiting: `record` hands
// the Event to a bounded sink that one sender works through (see runtime/sink.ts). A repeat of the
// same event within ten minutes updates the first one's series (count, last seen) instead of
// creating another. The recorder remembers the 4,096 most recent events for that, as client-go's
// correlator does: a cold start at 5,000 namespaces records 15,000, which it need not keep.
import { randomBytes } from 'node:crypto';
import { Sink } from '../runtime/sink.ts';
import type { KubeClient } from './client.ts';
import { microTime } from './microtime.ts';
import { resourcePath } from './resources.ts';

export interface EventSubject {
  name: string;
  uid?: string | undefined;
}

export interface EventRecorderOptions {
  controller: string;
  instance: string;
  /** Events waiting to be sent at most; beyond that the oldest is dropped. */
  capacity: number;
  /** How many recent events are remembered for series (client-go's correlator: 4,096). */
  remembered: number;
  failed(error: unknown): void;
  dropped(): void;
}

/** What the controller says: its reason, its type and action, and the note a user reads. */
export interface EventReport {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

const SERIES_WINDOW_MS = 10 * 60_000;

interface Recorded {
  name: string;
  count: number;
  last: number;
}

type Request = { path: string; method: 'POST' | 'PATCH'; body: unknown; contentType?: string };

export class EventRecorder {
  private readonly options: EventRecorderOptions;
  private readonly recent = new Map<string, Recorded>();
  private readonly sink: Sink<Request>;
  private sequence = randomBytes(3).readUIntBE(0, 3);

  constructor(client: KubeClient, options: EventRecorderOptions) {
    this.options = options;
    this.sink = new Sink<Request>({
      capacity: options.capacity,
      send: async (r, signal) => {
        await client.send(r.method, r.path, {
          query: { fieldManager: options.controller },
          body: r.body,
          contentType: r.contentType,
          signal,
        });
      },
      dropped: () => options.dropped(),
      failed: (_r, err) => options.failed(err),
    });
  }

  /** Records an event on the Namespace, in its own namespace, where its users look. Never waits. */
  record(ns: EventSubject, event: EventReport): void {
    const { type, reason, action, note } = event;
    const key = `${ns.name}\0${type}\0${reason}\0${note}`;
    const now = Date.now();
    const seen = this.recent.get(key);
    if (seen && now - seen.last < SERIES_WINDOW_MS) {
      seen.count++;
      seen.last = now;
      this.recent.delete(key); // most recently used last
      this.recent.set(key, seen);
      this.sink.post({
        method: 'PATCH',
        path: resourcePath('Event', ns.name, seen.name),
        body: { series: { count: seen.count, lastObservedTime: microTime(now) } },
        contentType: 'application/merge-patch+json',
      });
      return;
    }
    // client-go names an Event after its object and the time; a counter after a random start
    // keeps two in the same millisecond apart (a random suffix each cost more than the rest).
    const name = `${ns.name}.${now.toString(16)}${(this.sequence++ & 0xffffff).toString(16).padStart(6, '0')}`;
    this.sink.post({
      method: 'POST',
      path: resourcePath('Event', ns.name),
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
        // The API requires regarding.namespace to match the Event's namespace.
        regarding: { apiVersion: 'v1', kind: 'Namespace', name: ns.name, namespace: ns.name, uid: ns.uid },
      },
    });
    this.recent.set(key, { name, count: 1, last: now });
    if (this.recent.size > this.options.remembered) this.recent.delete(this.recent.keys().next().value!);
  }

  /** Events not sent yet. */
  get pending(): number {
    return this.sink.length;
  }

  /** Sends what is queued for at most `timeoutMs`, then gives up on the rest; true if all was sent. */
  close(timeoutMs: number): Promise<boolean> {
    return this.sink.close(timeoutMs);
  }
}
