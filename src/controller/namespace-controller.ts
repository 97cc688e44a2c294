// The namespace controller: maps Namespace and managed NetworkPolicy events to namespace keys, and
// reconciles one namespace by reading the caches and writing only what differs.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventRecorder, EventSubject } from '../kube/events.ts';
import {
  lastOtherManager,
  namespaceView,
  type NamespaceObject,
  type ObservedPolicy,
  type WriteOptions,
} from '../kube/resources.ts';
import type { KubeClient } from '../kube/client.ts';
import {
  applyNetworkPolicy,
  deleteNetworkPolicy,
  removeLabels,
  replaceNetworkPolicy,
} from '../kube/resources.ts';
import { type Change, type OptOut, plan } from '../policy/plan.ts';
import { FIELD_MANAGER, MANAGED_BY_LABEL, PROFILE_LABEL } from '../policy/labels.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import { Expectations } from '../runtime/expectations.ts';
import { FightTracker, type FightOptions } from '../runtime/fight.ts';
import type { Informer } from '../runtime/informer.ts';
import type { ReconcileResult, Reconciler } from '../runtime/processor.ts';
import type { WorkQueue } from '../runtime/workqueue.ts';
import type { PolicyMetrics } from './metrics.ts';

export const CONTROLLER_NAME = 'namespace-isolation';

export interface ControllerSettings {
  policy: PolicyConfig;
  /** What happens to our policies when a namespace is no longer selected. */
  optOut: OptOut;
  dryRun: boolean;
  /** How repairs that keep being undone back off (defaults: two free, then 1 s doubling to 60 s). */
  fight?: Partial<FightOptions>;
}

export class NamespaceController implements Reconciler {
  private readonly byNamespace = new Map<string, Set<string>>();
  /** Per namespace, when a change or deletion of each of our policies was seen (performance.now()). */
  private readonly changedAt = new Map<string, Map<string, number>>();
  private readonly client: KubeClient;
  private readonly namespaces: Informer<NamespaceObject>;
  private readonly policies: Informer<ObservedPolicy>;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly settings: ControllerSettings;
  private readonly metrics: PolicyMetrics;
  private readonly write: WriteOptions;
  private readonly fights: FightTracker;
  private readonly expectations = new Expectations();
  /** Namespaces whose first policies are not all written yet (a first attempt failed). */
  private readonly creating = new Set<string>();

  constructor(deps: {
    client: KubeClient;
    namespaces: Informer<NamespaceObject>;
    policies: Informer<ObservedPolicy>;
    events: EventRecorder;
    log: Logger;
    settings: ControllerSettings;
    metrics: PolicyMetrics;
  }) {
    this.client = deps.client;
    this.namespaces = deps.namespaces;
    this.policies = deps.policies;
    this.events = deps.events;
    this.log = deps.log;
    this.settings = deps.settings;
    this.metrics = deps.metrics;
    this.write = { fieldManager: FIELD_MANAGER, dryRun: deps.settings.dryRun };
    this.fights = new FightTracker(deps.settings.fight);
  }

  /** A write under --dry-run changes nothing, so no event will come back. */
  private expectWrite(key: string): void {
    if (!this.settings.dryRun) this.expectations.expect(key);
  }

