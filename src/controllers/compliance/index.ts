// The compliance controller: evaluates every managed namespace's NetworkPolicies (the tenants' too)
// against its profile, and says the verdict in a PolicyReport, a gauge and an Event when it changes.
// It reads the namespace controller's caches and findings (deps.status): it assesses a namespace
// once that controller has settled it.
import { Counter, Gauge } from 'prom-client';
import type { NamespaceObject, ObservedPolicy } from '../../kube/objects.ts';
import { listWatch } from '../../kube/resources.ts';
import { VERDICTS } from '../../policy/compliance.ts';
import { isManaged, MANAGED_SELECTOR, METRICS_PREFIX } from '../../policy/labels.ts';
import { namespaceLookup } from '../../policy/selectors.ts';
import type { Labels } from '../../policy/types.ts';
import type { Controller } from '../../runtime/manager.ts';
import { sharedInformers } from '../cache.ts';
import type { Deps } from '../deps.ts';
import { ComplianceReconciler, type ObservedReport, slimReport } from './reconcile.ts';

export const CONTROLLER_NAME = 'namespace-isolation-compliance';

export const complianceController: Controller<Deps> = {
  name: CONTROLLER_NAME,
  keyName: 'namespace',
  setup({ deps, queue, informer, log, registry }) {
    const { client, dryRun, status } = deps;
    const source = deps.policy;
    const { namespaces, policies } = sharedInformers(informer, client);
    const reports = deps.reports
      ? informer<ObservedReport>(
          'policyreports',
          () => listWatch(client, 'PolicyReport', { labelSelector: MANAGED_SELECTOR }),
          slimReport,
        )
      : undefined;

    const lookup = namespaceLookup(
      (name) => namespaces.get(name),
      () => namespaces.list(),
    );

    const written = new Counter({
      name: `${METRICS_PREFIX}_report_writes_total`,
      help: 'PolicyReport writes (apply, delete); dry_run="true" writes changed nothing',
      labelNames: ['operation', 'dry_run'],
      registers: [registry],
    });
    const reconciler = new ComplianceReconciler({
      client,
      namespaces,
      policies,
      reports,
      status,
      dataplane: deps.dataplane,
      lookup,
      get policy() {
        return source.current;
      },
      dryRun,
      record: (subject, event) => deps.events.record(subject, event),
      reportWritten: (operation) => written.inc({ operation, dry_run: String(dryRun) }),
      log,
      now: Date.now,
    });
    new Gauge({
      name: `${METRICS_PREFIX}_namespaces_by_verdict`,
      help: 'Managed namespaces by profile and isolation verdict (pass, warn, fail)',
      labelNames: ['profile', 'verdict'],
      registers: [registry],
      collect() {
        const counts = new Map<string, number>();
        for (const { profile, verdict } of reconciler.verdicts.values()) {
          const key = `${profile}\0${verdict}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        this.reset();
        for (const profile of Object.keys(source.current.profiles))
          for (const verdict of VERDICTS)
            this.set({ profile, verdict }, counts.get(`${profile}\0${verdict}`) ?? 0);
      },
    });

    // Our policies are assessed once the namespace controller has settled them; the others at once.
    status.onSettled((name) => queue.add(name));
    // The dataplane probe found the profile not enforced, or enforced again: every report says so.
    deps.dataplane.onChange(() => {
      for (const name of reconciler.verdicts.keys()) queue.add(name);
    });
    const tenantPolicy = (p: ObservedPolicy, old?: ObservedPolicy) => {
      if (!isManaged(p.metadata.labels) || (old && !isManaged(old.metadata.labels)))
        queue.add(p.metadata.namespace);
    };
    policies.addHandlers({
      add: (p) => tenantPolicy(p),
      update: (old, p) => tenantPolicy(p, old),
      delete: (p) => tenantPolicy(p),
    });
    // A namespace's labels: its own selection, and the verdicts whose selectors it meets.
    const namespaceChanged = (ns: NamespaceObject, old?: Labels) => {
      queue.add(ns.metadata.name);
      if (!namespaces.hasSynced() || (old && sameLabels(old, ns.metadata.labels ?? {}))) return;
      const labels = [old, ns.metadata.labels ?? {}].filter((l) => l !== undefined);
      for (const dependent of reconciler.dependsOn.of(labels)) queue.add(dependent);
    };
    namespaces.addHandlers({
      add: (ns) => namespaceChanged(ns),
      update: (old, ns) => namespaceChanged(ns, old.metadata.labels ?? {}),
      delete: (ns) => namespaceChanged(ns),
    });
    reports?.addHandlers({
      add: (r) => queue.add(r.metadata.namespace),
      update: (_old, r) => queue.add(r.metadata.namespace),
      delete: (r) => queue.add(r.metadata.namespace),
    });
    return { reconciler, keys: () => namespaces.list().map((ns) => ns.metadata.name) };
  },
};

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
