// Semantic comparison of a desired NetworkPolicy with the one the API server holds.
import { MANAGED_BY_LABEL, PROFILE_LABEL } from './labels.ts';
import type {
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
} from './types.ts';

/** How an observed policy differs from the desired one; undefined when it matches. */
export type Drift = 'deleted' | 'modified' | 'labels';

export function driftOf(desired: NetworkPolicy, observed: NetworkPolicy | undefined): Drift | undefined {
  if (!observed) return 'deleted';
  if (canonicalSpec(desired.spec) !== canonicalSpec(observed.spec)) return 'modified';
  const want = desired.metadata.labels ?? {};
  const have = observed.metadata.labels ?? {};
  for (const key of [MANAGED_BY_LABEL, PROFILE_LABEL]) {
    if (want[key] !== have[key]) return 'labels';
  }
  return undefined;
}

/**
 * A string equal for two specs exactly when they allow the same traffic: API defaults filled in
 * (protocol TCP, policyTypes from the rules), empty and absent treated alike, and lists whose
 * order carries no meaning (rules, peers, ports, selector values) sorted.
 */
export function canonicalSpec(spec: NetworkPolicySpec): string {
  // A frozen spec (the configuration's, the cache's shared ones) never changes: once is enough.
  if (!Object.isFrozen(spec)) return canonical(spec);
  let known = canonicalOfFrozen.get(spec);
  if (known === undefined) canonicalOfFrozen.set(spec, (known = canonical(spec)));
  return known;
}

const canonicalOfFrozen = new WeakMap<NetworkPolicySpec, string>();

function canonical(spec: NetworkPolicySpec): string {
  const ingress = (spec.ingress ?? []).map((r) => ({ peers: peers(r.from), ports: ports(r.ports) }));
  const egress = (spec.egress ?? []).map((r) => ({ peers: peers(r.to), ports: ports(r.ports) }));
  const policyTypes = spec.policyTypes?.length
    ? [...new Set(spec.policyTypes)].sort()
    : egress.length > 0
      ? ['Egress', 'Ingress']
      : ['Ingress'];
  return JSON.stringify({
    podSelector: selector(spec.podSelector),
    policyTypes,
    ingress: sortedUnique(ingress.map((r) => JSON.stringify(r))),
    egress: sortedUnique(egress.map((r) => JSON.stringify(r))),
  });
}

function selector(s: LabelSelector | undefined): string {
  const labels = Object.entries(s?.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const expressions = (s?.matchExpressions ?? []).map((e) =>
    JSON.stringify([e.key, e.operator, sortedUnique(e.values ?? [])]),
  );
  return JSON.stringify([labels, sortedUnique(expressions)]);
}

function peers(list: NetworkPolicyPeer[] | undefined): string[] {
  return sortedUnique(
    (list ?? []).map((p) =>
      JSON.stringify([
        p.podSelector ? selector(p.podSelector) : null,
        p.namespaceSelector ? selector(p.namespaceSelector) : null,
        p.ipBlock ? [p.ipBlock.cidr, sortedUnique(p.ipBlock.except ?? [])] : null,
      ]),
    ),
  );
}

function ports(list: NetworkPolicyPort[] | undefined): string[] {
  return sortedUnique(
    (list ?? []).map((p) => JSON.stringify([p.protocol ?? 'TCP', p.port ?? null, p.endPort ?? null])),
  );
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}
