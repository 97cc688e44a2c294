// Reconciles one namespace: caches → plan → ledger → write → ledger records. Writes only what
// differs, and only when the ledger says now.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { apply, letGo, remove, replace, type WriteOptions } from '../../kube/apply.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventReport, EventSubject } from '../../kube/events.ts';
import {
  lastOtherManager,
  managers,
  type NamespaceObject,
  namespaceView,
  type ObservedPolicy,
} from '../../kube/objects.ts';
import { type Exception, exceptionOf, readable } from '../../policy/exceptions.ts';
import {
  EXCEPTION_EXPIRES_LABEL,
  FIELD_MANAGER,
  MANAGED_BY_LABEL,
  PROFILE_LABEL,
} from '../../policy/labels.ts';
import { type Change, type OptOut, plan } from '../../policy/plan.ts';
import { gatePolicy, type PolicyConfig } from '../../policy/profiles.ts';
import type { Declared } from '../../runtime/fight.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { PolicyStatus } from '../status.ts';
import type { ReconcileResult, Reconciler } from '../../runtime/processor.ts';
import { events } from './events.ts';
import type { RepairLedger, WriteKind, Written } from './ledger.ts';
import type { PolicyMetrics, WriteOperation } from './metrics.ts';

export interface NamespaceSettings {
  policy: PolicyConfig;
  /** What happens to our policies when a namespace is no longer selected. */
  optOut: OptOut;
  dryRun: boolean;
}

export interface ReconcilerDeps {
  client: KubeClient;
  namespaces: Informer<NamespaceObject>;
  /** Our policies in a namespace (those with our label). */
  policies: Pick<Informer<ObservedPolicy>, 'inNamespace'>;
  status: PolicyStatus;
  ledger: RepairLedger;
  record: (subject: EventSubject, event: EventReport) => void;
  log: Logger;
  settings: NamespaceSettings;
  metrics: PolicyMetrics;
  /** Wall clock (epoch ms), for exceptions' expiry. */
  now: () => number;
}

export class NamespaceReconciler implements Reconciler {
  private readonly d: ReconcilerDeps;
  /** Per namespace, the policies reported as left alone (only others wrote them): reported once. */
  private readonly leftAlone = new Map<string, Set<string>>();
  /** Per namespace, the exception last reported (kind and label value): reported when it changes. */
  private readonly exceptions = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { ledger, settings } = this.d;
    // Before the caches are read: see RepairLedger.begin.
    const round = ledger.begin(name);
    const ns = this.d.namespaces.get(name);
    if (!ns) {
      ledger.forget(name);
      this.d.status.forget(name);
      this.leftAlone.delete(name);
      this.exceptions.delete(name);
      return undefined; // gone: its policies went with it
    }
    const observed = new Map(this.d.policies.inNamespace(name).map((p) => [p.metadata.name, p]));
    const view = namespaceView(ns);
    const planned = plan(view, observed, settings.policy, settings.optOut, (p) =>
      managers(p).includes(FIELD_MANAGER),
    );
    const { decision, foreign, notWritten } = planned;
    const log = this.d.log.child({ namespace: name, reconcileID: randomUUID() });
    const subject = { name, uid: ns.metadata.uid };
    this.report(subject, decision, foreign, log);
    this.reportLeftAlone(subject, decision.kind === 'manage', notWritten, observed, log);
    // An exception suspends enforcement of a selected namespace; opting out is not held up by one.
    const now = this.d.now();
    const exception =
      decision.kind === 'manage'
        ? exceptionOf(view, now, settings.policy.guardrails.maxExceptionHours)
        : ({ kind: 'none' } as const);
    this.reportException(subject, exception, log);
    const changes = exception.kind === 'active' ? [] : planned.changes;

