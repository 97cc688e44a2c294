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
}

export function registerPolicyMetrics(
  registry: Registry,
  policy: PolicyConfig,
  dryRun: boolean,
  managedByProfile: () => Map<string, number>,
): PolicyMetrics {
  const registers = [registry];
  const policies = Object.keys(policy.policies);
  const dry_run = String(dryRun);
  new Gauge({
    name: `${METRICS_PREFIX}_managed_namespaces`,
    help: 'Namespaces whose policies the controller manages, by profile',
    labelNames: ['profile'],
    registers,
    collect() {
      const counts = managedByProfile();
      for (const profile of Object.keys(policy.profiles)) this.set({ profile }, counts.get(profile) ?? 0);
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
  return {
    wrote: (name, operation) => writes.inc({ policy: name, operation, dry_run }),
    repaired(name, drift, seconds) {
      repairs.inc({ policy: name, drift });
      if (seconds !== undefined) latency.observe(seconds);
    },
    fightStarted: (name) => fights.inc({ policy: name }),
  };
}
