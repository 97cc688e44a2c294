// The writes that bring one namespace in line: what the controller executes and `check` reports.
import { driftOf, type Drift } from './compare.ts';
import { decide, type Decision } from './desired.ts';
import { gatePolicy, isKnownPolicy, type PolicyConfig } from './profiles.ts';
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
  /**
   * Policies that would be removed (or orphaned) but that only others ever wrote, such as the
   * output of `render` applied by a GitOps tool before the namespace is labelled: what the
   * controller never wrote is not its to remove, so they are left alone and reported. Once the
   * namespace is selected and their content matches, they are adopted without a write.
   */
  notWritten: string[];
}

/**
 * `observed` holds the namespace's policies that carry our managed-by label, by name. Policies
 * without it are the tenants' and never appear here, so are never touched. `written` says whether
 * the controller ever wrote a policy (its field manager is among the object's managers).
 */
export function plan<P extends NetworkPolicy>(
  ns: NamespaceView,
  observed: ReadonlyMap<string, P>,
  config: PolicyConfig,
  optOut: OptOut,
  written: (p: P) => boolean,
): Plan<P> {
  const decision = decide(ns, config);
  const changes: Change<P>[] = [];
  const foreign = [...observed.keys()].filter((name) => !isKnownPolicy(config, name));
  const notWritten: string[] = [];
  const ours = new Map([...observed].filter(([name]) => !foreign.includes(name)));
  const release = (kind: OptOut, name: string, p: P) => {
    if (written(p)) changes.push({ kind, policy: name, observed: p });
    else notWritten.push(name);
  };
  if (decision.kind === 'manage') {
    // The gate policy last: once it exists and pods may start, the others are there too.
    const gate = gatePolicy(config, decision.profile);
    const ordered = [
      ...decision.policies.filter((p) => p.metadata.name !== gate),
      ...decision.policies.filter((p) => p.metadata.name === gate),
    ];
    for (const desired of ordered) {
      const current = observed.get(desired.metadata.name);
      const drift = driftOf(desired, current);
      // A terminating namespace accepts updates but refuses creations.
      if (drift && !(decision.terminating && !current))
        changes.push({ kind: 'apply', policy: desired.metadata.name, drift, desired, observed: current });
    }
    const wanted = new Set(decision.policies.map((p) => p.metadata.name));
    for (const [name, p] of ours) {
      // A policy of ours the profile no longer has is deleted, even in orphan mode; not while the
      // namespace terminates, which deletes it anyway. One that cannot be built is left as it is.
      if (!wanted.has(name) && !decision.unrenderable.has(name) && !decision.terminating)
        release('delete', name, p);
    }
  } else if (decision.kind === 'unselected') {
    for (const [name, p] of ours) release(optOut, name, p);
  }
  return { decision, changes, foreign, notWritten };
}

/**
 * Whether an apply only carries out a change of what is wanted: the policy is as `before` (what
 * was wanted until then) had it, or absent where `before` had none of that name. Anything else was
 * changed by someone: a repair.
 */
export function carriesOut(change: Change<NetworkPolicy>, before: Decision): boolean {
  if (change.kind !== 'apply' || before.kind !== 'manage') return false;
  const was = before.policies.find((p) => p.metadata.name === change.policy);
  if (!was) return change.observed === undefined;
  return change.observed !== undefined && driftOf(was, change.observed) === undefined;
}
