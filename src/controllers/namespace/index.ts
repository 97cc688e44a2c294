// The namespace controller: watches Namespaces and the NetworkPolicies it manages, maps their events
// to namespace keys, and reconciles each namespace's policies (reconcile.ts).
import { type NamespaceObject, namespaceView, type ObservedPolicy } from '../../kube/objects.ts';
import { type Decision, decide, sameDecision, select } from '../../policy/desired.ts';
import { exceptionOf } from '../../policy/exceptions.ts';
import { isManaged } from '../../policy/labels.ts';
import { FIXED } from '../../config.ts';
import { METRICS_PREFIX } from '../../policy/labels.ts';
import type { PolicyConfig } from '../../policy/profiles.ts';
import { timers, Wave } from '../../runtime/wave.ts';
import { Counter, Gauge } from 'prom-client';
import { watchApiServer } from '../apiserver.ts';
import type { Controller } from '../../runtime/manager.ts';
import type { Deps } from '../deps.ts';
import { sharedInformers } from '../cache.ts';
import { EnforcementClock } from './latency.ts';
import { RepairLedger } from './ledger.ts';
import { registerPolicyMetrics } from './metrics.ts';
import { NamespaceReconciler } from './reconcile.ts';

export const CONTROLLER_NAME = 'namespace-isolation';

