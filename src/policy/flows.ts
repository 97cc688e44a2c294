// Whether NetworkPolicies let one connection through, as the API documents it: a pod selected by
// no policy of a direction is open in it; a selected one takes what any selecting policy's rules
// allow. A flow passes when the source's egress and the destination's ingress both allow it. This
// is what `check --probe` expects of the wire, so that a profile's promise is read from its
// policies, not written down twice.
import { contains, parseCidr } from './cidr.ts';
import { type Direction, policyTypes, rulesOf } from './grants.ts';
import { matches } from './selectors.ts';
import type { Labels, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from './types.ts';

/** One end of a flow: a Pod (its namespace's labels and its own) or an address outside the cluster. */
export interface Endpoint {
  ip: string;
  pod?: { namespace: string; namespaceLabels: Labels; labels: Labels };
}

export interface Flow {
  from: Endpoint;
  to: Endpoint;
  protocol: 'TCP' | 'UDP';
  port: number;
}

/** Whether `policies` (of any namespaces) let `flow` through. */
export function allows(policies: readonly NetworkPolicy[], flow: Flow): boolean {
  return (
    side(policies, 'egress', flow.from, flow.to, flow) && side(policies, 'ingress', flow.to, flow.from, flow)
  );
}

function side(
  policies: readonly NetworkPolicy[],
  direction: Direction,
  self: Endpoint,
  other: Endpoint,
  flow: Flow,
): boolean {
  const pod = self.pod;
  if (!pod) return true; // outside the cluster: no NetworkPolicy holds it
  const selecting = selectingPolicies(policies, direction, pod);
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    rulesOf(p.spec, direction).some(
      (rule) =>
        portMatches(rule.ports, flow) &&
        (!rule.peers?.length || rule.peers.some((peer) => peerMatches(peer, pod.namespace, other))),
    ),
  );
}

/** The policies of the Pod's namespace that select it for `direction`. */
function selectingPolicies(
  policies: readonly NetworkPolicy[],
  direction: Direction,
  pod: NonNullable<Endpoint['pod']>,
): NetworkPolicy[] {
  return policies.filter(
    (p) =>
      p.metadata.namespace === pod.namespace &&
      policyTypes(p.spec).includes(direction) &&
      matches(p.spec.podSelector, pod.labels),
  );
}

function peerMatches(peer: NetworkPolicyPeer, namespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    const address = parseCidr(`${other.ip}/${other.ip.includes(':') ? 128 : 32}`);
    const block = parseCidr(peer.ipBlock.cidr);
    if (!address || !block || !contains(block, address)) return false;
    return !(peer.ipBlock.except ?? []).some((e) => {
      const except = parseCidr(e);
      return except !== undefined && contains(except, address);
    });
  }
  const pod = other.pod;
  if (!pod) return false; // selectors select Pods only
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, pod.namespaceLabels)
    : pod.namespace === namespace;
  return namespaceOk && matches(peer.podSelector ?? {}, pod.labels);
}

/** Named ports are not resolved: a rule naming one is taken to match (the probe uses numbers). */
function portMatches(ports: NetworkPolicyPort[] | undefined, flow: Flow): boolean {
  if (!ports?.length) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== flow.protocol) return false;
    if (p.port === undefined || typeof p.port === 'string') return true;
    return flow.port >= p.port && flow.port <= (p.endPort ?? p.port);
  });
}

/**
 * Whether `from` may send on `port` beyond its own namespace: its egress is not isolated, or a rule
 * of a policy selecting it allows the port to peers outside it (an ipBlock, a namespaceSelector, or
 * anyone). For DNS, whose servers differ by cluster (kube-dns Pods, NodeLocal DNSCache's link-local
 * address): the probe then asks the real one.
 */
export function egressBeyondNamespace(
  policies: readonly NetworkPolicy[],
  from: Endpoint,
  protocol: Flow['protocol'],
  port: number,
): boolean {
  const pod = from.pod;
  if (!pod) return true;
  const selecting = selectingPolicies(policies, 'egress', pod);
  const flow = { from, to: from, protocol, port };
  const beyond = (peers: NetworkPolicyPeer[] | undefined) =>
    !peers?.length || peers.some((p) => p.ipBlock !== undefined || p.namespaceSelector !== undefined);
  return (
    selecting.length === 0 ||
    selecting.some((p) => (p.spec.egress ?? []).some((r) => portMatches(r.ports, flow) && beyond(r.to)))
  );
}
