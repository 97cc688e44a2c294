// The writes that bring one namespace in line: what the controller executes and `check` reports.
import { driftOf, type Drift } from './compare.ts';
import { decide, type Decision } from './desired.ts';
import type { PolicyConfig } from './profiles.ts';
import type { NamespaceView, NetworkPolicy } from './types.ts';

export type OptOut = 'delete' | 'orphan';

export type Change<P extends NetworkPolicy> =
  | { kind: 'apply'; policy: string; drift: Drift; desired: NetworkPolicy; observed: P | undefined }
  | { kind: OptOut; policy: string; observed: P };

export interface Plan<P extends NetworkPolicy> {
  decision: Decision;
  /** Applies first, then releases; empty when the namespace is as it should be. */
  changes: Change<P>[];
  /**
   * Policies carrying our label under a name the configuration does not define: not ours to
   * change or remove (someone copied the label), so left alone and reported.
   */
  foreign: string[];
}

/**
 * `observed` holds the namespace's policies that carry our managed-by label, by name. Policies
 * without it are the tenants' and never appear here, so are never touched.
 */
export function plan<P extends NetworkPolicy>(
  ns: NamespaceView,
  observed: ReadonlyMap<string, P>,
  config: PolicyConfig,
  optOut: OptOut,
): Plan<P> {
  const decision = decide(ns, config);
  const changes: Change<P>[] = [];
  const foreign = [...observed.keys()].filter((name) => !Object.hasOwn(config.policies, name));
  const ours = new Map([...observed].filter(([name]) => !foreign.includes(name)));
  if (decision.kind === 'manage') {
    for (const desired of decision.policies) {
      const current = observed.get(desired.metadata.name);
      const drift = driftOf(desired, current);
      if (drift)
        changes.push({ kind: 'apply', policy: desired.metadata.name, drift, desired, observed: current });
    }
    const wanted = new Set(decision.policies.map((p) => p.metadata.name));
    for (const [name, p] of ours) {
      // A policy of ours the profile no longer has is deleted, even in orphan mode.
      if (!wanted.has(name)) changes.push({ kind: 'delete', policy: name, observed: p });
    }
  } else if (decision.kind === 'unselected') {
    for (const [name, p] of ours) changes.push({ kind: optOut, policy: name, observed: p });
  }
  return { decision, changes, foreign };
}
