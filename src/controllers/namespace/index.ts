// The namespace controller: watches Namespaces and the NetworkPolicies it manages, maps their events
// to namespace keys, and reconciles each namespace's policies (reconcile.ts).
import { type NamespaceObject, namespaceView, type ObservedPolicy } from '../../kube/objects.ts';
import { listWatch } from '../../kube/resources.ts';
import { select } from '../../policy/desired.ts';
import { MANAGED_SELECTOR } from '../../policy/labels.ts';
import { FIXED, policyConfig } from '../../config.ts';
import type { Controller } from '../../runtime/manager.ts';
import type { Deps } from '../deps.ts';
import { slimNamespace, slimPolicy } from './cache.ts';
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
    const namespaces = informer<NamespaceObject>(
      'namespaces',
      () => listWatch(client, 'Namespace'),
      slimNamespace,
    );
    const policies = informer<ObservedPolicy>(
      'networkpolicies',
      () => listWatch(client, 'NetworkPolicy', MANAGED_SELECTOR),
      slimPolicy,
    );
    const ledger = new RepairLedger(
      { fight: FIXED.fight, expectationTtlMs: FIXED.expectationTtlMs, dryRun },
      () => performance.now(),
    );
    const metrics = registerPolicyMetrics(registry, policy, dryRun, () => {
      // At every scrape: the profile only, not the policies (building them is 15,000 clones at 5,000).
      const counts = new Map<string, number>();
      for (const ns of namespaces.list()) {
        const selection = select(namespaceView(ns), policy);
        if (selection.kind === 'manage')
          counts.set(selection.profile, (counts.get(selection.profile) ?? 0) + 1);
      }
      return counts;
    });

    // Events only say which namespace to look at; the ledger hears of our policies' changes.
    namespaces.addHandlers({
      add: (ns) => queue.add(ns.metadata.name),
      update: (_old, ns) => queue.add(ns.metadata.name),
      delete: (ns) => queue.add(ns.metadata.name),
    });
    const seen = (p: ObservedPolicy, changed: boolean) => {
      ledger.observed(p.metadata.namespace, p.metadata.name);
      if (changed) ledger.changed(p.metadata.namespace, p.metadata.name);
      queue.add(p.metadata.namespace);
    };
    policies.addHandlers({
      add: (p) => seen(p, false),
      update: (_old, p) => seen(p, true),
      delete: (p) => seen(p, true),
    });

    const reconciler = new NamespaceReconciler({
      client,
      namespaces,
      policies,
      ledger,
      record: (subject, event) => deps.events.record(subject, event),
      log,
      settings: { policy, optOut: config.optOut, dryRun },
      metrics,
    });
    return { reconciler, keys: () => namespaces.list().map((ns) => ns.metadata.name) };
  },
};
