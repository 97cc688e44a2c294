// The namespace controller: maps Namespace and managed NetworkPolicy events to namespace keys, and
// reconciles one namespace by reading the caches and writing only what differs.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventRecorder } from '../kube/events.ts';
import type { NamespaceObject, WriteOptions } from '../kube/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import { applyNetworkPolicy, deleteNetworkPolicy, removeLabels } from '../kube/resources.ts';
import { driftOf } from '../policy/compare.ts';
import { decide } from '../policy/desired.ts';
import { FIELD_MANAGER, MANAGED_BY_LABEL, PROFILE_LABEL } from '../policy/labels.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { NamespaceView, NetworkPolicy } from '../policy/types.ts';
import type { Informer } from '../runtime/informer.ts';
import type { ReconcileResult, Reconciler } from '../runtime/processor.ts';
import type { WorkQueue } from '../runtime/workqueue.ts';

export const CONTROLLER_NAME = 'namespace-isolation';

export interface ControllerSettings {
  policy: PolicyConfig;
  /** What happens to our policies when a namespace is no longer selected. */
  optOut: 'delete' | 'orphan';
  dryRun: boolean;
}

/** A NetworkPolicy as the API server returns it. */
export type ObservedPolicy = NetworkPolicy & { metadata: { resourceVersion?: string } };

export class NamespaceController implements Reconciler {
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly client: KubeClient;
  private readonly namespaces: Informer<NamespaceObject>;
  private readonly policies: Informer<ObservedPolicy>;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly settings: ControllerSettings;
  private readonly write: WriteOptions;

  constructor(deps: {
    client: KubeClient;
    namespaces: Informer<NamespaceObject>;
    policies: Informer<ObservedPolicy>;
    events: EventRecorder;
    log: Logger;
    settings: ControllerSettings;
  }) {
    this.client = deps.client;
    this.namespaces = deps.namespaces;
    this.policies = deps.policies;
    this.events = deps.events;
    this.log = deps.log;
    this.settings = deps.settings;
    this.write = { fieldManager: FIELD_MANAGER, dryRun: deps.settings.dryRun };
  }

  /** Events only say which namespace to look at. */
  watch(queue: WorkQueue): void {
    this.namespaces.addHandlers({
      add: (ns) => queue.add(ns.metadata.name),
      update: (_old, ns) => queue.add(ns.metadata.name),
      delete: (ns) => queue.add(ns.metadata.name),
    });
    this.policies.addHandlers({
      add: (p) => {
        this.index(p, true);
        queue.add(p.metadata.namespace);
      },
      update: (_old, p) => queue.add(p.metadata.namespace),
      delete: (p) => {
        this.index(p, false);
        queue.add(p.metadata.namespace);
      },
    });
  }

  private index(p: ObservedPolicy, present: boolean): void {
    const ns = p.metadata.namespace;
    let names = this.byNamespace.get(ns);
    if (present) {
      if (!names) this.byNamespace.set(ns, (names = new Set()));
      names.add(p.metadata.name);
    } else if (names) {
      names.delete(p.metadata.name);
      if (names.size === 0) this.byNamespace.delete(ns);
    }
  }

  /** Our policies in a namespace, from the cache. */
  private observed(namespace: string): Map<string, ObservedPolicy> {
    const found = new Map<string, ObservedPolicy>();
    for (const name of this.byNamespace.get(namespace) ?? []) {
      const p = this.policies.get(`${namespace}/${name}`);
      if (p) found.set(name, p);
    }
    return found;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const log = this.log.child({ namespace: name, reconcileID: randomUUID() });
    const ns = this.namespaces.get(name);
    if (!ns) {
      return undefined; // gone: its policies went with it
    }
    const decision = decide(view(ns), this.settings.policy);
    const observed = this.observed(name);
    const subject = { name, uid: ns.metadata.uid };

    switch (decision.kind) {
      case 'leave':
        return undefined;
      case 'unknown-profile':
        log.warn(
          { value: decision.value },
          'namespace label names no known profile; its policies are left as they are',
        );
        await this.events.record(
          subject,
          'Warning',
          'UnknownProfile',
          'Reconcile',
          `label ${this.settings.policy.selectorLabel}=${decision.value} names no profile; known: ${Object.keys(this.settings.policy.profiles).join(', ')}`,
        );
        return undefined;
      case 'unselected':
        for (const p of observed.values()) await this.release(subject, p, log);
        return undefined;
      case 'manage': {
        const wanted = new Set<string>();
        const errors: unknown[] = [];
        for (const desired of decision.policies) {
          wanted.add(desired.metadata.name);
          const drift = driftOf(desired, observed.get(desired.metadata.name));
          if (!drift) continue;
          try {
            await applyNetworkPolicy(this.client, desired, this.write);
            // With none of ours there yet this is the first apply, not the repair of a deletion.
            const created = observed.size === 0;
            log.info(
              { policy: desired.metadata.name, drift, dryRun: this.settings.dryRun },
              'applied NetworkPolicy',
            );
            await this.events.record(
              subject,
              'Normal',
              created ? 'PolicyApplied' : 'PolicyRepaired',
              'Apply',
              `${this.settings.dryRun ? 'would apply' : created ? 'created' : 'repaired'} NetworkPolicy ${desired.metadata.name}${created ? '' : ` (${drift})`} for profile ${decision.profile}`,
            );
          } catch (err) {
            errors.push(err);
            await this.events.record(
              subject,
              'Warning',
              'ApplyFailed',
              'Apply',
              `NetworkPolicy ${desired.metadata.name}: ${message(err)}`,
            );
          }
        }
        for (const p of observed.values()) {
          if (!wanted.has(p.metadata.name)) await this.release(subject, p, log, 'delete');
        }
        if (errors.length > 0) throw new ReconcileError(name, errors);
        return undefined;
      }
    }
  }

  /** A policy of ours the namespace should no longer have: deleted, or orphaned if configured. */
  private async release(
    subject: { name: string; uid?: string | undefined },
    p: ObservedPolicy,
    log: Logger,
    mode: 'delete' | 'orphan' = this.settings.optOut,
  ): Promise<void> {
    const { namespace, name, resourceVersion } = p.metadata;
    if (mode === 'delete') {
      await deleteNetworkPolicy(this.client, namespace, name, resourceVersion, this.write);
    } else {
      await removeLabels(this.client, namespace, name, [MANAGED_BY_LABEL, PROFILE_LABEL], this.write);
    }
    log.info({ policy: name, mode, dryRun: this.settings.dryRun }, 'released NetworkPolicy');
    await this.events.record(
      subject,
      'Normal',
      mode === 'delete' ? 'PolicyRemoved' : 'PolicyOrphaned',
      mode === 'delete' ? 'Delete' : 'Orphan',
      `${this.settings.dryRun ? 'would remove' : mode === 'delete' ? 'removed' : 'stopped managing'} NetworkPolicy ${name}`,
    );
  }
}

/** Several writes of one namespace failed; the key is retried with backoff. */
export class ReconcileError extends Error {
  readonly causes: unknown[];
  constructor(namespace: string, causes: unknown[]) {
    super(`namespace ${namespace}: ${causes.map(message).join('; ')}`);
    this.name = 'ReconcileError';
    this.causes = causes;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function view(ns: NamespaceObject): NamespaceView {
  return {
    name: ns.metadata.name,
    labels: ns.metadata.labels ?? {},
    annotations: ns.metadata.annotations ?? {},
    terminating: ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating',
  };
}
