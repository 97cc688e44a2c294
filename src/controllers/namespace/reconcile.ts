// Reconciles one namespace: caches → plan → ledger → write → ledger records. Writes only what
// differs, and only when the ledger says now.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import type { EventReport, EventSubject } from '../../kube/events.ts';
import { managers, type NamespaceObject, namespaceView, type ObservedPolicy } from '../../kube/objects.ts';
import type { Decision } from '../../policy/desired.ts';
import { exceptionOf } from '../../policy/exceptions.ts';
import { FIELD_MANAGER, PROFILE_LABEL } from '../../policy/labels.ts';
import { carriesOut, type Change, type OptOut, plan } from '../../policy/plan.ts';
import { gatePolicy, type PolicyConfig } from '../../policy/profiles.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { ReconcileResult, Reconciler } from '../../runtime/processor.ts';
import type { PolicyStatus } from '../status.ts';
import { events } from './events.ts';
import type { RepairLedger, Rollout, WriteKind, Written } from './ledger.ts';
import type { PolicyMetrics, WriteOperation } from './metrics.ts';
import { Notices, type RoundWrites } from './notices.ts';
import { send } from './write.ts';

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
  private readonly notices: Notices;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.notices = new Notices(deps);
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { ledger, settings } = this.d;
    // Before the caches are read: see RepairLedger.begin.
    const round = ledger.begin(name);
    const ns = this.d.namespaces.get(name);
    if (!ns) {
      ledger.forget(name);
      this.d.status.forget(name);
      this.notices.forget(name);
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
    this.notices.notOurs(subject, decision, foreign, log);
    this.notices.leftInPlace(subject, decision.kind === 'manage', notWritten, observed, log);
    // An exception suspends enforcement of a selected namespace; opting out is not held up by one.
    const now = this.d.now();
    const exception =
      decision.kind === 'manage'
        ? exceptionOf(view, now, settings.policy.guardrails.maxExceptionHours)
        : ({ kind: 'none' } as const);
    this.notices.exception(subject, exception, log);
    const changes = exception.kind === 'active' ? [] : planned.changes;

    const errors: unknown[] = [];
    const rollout = round.rollout as Rollout<Decision> | undefined;
    /** Creations, updates and removals are told once per namespace, after the round. */
    const done: RoundWrites = {
      created: [],
      updated: { policies: [], cause: rollout?.cause ?? '' },
      released: {},
    };
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
      const kind =
        change.kind !== 'apply'
          ? 'release'
          : rollout && carriesOut(change, rollout.before)
            ? 'update'
            : 'apply';
      const verdict = round.decide(kind, change.policy, observed.size === 0);
      if (verdict.declared) this.notices.fight(subject, change, verdict.declared, log);
      if (!verdict.write) {
        log.debug({ policy: change.policy, waitMs: verdict.waitMs, reason: verdict.reason }, 'write waits');
        if (verdict.reason === 'unseen') settled = false;
        continue;
      }
      try {
        const operation = await send(this.d.client, change, {
          fieldManager: FIELD_MANAGER,
          dryRun: settings.dryRun,
          signal,
        });
        failed.delete(change.policy);
        if (!settings.dryRun) settled = false; // until the write comes back through the watch
        this.wrote(subject, change, operation, verdict.as, round.wrote(change.policy, verdict.as), log);
        if (verdict.as === 'create') done.created.push(change.policy);
        if (verdict.as === 'update') done.updated.policies.push(change.policy);
        if (change.kind !== 'apply') (done.released[change.kind] ??= []).push(change.policy);
      } catch (err) {
        round.failed(change.policy);
        errors.push(err);
        failed.set(change.policy, message(err));
        if (change.kind === 'apply') this.d.record(subject, events.applyFailed(change.policy, message(err)));
      }
    }
    this.notices.wrote(subject, decision, done, log);
    let requeueAfter = round.end();
    this.d.status.reconciled(name, { failed, settled });
    if (errors.length > 0) throw new ReconcileError(name, errors);
    // Enforce again at the expiry itself, not at the next resync.
    if (exception.kind === 'active')
      requeueAfter = Math.min(requeueAfter ?? Infinity, exception.untilMs - now);
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }

  /**
   * What a successful write leaves behind: metrics, a debug line, and a repair's log line and Event
   * (creations, updates and removals are told once per namespace: Notices.wrote).
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
    if (as === 'create' || as === 'update') {
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