export const namespaceController: Controller<Deps> = {
  name: CONTROLLER_NAME,
  keyName: 'namespace',
  setup({ deps, queue, informer, log, registry }) {
    const { client, config, dryRun } = deps;
    const source = deps.policy;
    // Every NetworkPolicy is watched, the tenants' too (the compliance controller evaluates them);
    // this controller reads and hears of its own only.
    const { namespaces, policies } = sharedInformers(informer, client);
    const ours = (name: string) => policies.inNamespace(name).filter((p) => isManaged(p.metadata.labels));
    const ledger = new RepairLedger(
      { fight: FIXED.fight, expectationTtlMs: FIXED.expectationTtlMs, dryRun },
      () => performance.now(),
    );
    if (deps.apiServer) watchApiServer(informer, client, source);
    const metrics = registerPolicyMetrics(registry, source, dryRun, () => {
      // At every scrape: the profile only, not the policies (building them is 15,000 clones at 5,000).
      const byProfile = new Map<string, number>();
      let exceptions = 0;
      const now = Date.now();
      const policy = source.current;
      for (const ns of namespaces.list()) {
        const view = namespaceView(ns);
        const selection = select(view, policy);
        if (selection.kind !== 'manage') continue;
        byProfile.set(selection.profile, (byProfile.get(selection.profile) ?? 0) + 1);
        if (exceptionOf(view, now, policy.guardrails.maxExceptionHours).kind === 'active') exceptions++;
      }
      return { byProfile, exceptions };
    });

    // From a namespace seen selected to all of its policies seen: the enforcement latency.
    const clock = new EnforcementClock(
      () => performance.now(),
      (seconds) => metrics.enforced(seconds),
    );
    const enforcement = (ns: NamespaceObject | undefined) => {
      const policy = source.current;
      const view = ns && namespaceView(ns);
      const selection = view && select(view, policy);
      if (selection?.kind !== 'manage') return undefined;
      const exception = exceptionOf(view!, Date.now(), policy.guardrails.maxExceptionHours);
      return exception.kind === 'active' ? undefined : selection.profile;
    };
    const clockUpdate = (name: string, profile: string | undefined) => {
      const present = new Set(ours(name).map((p) => p.metadata.name));
      clock.update(
        name,
        profile,
        profile !== undefined && source.current.profiles[profile]!.every((p) => present.has(p)),
      );
    };

    // Events only say which namespace to look at; the ledger hears of our policies' changes.
    const namespaceEvent = (ns: NamespaceObject, gone = false, old?: NamespaceObject) => {
      // Not during the initial lists: a namespace listed before the policies is not late.
      if (namespaces.hasSynced() && policies.hasSynced()) {
        clockUpdate(ns.metadata.name, gone ? undefined : enforcement(ns));
      }
      // Another profile: its policies are rolled out as updates, not repairs of drift.
      const was = old && select(namespaceView(old), source.current);
      if (was?.kind === 'manage') {
        const is = select(namespaceView(ns), source.current);
        if (is.kind === 'manage' && is.profile !== was.profile) {
          const before = decide(namespaceView(old!), source.current);
          const cause = `the namespace's profile changed from ${was.profile}`;
          ledger.rolledOut(ns.metadata.name, { before, cause });
        }
      }
      deps.status.unsettle(ns.metadata.name);
      queue.add(ns.metadata.name);
    };
    namespaces.addHandlers({
      add: (ns) => namespaceEvent(ns),
      update: (old, ns) => namespaceEvent(ns, false, old),
      delete: (ns) => namespaceEvent(ns, true),
    });
    const seen = (p: ObservedPolicy, changed: boolean, old?: ObservedPolicy) => {
      if (!isManaged(p.metadata.labels) && !(old && isManaged(old.metadata.labels))) return;
      const name = p.metadata.namespace;
      deps.status.unsettle(name);
      ledger.observed(name, p.metadata.name);
      if (changed) ledger.changed(name, p.metadata.name);
      if (clock.waiting(name)) clockUpdate(name, enforcement(namespaces.get(name)));
      queue.add(name);
    };
    policies.addHandlers({
      add: (p) => seen(p, false),
      update: (old, p) => seen(p, true, old),
      delete: (p) => seen(p, true),
    });

    const reconciler = new NamespaceReconciler({
      client,
      namespaces,
      policies: { inNamespace: ours },
      status: deps.status,
      ledger,
      record: (subject, event) => deps.events.record(subject, event),
      log,
      settings: {
        get policy() {
          return source.current;
        },
        optOut: config.optOut,
        dryRun,
      },
      metrics,
      now: Date.now,
    });
    // A changed configuration, or new API server endpoints: the namespaces whose policies change, and
    // only those, are reconciled at the rollout's pace.
    const wave = new Wave({
      perSecond: config.rollout.namespacesPerSecond,
      enqueue: (name) => queue.add(name),
      ...timers,
    });
    new Gauge({
      name: `${METRICS_PREFIX}_rollout_pending_namespaces`,
      help: 'Namespaces a configuration or API server endpoint change still has to reach',
      registers: [registry],
      collect() {
        this.set(wave.waiting);
      },
    });
    const rollouts = new Counter({
      name: `${METRICS_PREFIX}_rollouts_total`,
      help: 'Changes of the policies in force (cause: configuration file, API server endpoints), and the namespaces each reached',
      labelNames: ['cause', 'unit'],
      registers: [registry],
    });
    source.onChange((before, after, cause) => {
      // During the initial lists (the API server's endpoints arrive there): every namespace is
      // reconciled once synced anyway.
      if (!namespaces.hasSynced()) return;
      const changed = rolloutOf(namespaces.list(), before, after);
      rollouts.inc({ cause, unit: 'changes' });
      rollouts.inc({ cause, unit: 'namespaces' }, changed.length);
      log.info({ cause, namespaces: changed.length }, 'the policies in force changed; rolling out');
      for (const { name, was } of changed) {
        deps.status.unsettle(name);
        ledger.rolledOut(name, { before: was, cause: `the ${cause} changed` });
      }
      wave.add(changed.map((c) => c.name));
    });
    return { reconciler, keys: () => namespaces.list().map((ns) => ns.metadata.name) };
  },
};

/** The namespaces whose decision differs between two configurations, with what was decided before. */
function rolloutOf(
  namespaces: NamespaceObject[],
  before: PolicyConfig,
  after: PolicyConfig,
): { name: string; was: Decision }[] {
  const changed: { name: string; was: Decision }[] = [];
  for (const view of namespaces.map(namespaceView)) {
    const was = decide(view, before);
    if (!sameDecision(was, decide(view, after))) changed.push({ name: view.name, was });
  }
  return changed;
}
