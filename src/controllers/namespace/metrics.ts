// The controller's own metrics, under one prefix: what it manages, what it writes, the drift it
// repairs and how fast. Pre-registered at zero for every configured profile and policy.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Drift } from '../../policy/compare.ts';
import { METRICS_PREFIX } from '../../policy/labels.ts';
import type { PolicyConfig } from '../../policy/profiles.ts';

export type WriteOperation = 'apply' | 'replace' | 'delete' | 'orphan';

export interface PolicyMetrics {
  wrote(policy: string, operation: WriteOperation): void;
  /** A drift was repaired; `seconds` from its watch event to the repair's acknowledgement, if seen. */
  repaired(policy: string, drift: Drift, seconds: number | undefined): void;
  /** Repairs of one namespace's policy kept being undone, and now back off. */
  fightStarted(policy: string): void;
  /** A namespace's policies all arrived, `seconds` after it was seen selected. */
  enforced(seconds: number): void;
}

export function registerPolicyMetrics(
  registry: Registry,
  source: { readonly current: PolicyConfig },
  dryRun: boolean,
  managed: () => { byProfile: Map<string, number>; exceptions: number },
): PolicyMetrics {
  const registers = [registry];
  const policies = [...new Set(Object.values(source.current.profiles).flat())];
  const dry_run = String(dryRun);
  new Gauge({
    name: `${METRICS_PREFIX}_managed_namespaces`,
    help: 'Namespaces whose policies the controller manages, by profile',
    labelNames: ['profile'],
    registers,
    collect() {
      const { byProfile } = managed();
      this.reset(); // a reloaded configuration may have dropped a profile
      for (const profile of Object.keys(source.current.profiles))
        this.set({ profile }, byProfile.get(profile) ?? 0);
    },
  });
  new Gauge({
    name: `${METRICS_PREFIX}_exceptions_active`,
    help: 'Selected namespaces under a time-boxed exception in force: not enforced until it ends',
    registers,
    collect() {
      this.set(managed().exceptions);
    },
  });
  const writes = new Counter({
    name: `${METRICS_PREFIX}_policy_writes_total`,
    help: 'NetworkPolicy writes (apply, replace, delete, orphan) by policy; dry_run="true" writes changed nothing',
    labelNames: ['policy', 'operation', 'dry_run'],
    registers,
  });
  const repairs = new Counter({
    name: `${METRICS_PREFIX}_drift_repairs_total`,
    help: 'Drift repaired, by policy and kind of drift (deleted, modified, labels)',
    labelNames: ['policy', 'drift'],
    registers,
  });
  const fights = new Counter({
    name: `${METRICS_PREFIX}_policy_fights_total`,
    help: 'Times another writer kept undoing a repair or removal of a policy (in one namespace), so that writes of it back off',
    labelNames: ['policy'],
    registers,
  });
  for (const name of policies) {
    fights.inc({ policy: name }, 0);
    for (const operation of ['apply', 'replace', 'delete', 'orphan'])
      writes.inc({ policy: name, operation, dry_run }, 0);
    for (const drift of ['deleted', 'modified', 'labels']) repairs.inc({ policy: name, drift }, 0);
  }
  const latency = new Histogram({
    name: `${METRICS_PREFIX}_drift_repair_duration_seconds`,
    help: "Time from a drift's watch event to the acknowledgement of its repair",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const enforcement = new Histogram({
    name: `${METRICS_PREFIX}_enforcement_duration_seconds`,
    help: "Time from a namespace's label (or profile) seen to all of its profile's policies seen in the cache",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  return {
    enforced: (seconds) => enforcement.observe(seconds),
    wrote: (name, operation) => writes.inc({ policy: name, operation, dry_run }),
    repaired(name, drift, seconds) {
      repairs.inc({ policy: name, drift });
      if (seconds !== undefined) latency.observe(seconds);
    },
    fightStarted: (name) => fights.inc({ policy: name }),
  };
}
