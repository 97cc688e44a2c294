// A watch on every policy the controller manages, from now on, timestamping each event: how the
// benchmark and the fault tests see what the controller did, as a user's watch would.
import type { KubeClient } from '../src/kube/client.ts';
import { NETWORK_POLICIES } from '../src/kube/resources.ts';
import { MANAGED_SELECTOR } from '../src/policy/labels.ts';
import type { NetworkPolicy } from '../src/policy/types.ts';
import { eventually } from './wait.ts';

export type Policy = NetworkPolicy & { metadata: { resourceVersion: string } };

export interface PolicyEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  at: number;
  policy: Policy;
}

/** Timestamps are performance.now(); `present` is every managed policy, as namespace/name. */
export class PolicyWatch {
  readonly present = new Set<string>();
  private readonly listeners = new Set<(e: PolicyEvent) => void>();
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

  static async start(client: KubeClient): Promise<PolicyWatch> {
    const watch = new PolicyWatch();
    const list = await client.list<Policy>(NETWORK_POLICIES, { labelSelector: MANAGED_SELECTOR });
    for (const p of list.items) watch.present.add(`${p.metadata.namespace}/${p.metadata.name}`);
    const events = await client.watch<Policy>(
      NETWORK_POLICIES,
      {
        labelSelector: MANAGED_SELECTOR,
        resourceVersion: list.metadata.resourceVersion,
        timeoutSeconds: 3600,
      },
      watch.abort.signal,
    );
    watch.done = (async () => {
      try {
        for await (const e of events) {
          if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') continue;
          const event = { type: e.type, at: performance.now(), policy: e.object as Policy };
          const key = `${event.policy.metadata.namespace}/${event.policy.metadata.name}`;
          if (e.type === 'DELETED') watch.present.delete(key);
          else watch.present.add(key);
          for (const listener of watch.listeners) listener(event);
        }
      } catch (err) {
        if (!watch.abort.signal.aborted) throw err;
      }
    })();
    return watch;
  }

  on(listener: (e: PolicyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits until exactly `count` managed policies exist; returns when (performance.now()). */
  async until(count: number, what: string, timeoutMs = 600_000): Promise<number> {
    await eventually(
      () => this.present.size === count,
      `${what} (${count} policies; ${this.present.size} so far)`,
      timeoutMs,
    );
    return performance.now();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