    const errors: unknown[] = [];
    /** A namespace's first policies, and the ones removed together, get one Event and log line between them. */
    const created: string[] = [];
    const released: Partial<Record<OptOut, string[]>> = {};
    /** What the reporting controllers hear: failures, and whether a write is still to come back. */
    const failed = new Map(this.d.status.get(name)?.failed ?? []);
    for (const policy of failed.keys()) if (!changes.some((c) => c.policy === policy)) failed.delete(policy);
    let settled = true;
    // Pods may start once the gate policy exists: it is created only after all the others were.
    const gate = decision.kind === 'manage' ? gatePolicy(settings.policy, decision.profile) : undefined;
    for (const change of changes) {
      if (errors.length > 0 && change.policy === gate && !change.observed) {
        log.debug({ policy: gate }, 'gate policy waits: a policy before it failed');
        continue;
      }
      const verdict = round.decide(
        change.kind === 'apply' ? 'apply' : 'release',
        change.policy,
        observed.size === 0,
      );
      if (verdict.declared) this.fight(subject, change, verdict.declared, log);
      if (!verdict.write) {
        log.debug({ policy: change.policy, waitMs: verdict.waitMs, reason: verdict.reason }, 'write waits');
        if (verdict.reason === 'unseen') settled = false;
        continue;
      }
      try {
        const operation = await this.write(change, signal);
        failed.delete(change.policy);
        if (!settings.dryRun) settled = false; // until the write comes back through the watch
        this.wrote(subject, change, operation, verdict.as, round.wrote(change.policy, verdict.as), log);
        if (verdict.as === 'create') created.push(change.policy);
        if (change.kind !== 'apply') (released[change.kind] ??= []).push(change.policy);
      } catch (err) {
        round.failed(change.policy);
        errors.push(err);
        failed.set(change.policy, message(err));
        if (change.kind === 'apply') this.d.record(subject, events.applyFailed(change.policy, message(err)));
      }
    }
    if (created.length > 0 && decision.kind === 'manage') {
      const order = settings.policy.profiles[decision.profile]!;
      created.sort((a, b) => order.indexOf(a) - order.indexOf(b)); // as the profile lists them
      log.info(
        { policies: created, profile: decision.profile, dryRun: settings.dryRun },
        'created NetworkPolicies',
      );
      this.d.record(subject, events.created(created, decision.profile, settings.dryRun));
    }
    for (const [mode, policies] of Object.entries(released) as [OptOut, string[]][]) {
      log.info({ policies, mode, dryRun: settings.dryRun }, 'released NetworkPolicies');
      this.d.record(subject, events.released(policies, mode, settings.dryRun));
    }
    let requeueAfter = round.end();
    this.d.status.reconciled(name, { failed, settled });
    if (errors.length > 0) throw new ReconcileError(name, errors);
    // Enforce again at the expiry itself, not at the next resync.
    if (exception.kind === 'active')
      requeueAfter = Math.min(requeueAfter ?? Infinity, exception.untilMs - now);
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }

  /** An exception in force, ended, or ignored: said when first seen so (per label value), not at every round. */
  private reportException(subject: EventSubject, exception: Exception, log: Logger): void {
    if (exception.kind === 'none') {
      this.exceptions.delete(subject.name);
      return;
    }
    const key = `${exception.kind}:${exception.value}`;
    if (this.exceptions.get(subject.name) === key) return;
    this.exceptions.set(subject.name, key);
    if (exception.kind === 'active') {
      const until = readable(exception.untilMs);
      log.warn({ until, reason: exception.reason }, 'exception in force: not enforced until it ends');
      this.d.record(subject, events.exception(until, exception.reason));
    } else if (exception.kind === 'expired') {
      const until = readable(exception.untilMs);
      log.info({ until }, 'exception ended: enforced again');
      this.d.record(subject, events.exceptionExpired(until));
    } else {
      log.warn({ value: exception.value, problem: exception.problem }, 'exception ignored: enforced');
      this.d.record(
        subject,
        events.exceptionInvalid(EXCEPTION_EXPIRES_LABEL, exception.value, exception.problem),
      );
    }
  }

  /** Reports what is not ours to fix: a label naming no profile, policies we do not define. */
  private report(
    subject: EventSubject,
    decision: ReturnType<typeof plan>['decision'],
    foreign: string[],
    log: Logger,
  ): void {
    const { policy } = this.d.settings;
    if (decision.kind === 'unknown-profile') {
      log.warn(
        { value: decision.value },
        'namespace label names no known profile; its policies are left as they are',
      );
      this.d.record(
        subject,
        events.unknownProfile(policy.selectorLabel, decision.value, Object.keys(policy.profiles)),
      );
    }
    if (decision.kind === 'manage' && decision.unrenderable.size > 0) {
      log.warn(
        { policies: Object.fromEntries(decision.unrenderable) },
        'policies cannot be built for this namespace',
      );
      this.d.record(subject, events.notBuilt(decision.unrenderable));
    }
    if (foreign.length > 0) {
      log.warn({ policies: foreign }, 'policies carry our label under names we do not define; left alone');
      this.d.record(subject, events.foreign(foreign));
    }
  }

  /** Policies that only others wrote, left in place: reported when first seen so, not at every round. */
  private reportLeftAlone(
    subject: EventSubject,
    selected: boolean,
    notWritten: string[],
    observed: ReadonlyMap<string, ObservedPolicy>,
    log: Logger,
  ): void {
    const known = this.leftAlone.get(subject.name);
    if (notWritten.length === 0) {
      this.leftAlone.delete(subject.name);
      return;
    }
    this.leftAlone.set(subject.name, new Set(notWritten));
    const fresh = notWritten.filter((policy) => !known?.has(policy));
    if (fresh.length === 0) return;
    const writers = [...new Set(fresh.flatMap((policy) => managers(observed.get(policy)!)))];
    log.info(
      { policies: fresh, writers },
      'policies carry our label but only others wrote them; not ours to remove, left in place',
    );
    this.d.record(subject, events.leftAlone(fresh, writers, selected));
  }

  /** Sends one change. A modified spec is replaced whole, since fields another manager added survive an apply. */
  private async write(change: Change<ObservedPolicy>, signal: AbortSignal): Promise<WriteOperation> {
    const { client, settings } = this.d;
    const options: WriteOptions = { fieldManager: FIELD_MANAGER, dryRun: settings.dryRun, signal };
    if (change.kind === 'apply') {
      const { desired, observed, drift } = change;
      const resourceVersion = drift === 'modified' ? observed?.metadata.resourceVersion : undefined;
      if (resourceVersion === undefined) {
        await apply(client, desired, options);
        return 'apply';
      }
      // Conditional on the cached resourceVersion: a 409 retries with a fresh cache.
      const labels = { ...observed!.metadata.labels, ...desired.metadata.labels };
      await replace(
        client,
        { ...desired, metadata: { ...desired.metadata, labels } },
        { spec: desired.spec },
        resourceVersion,
        options,
      );
      return 'replace';
    }
    const { observed } = change;
    if (change.kind === 'delete') await remove(client, observed, observed.metadata.resourceVersion, options);
    else
      await letGo(
        client,
        observed,
        [MANAGED_BY_LABEL, PROFILE_LABEL],
        observed.metadata.resourceVersion!,
        options,
      );
    return change.kind;
  }

  /**
   * What a successful write leaves behind: metrics, a debug line, and a repair's log line and Event
   * (creations and removals are told once per namespace, by the caller).
   */
  private wrote(
    subject: EventSubject,
    change: Change<ObservedPolicy>,
    operation: WriteOperation,
    as: WriteKind,
    written: Written,
    log: Logger,
  ): void {
    const { metrics, settings } = this.d;
    const record = (event: EventReport) => this.d.record(subject, event);
    const { policy } = change;
    metrics.wrote(policy, operation);
    if (change.kind !== 'apply') {
      log.debug({ policy, mode: change.kind, dryRun: settings.dryRun }, 'released NetworkPolicy');
      return;
    }
    const fields = { policy, drift: change.drift, operation, dryRun: settings.dryRun };
    if (as === 'create') {
      log.debug(fields, 'applied NetworkPolicy');
      return;
    }
    log.info(fields, 'applied NetworkPolicy');
    const profile = change.desired.metadata.labels?.[PROFILE_LABEL] ?? '';
    record(events.repaired(policy, change.drift, profile, settings.dryRun));
    if (written.repair) {
      const { sinceChangeMs } = written.repair;
      metrics.repaired(policy, change.drift, sinceChangeMs === undefined ? undefined : sinceChangeMs / 1000);
    }
  }

  /** Writes of a policy began to wait: another writer keeps undoing them. Said once per fight. */
  private fight(subject: EventSubject, change: Change<ObservedPolicy>, fight: Declared, log: Logger): void {
    const writer = change.observed && lastOtherManager(change.observed, FIELD_MANAGER);
    const undo = change.kind === 'apply' ? change.drift : 'released';
    this.d.metrics.fightStarted(change.policy);
    log.warn(
      { policy: change.policy, writer, undo, writes: fight.writes, waitMs: fight.waitMs },
      'another writer keeps undoing our writes; they back off',
    );
    this.d.record(
      subject,
      events.fight(change.policy, undo, writer, fight.writes, fight.waitMs, fight.maxWaitMs),
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
