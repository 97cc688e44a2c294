// The evaluator's model of a NetworkPolicy: each rule as a grant, target pods × peers × ports, read
// as the API server defines them (evaluate.ts lists the rules). evaluate.ts judges grants against
// what the profile allows.
import { type Cidr, parseCidr } from './cidr.ts';
import { matchesAll, NAME_LABEL, type NamespaceLookup, satisfiable } from './selectors.ts';
import type { LabelSelector, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec } from './types.ts';

export type Direction = 'ingress' | 'egress';

export type Peer =
  | { kind: 'everyone' }
  | { kind: 'pods'; all: boolean; names: string[]; pods: LabelSelector; namespaces: LabelSelector }
  | { kind: 'cidr'; text: string; cidr: Cidr | undefined; except: string[]; excepts: Cidr[] };

export type Port =
  | { kind: 'all' }
  | { kind: 'range'; protocol: string; from: number; to: number }
  | { kind: 'named'; protocol: string; name: string };

export const ALL: Port = { kind: 'all' };

export interface Grant {
  policy: string;
  direction: Direction;
  pods: LabelSelector;
  peers: Peer[];
  ports: Port[];
}

export interface Context {
  namespace: string;
  lookup: NamespaceLookup;
  namespaceSelectors: LabelSelector[];
}

export function policyTypes(spec: NetworkPolicySpec): Direction[] {
  if (spec.policyTypes?.length) return spec.policyTypes.map((t) => (t === 'Ingress' ? 'ingress' : 'egress'));
  return spec.egress?.length ? ['ingress', 'egress'] : ['ingress'];
}

/** A policy's rules of one direction, each as its peers (`from` or `to`) and ports. */
export function rulesOf(
  spec: NetworkPolicySpec,
  direction: Direction,
): { peers: NetworkPolicyPeer[] | undefined; ports: NetworkPolicyPort[] | undefined }[] {
  return direction === 'ingress'
    ? (spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
    : (spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
}

export function grants(policy: string, spec: NetworkPolicySpec, ctx: Context): Grant[] {
  if (!satisfiable(spec.podSelector)) return [];
  return policyTypes(spec).flatMap((direction) =>
    rulesOf(spec, direction).flatMap((rule) => {
      const peers = rule.peers?.length
        ? rule.peers.flatMap((p) => peer(p, ctx))
        : [{ kind: 'everyone' } as const];
      const ports = rule.ports?.length ? rule.ports.map(port) : [ALL];
      return peers.length ? [{ policy, direction, pods: spec.podSelector, peers, ports }] : [];
    }),
  );
}

export function peer(p: NetworkPolicyPeer, ctx: Context): Peer[] {
  if (p.ipBlock) {
    const except = p.ipBlock.except ?? [];
    const excepts = except.map(parseCidr).filter((c) => c !== undefined);
    return [{ kind: 'cidr', text: p.ipBlock.cidr, cidr: parseCidr(p.ipBlock.cidr), except, excepts }];
  }
  const pods = p.podSelector ?? {};
  if (!satisfiable(pods)) return [];
  if (!p.namespaceSelector) {
    if (!p.podSelector) return []; // an empty peer: the API server refuses it
    const own = { matchLabels: { [NAME_LABEL]: ctx.namespace } };
    return [{ kind: 'pods', all: false, names: [ctx.namespace], pods, namespaces: own }];
  }
  const namespaces = p.namespaceSelector;
  if (matchesAll(namespaces)) return [{ kind: 'pods', all: true, names: [], pods, namespaces }];
  ctx.namespaceSelectors.push(namespaces);
  const { all, names } = ctx.lookup.select(namespaces);
  return all || names.length || satisfiable(namespaces)
    ? [{ kind: 'pods', all, names: all ? [] : names, pods, namespaces }]
    : [];
}

export function port(p: NetworkPolicyPort): Port {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined) return { kind: 'range', protocol, from: 1, to: 65535 };
  if (typeof p.port === 'string') return { kind: 'named', protocol, name: p.port };
  return { kind: 'range', protocol, from: p.port, to: p.endPort ?? p.port };
}
