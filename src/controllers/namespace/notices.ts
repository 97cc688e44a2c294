// What the namespace controller tells a namespace's team (Events) and the operator (log lines), each
// once: what is not ours to fix, exceptions, fights, and a round's writes summed up per namespace.
import type { Logger } from 'pino';
import type { EventReport, EventSubject } from '../../kube/events.ts';
import { lastOtherManager, managers, type ObservedPolicy } from '../../kube/objects.ts';
import type { Decision } from '../../policy/desired.ts';
import { type Exception, readable } from '../../policy/exceptions.ts';
import { EXCEPTION_EXPIRES_LABEL, FIELD_MANAGER } from '../../policy/labels.ts';
import type { Change, OptOut } from '../../policy/plan.ts';
import type { PolicyConfig } from '../../policy/profiles.ts';
import type { Declared } from '../../runtime/fight.ts';
import { events } from './events.ts';
import type { PolicyMetrics } from './metrics.ts';

export interface NoticeDeps {
  record: (subject: EventSubject, event: EventReport) => void;
  settings: { readonly policy: PolicyConfig; readonly dryRun: boolean };
  metrics: Pick<PolicyMetrics, 'fightStarted'>;
}

/** A round's successful writes, by what they were. */
export interface RoundWrites {
  created: string[];
  /** Carried out a rollout (`cause`): a change of what is wanted, not drift. */
  updated: { policies: string[]; cause: string };
  released: Partial<Record<OptOut, string[]>>;
}

export class Notices {
  private readonly d: NoticeDeps;
  /** Per namespace, the policies reported as left alone (only others wrote them): reported once. */
  private readonly leftAlone = new Map<string, Set<string>>();
  /** Per namespace, the exception last reported (kind and label value): reported when it changes. */
  private readonly exceptions = new Map<string, string>();

  constructor(deps: NoticeDeps) {
    this.d = deps;
  }

  /** The namespace is gone: nothing of it is remembered. */
  forget(namespace: string): void {
    this.leftAlone.delete(namespace);
    this.exceptions.delete(namespace);
  }

  /** Reports what is not ours to fix: a label naming no profile, policies we do not define or cannot build. */
  notOurs(subject: EventSubject, decision: Decision, foreign: string[], log: Logger): void {
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
  leftInPlace(
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

  /** An exception in force, ended, or ignored: said when first seen so (per label value), not at every round. */
  exception(subject: EventSubject, exception: Exception, log: Logger): void {
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

  /** Writes of a policy began to wait: another writer keeps undoing them. Said once per fight. */
  fight(subject: EventSubject, change: Change<ObservedPolicy>, fight: Declared, log: Logger): void {
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

  /** A round's creations, updates and removals: one Event and one log line each, per namespace. */
  wrote(subject: EventSubject, decision: Decision, writes: RoundWrites, log: Logger): void {
    const { policy, dryRun } = this.d.settings;
    const { created, updated } = writes;
    if (created.length > 0 && decision.kind === 'manage') {
      const order = policy.profiles[decision.profile]!;
      created.sort((a, b) => order.indexOf(a) - order.indexOf(b)); // as the profile lists them
      log.info({ policies: created, profile: decision.profile, dryRun }, 'created NetworkPolicies');
      this.d.record(subject, events.created(created, decision.profile, dryRun));
    }
    if (updated.policies.length > 0 && decision.kind === 'manage') {
      const { policies, cause } = updated;
      log.info({ policies, profile: decision.profile, cause, dryRun }, 'updated NetworkPolicies');
      this.d.record(subject, events.updated(policies, decision.profile, cause, dryRun));
    }
    for (const [mode, policies] of Object.entries(writes.released) as [OptOut, string[]][]) {
      log.info({ policies, mode, dryRun }, 'released NetworkPolicies');
      this.d.record(subject, events.released(policies, mode, dryRun));
    }
  }
}
