// The namespace controller: watches Namespaces and the NetworkPolicies it manages, maps their events
// to namespace keys, and reconciles each namespace's policies (reconcile.ts).
import { type NamespaceObject, namespaceView, type ObservedPolicy } from '../../kube/objects.ts';
import { select } from '../../policy/desired.ts';
import { exceptionOf } from '../../policy/exceptions.ts';
import { isManaged } from '../../policy/labels.ts';
import { FIXED, policyConfig } from '../../config.ts';
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
    const policy = policyConfig(config);
    // Every NetworkPolicy is watched, the tenants' too (the compliance controller evaluates them);
    // this controller reads and hears of its own only.
    const { namespaces, policies } = sharedInformers(informer, client);
    const ours = (name: string) => policies.inNamespace(name).filter((p) => isManaged(p.metadata.labels));
    const ledger = new RepairLedger(
      { fight: FIXED.fight, expectationTtlMs: FIXED.expectationTtlMs, dryRun },
      () => performance.now(),
    );
    const metrics = registerPolicyMetrics(registry, policy, dryRun, () => {
      // At every scrape: the profile only, not the policies (building them is 15,000 clones at 5,000).
      const byProfile = new Map<string, number>();
      let exceptions = 0;
      const now = Date.now();
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
        profile !== undefined && policy.profiles[profile]!.every((p) => present.has(p)),
      );
    };

    // Events only say which namespace to look at; the ledger hears of our policies' changes.
    const namespaceEvent = (ns: NamespaceObject, gone = false) => {
      // Not during the initial lists: a namespace listed before the policies is not late.
      if (namespaces.hasSynced() && policies.hasSynced()) {
        clockUpdate(ns.metadata.name, gone ? undefined : enforcement(ns));
      }
      deps.status.unsettle(ns.metadata.name);
      queue.add(ns.metadata.name);
    };
    namespaces.addHandlers({
      add: (ns) => namespaceEvent(ns),
      update: (_old, ns) => namespaceEvent(ns),
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
      settings: { policy, optOut: config.optOut, dryRun },
      metrics,
      now: Date.now,
    });
    return { reconciler, keys: () => namespaces.list().map((ns) => ns.metadata.name) };
  },
};