  private seen(p: ObservedPolicy): void {
    this.expectations.observed(`${p.metadata.namespace}/${p.metadata.name}`);
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
        this.seen(p);
        this.index(p, true);
        queue.add(p.metadata.namespace);
      },
      update: (_old, p) => {
        this.seen(p);
        this.sawChange(p);
        queue.add(p.metadata.namespace);
      },
      delete: (p) => {
        this.seen(p);
        this.index(p, false);
        this.sawChange(p);
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

  /** The earliest unreconciled change wins: a repair is timed from the drift, not from our own echo. */
  private sawChange(p: ObservedPolicy): void {
    this.sawChangeAt(p.metadata.namespace, p.metadata.name, performance.now());
  }

  private sawChangeAt(namespace: string, name: string, at: number): void {
    let times = this.changedAt.get(namespace);
    if (!times) this.changedAt.set(namespace, (times = new Map<string, number>()));
    if (!times.has(name) || times.get(name)! > at) times.set(name, at);
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
    // Changes seen from here on are timed afresh by the next reconcile.
    const changedAt = this.changedAt.get(name) ?? new Map<string, number>();
    this.changedAt.delete(name);
    const ns = this.namespaces.get(name);
    if (!ns) {
      this.fights.prune((key) => key.startsWith(`${name}/`));
      this.creating.delete(name);
      return undefined; // gone: its policies went with it
    }
    const observed = this.observed(name);
    const { decision, changes, foreign } = plan(
      namespaceView(ns),
      observed,
      this.settings.policy,
      this.settings.optOut,
    );
    const subject = { name, uid: ns.metadata.uid };

    if (decision.kind === 'unknown-profile') {
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
    }
    if (foreign.length > 0) {
      log.warn({ policies: foreign }, 'policies carry our label under names we do not define; left alone');
      await this.events.record(
        subject,
        'Warning',
        'ForeignPolicy',
        'Reconcile',
        `NetworkPolicies ${foreign.join(', ')} carry the label ${MANAGED_BY_LABEL} but are not defined in the controller's configuration; ` +
          'they are left alone: remove the label, or define them under policies',
      );
    }
    const errors: unknown[] = [];
    let requeueAfter: number | undefined;
    // A change not written now stays timed from when it was seen.
    const remember = (policy: string) => {
      const since = changedAt.get(policy);
      if (since !== undefined) this.sawChangeAt(name, policy, since);
    };
    for (const change of changes) {
      const key = `${name}/${change.policy}`;
      // Our last write to it is not in the cache yet: its event will bring the namespace back.
      const unseenMs = this.expectations.waitMs(key);
      if (unseenMs > 0) {
        requeueAfter = Math.min(requeueAfter ?? Infinity, unseenMs);
        continue;
      }
      try {
        if (change.kind === 'apply') {
          // A namespace's first policies (also when its first attempt failed part-way) are
          // created, not repaired: no drift repair is counted, and no fight.
          const created = (observed.size === 0 || this.creating.has(name)) && !changedAt.has(change.policy);
          const waitMs = created ? 0 : this.fights.wait(key);
          if (waitMs > 0) {
            // Not yet: the change is remembered, so the repair is timed from it when it comes.
            remember(change.policy);
            requeueAfter = Math.min(requeueAfter ?? Infinity, waitMs);
            continue;
          }
          this.expectWrite(key);
          await this.apply(subject, change, created, changedAt.get(change.policy), log);
          if (!created) await this.countRepair(subject, key, change, log);
        } else {
          this.expectWrite(key);
          await this.release(subject, change.kind, change.observed, log);
        }
      } catch (err) {
        this.expectations.observed(key);
        errors.push(err);
        remember(change.policy);
      }
    }
    if (errors.length > 0) {
      if (observed.size === 0) this.creating.add(name);
      throw new ReconcileError(name, errors);
    }
    this.creating.delete(name);
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }

  /**
   * Counts a drift repair that was written: repairs that keep being undone back off, and the first
   * time they do, a Warning Event names the other writer.
   */
  private async countRepair(
    subject: EventSubject,
    key: string,
    change: Extract<Change<ObservedPolicy>, { kind: 'apply' }>,
    log: Logger,
  ): Promise<void> {
    const verdict = this.fights.repaired(key);
    if (verdict.fightStarted) {
      const writer = change.observed && lastOtherManager(change.observed, FIELD_MANAGER);
      const who = writer ? `field manager "${writer}"` : 'another writer';
      const undone = change.drift === 'deleted' ? 'deleted' : `changed (${change.drift})`;
      const delays = `${this.fights.delay(verdict.repairs) / 1000} s, doubling up to ${this.fights.delay(Infinity) / 1000} s`;
      this.metrics.fightStarted(change.policy);
      log.warn(
        { policy: change.policy, writer, drift: change.drift, repairs: verdict.repairs },
        'another writer keeps undoing a repair; repairs back off',
      );
      await this.events.record(
        subject,
        'Warning',
        'PolicyFight',
        'Repair',
        `NetworkPolicy ${change.policy} was ${undone} again by ${who} after ${verdict.repairs - 1} repairs within a minute; ` +
          `repairs now wait ${delays}. Make that writer apply what \`namespace-isolation-controller render\` prints, or exclude this namespace.`,
      );
    }
  }

  /** Applies one policy; `created` when it is a namespace's first, not the repair of a drift. */
  private async apply(
    subject: EventSubject,
    change: Extract<Change<ObservedPolicy>, { kind: 'apply' }>,
    created: boolean,
    changedAt: number | undefined,
    log: Logger,
  ): Promise<void> {
    const { policy, drift, desired, observed } = change;
    // A modified spec is replaced as a whole, since fields another manager added survive an
    // apply; the replace is conditional on the cached resourceVersion (a 409 retries).
    const resourceVersion = drift === 'modified' ? observed?.metadata.resourceVersion : undefined;
    const operation = resourceVersion === undefined ? 'apply' : 'replace';
    try {
      if (resourceVersion === undefined) await applyNetworkPolicy(this.client, desired, this.write);
      else {
        const labels = { ...observed!.metadata.labels, ...desired.metadata.labels };
        const policy = { metadata: { ...desired.metadata, labels }, spec: desired.spec };
        await replaceNetworkPolicy(this.client, policy, resourceVersion, this.write);
      }
    } catch (err) {
      await this.events.record(
        subject,
        'Warning',
        'ApplyFailed',
        'Apply',
        `NetworkPolicy ${policy}: ${message(err)}`,
      );
      throw err;
    }
    this.metrics.wrote(policy, operation);
    if (!created && !this.settings.dryRun) {
      this.metrics.repaired(
        policy,
        drift,
        changedAt === undefined ? undefined : (performance.now() - changedAt) / 1000,
      );
    }
    log.info({ policy, drift, operation, dryRun: this.settings.dryRun }, 'applied NetworkPolicy');
    const profile = desired.metadata.labels?.[PROFILE_LABEL];
    await this.events.record(
      subject,
      'Normal',
      created ? 'PolicyApplied' : 'PolicyRepaired',
      'Apply',
      `${this.dryRunPrefix(created ? `created NetworkPolicy ${policy}` : `repaired NetworkPolicy ${policy} (${drift})`)} for profile ${profile}`,
    );
  }

  /** A policy of ours the namespace should no longer have: deleted, or orphaned if configured. */
  private async release(subject: EventSubject, mode: OptOut, p: ObservedPolicy, log: Logger): Promise<void> {
    const { namespace, name, resourceVersion } = p.metadata;
    if (mode === 'delete') {
      await deleteNetworkPolicy(this.client, namespace, name, resourceVersion, this.write);
    } else {
      await removeLabels(this.client, namespace, name, [MANAGED_BY_LABEL, PROFILE_LABEL], this.write);
    }
    this.metrics.wrote(name, mode);
    log.info({ policy: name, mode, dryRun: this.settings.dryRun }, 'released NetworkPolicy');
    await this.events.record(
      subject,
      'Normal',
      mode === 'delete' ? 'PolicyRemoved' : 'PolicyOrphaned',
      mode === 'delete' ? 'Delete' : 'Orphan',
      this.dryRunPrefix(`${mode === 'delete' ? 'removed' : 'stopped managing'} NetworkPolicy ${name}`),
    );
  }

  /** Under --dry-run the write was sent with dryRun=All and changed nothing; the Event says so. */
  private dryRunPrefix(done: string): string {
    return this.settings.dryRun ? `dry run: would have ${done}` : done;
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
