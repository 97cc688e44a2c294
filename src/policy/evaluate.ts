// What a namespace's NetworkPolicies, taken together, allow beyond what its profile allows.
//
// NetworkPolicies add up: traffic is allowed to (ingress) or from (egress) a pod when any policy
// selecting the pod for that direction allows it, and a direction no policy selects is open. So an
// opening is a rule of some policy in the namespace that allows a peer on a port that no rule of
// the profile (its policies and sanctioned openings) allows to the same pods. The rules, as the
// API server defines them:
// - a rule without peers (`from`/`to` absent or empty) allows everyone: every pod and every address;
//   one without ports allows every port;
// - a peer with `podSelector` alone means pods of the policy's namespace; with `namespaceSelector`
//   alone, every pod of the namespaces selected; both in one peer, pods matching both (AND); separate
//   peers add up (OR); an `ipBlock` is its CIDR minus its `except`s;
// - a port without `protocol` is TCP; with `endPort`, a range; a named port is resolved by each
//   pod (reported as named, never taken as covered by a number);
// - `policyTypes` defaults to Ingress, plus Egress when there are egress rules; rules of a
//   direction not in `policyTypes` do nothing;
// - a policy or peer whose pod selector no pod can satisfy opens nothing.
import { contains, coverFamily, parseCidr } from './cidr.ts';
import {
  ALL,
  type Context,
  type Direction,
  type Grant,
  grants,
  type Peer,
  type Port,
  policyTypes,
} from './grants.ts';
import { coverEveryNamespace, describe, matchesAll, NAME_LABEL, type NamespaceLookup } from './selectors.ts';
import type { LabelSelector, NetworkPolicySpec } from './types.ts';

export type { Direction };

export type Severity = 'warn' | 'fail';

/** Who an opening lets in (ingress) or out to (egress). */
export type Reach =
  | { kind: 'everyone' }
  /** `together`: the selectors that only together select every namespace. */
  | { kind: 'all-namespaces'; pods: string; together?: string[] }
  /** Blocks that only together hold every address of a family (their excepts aside, as for /0). */
  | { kind: 'all-addresses'; family: 4 | 6; cidrs: string[] }
  | { kind: 'namespaces'; names: string[]; pods: string }
  | { kind: 'cidr'; cidr: string; except: string[] };

export interface Opening {
  /** The policy whose rule opens it. */
  policy: string;
  direction: Direction;
  /** The pods of this namespace it applies to, as a selector's text ('' for all). */
  pods: string;
  reach: Reach;
  /** 'all ports', 'TCP 53', 'TCP 8000-8080', 'TCP port "http" (named)'. */
  ports: string[];
  /** fail: opened to everyone, every namespace or every address; warn: to something specific. */
  severity: Severity;
}

export interface Evaluated {
  openings: Opening[];
  /** The non-empty namespaceSelectors read: the verdict may change when a namespace's labels do. */
  namespaceSelectors: LabelSelector[];
}

/** What a profile allows: its policies (its sanctioned openings among them). */
export interface Allowed {
  specs: readonly NetworkPolicySpec[];
}

/** Evaluates the `policies` of namespace `namespace` against what its profile allows. */
export function evaluate(
  namespace: string,
  policies: readonly { name: string; spec: NetworkPolicySpec }[],
  allowed: Allowed,
  lookup: NamespaceLookup,
): Evaluated {
  const namespaceSelectors: LabelSelector[] = [];
  const ctx: Context = { namespace, lookup, namespaceSelectors };
  const profile = allowed.specs.flatMap((spec) => grants('(profile)', spec, ctx));
  for (const direction of ['ingress', 'egress'] as const) {
    // A direction the profile does not isolate is open: nothing in it can open more.
    if (!allowed.specs.some((spec) => policyTypes(spec).includes(direction)))
      profile.push({ policy: '(profile)', direction, pods: {}, peers: [{ kind: 'everyone' }], ports: [ALL] });
  }
  const openings: Opening[] = [];
  for (const policy of policies) {
    for (const grant of grants(policy.name, policy.spec, ctx)) {
      openings.push(...uncovered(grant, profile, ctx));
    }
  }
  return { openings, namespaceSelectors };
}

/** The verdict of a set of openings alone. */
export function severityOf(openings: readonly Opening[]): Severity | 'pass' {
  if (openings.some((o) => o.severity === 'fail')) return 'fail';
  return openings.length > 0 ? 'warn' : 'pass';
}

/** One line for people: `allow-all: ingress to all pods from everyone on all ports`. */
export function describeOpening(o: Opening): string {
  return `${o.policy}: ${whatOpens(o)}`;
}

/** What an opening lets through, without its policy: `ingress to all pods from everyone on all ports`. */
export function whatOpens(o: Opening): string {
  const pods = o.pods === '' ? 'all pods' : `pods ${o.pods}`;
  const [towards, away] = o.direction === 'ingress' ? ['to', 'from'] : ['from', 'to'];
  return `${o.direction} ${towards} ${pods} ${away} ${describeReach(o.reach)} on ${o.ports.join(', ')}`;
}

export function describeReach(reach: Reach): string {
  switch (reach.kind) {
    case 'everyone':
      return 'everyone (every pod of every namespace and every address)';
    case 'all-namespaces': {
      const together = reach.together ? `, together (${reach.together.join('; ')})` : '';
      return `all namespaces${together}${reach.pods ? ` (pods ${reach.pods})` : ''}`;
    }
    case 'all-addresses':
      return `every IPv${reach.family} address, together (${reach.cidrs.join(', ')})`;
    case 'namespaces': {
      const shown = reach.names.slice(0, 10).join(', ');
      const more = reach.names.length > 10 ? ` and ${reach.names.length - 10} more` : '';
      const word = reach.names.length === 1 ? 'namespace' : 'namespaces';
      return `${word} ${shown}${more}${reach.pods ? ` (pods ${reach.pods})` : ''}`;
    }
    case 'cidr': {
      const except = reach.except.length ? ` except ${reach.except.join(', ')}` : '';
      const all = parseCidr(reach.cidr)?.prefix === 0 ? 'every address ' : '';
      return `${all}${reach.cidr}${except}`;
    }
  }
}

// ---- coverage: what of a grant no profile grant allows ----

function uncovered(grant: Grant, profile: readonly Grant[], ctx: Context): Opening[] {
  const same = profile.filter(
    (g) =>
      g.direction === grant.direction && (matchesAll(g.pods) || describe(g.pods) === describe(grant.pods)),
  );
  /** Per peer left open (by its text), the ports it is open on. */
  const open = new Map<string, { reach: Reach; ports: Port[] }>();
  const add = (reach: Reach, p: Port) => {
    const key = JSON.stringify(reach);
    const entry = open.get(key) ?? { reach, ports: [] };
    entry.ports.push(p);
    open.set(key, entry);
  };
  for (const p of grant.ports) {
    const allowed = same.filter((g) => g.ports.some((q) => portCovers(q, p))).flatMap((g) => g.peers);
    // Peers that only together reach everyone are judged together: the union is the opening.
    const joint = together(grant, allowed, ctx);
    for (const reach of joint.reaches) add(reach, p);
    for (const peer of grant.peers) {
      if (joint.absorbed.has(peer)) continue;
      const rest = remainder(peer, allowed);
      if (rest) add(reachOf(rest, ctx), p);
    }
  }
  return [...open.values()].map(({ reach, ports }) => ({
    policy: grant.policy,
    direction: grant.direction,
    pods: describe(grant.pods),
    reach,
    ports: ports.map(describePort),
    severity:
      reach.kind === 'everyone' ||
      reach.kind === 'all-namespaces' ||
      reach.kind === 'all-addresses' ||
      (reach.kind === 'cidr' && parseCidr(reach.cidr)?.prefix === 0)
        ? 'fail'
        : 'warn',
  }));
}

/**
 * The openings a rule's peers make only together: blocks that hold every address of a family, and
 * namespace selectors (for the same pods) that select every namespace, existing or created later.
 * Each such union the profile does not allow replaces its peers' openings (`absorbed`).
 */
function together(
  grant: Grant,
  allowed: readonly Peer[],
  ctx: Context,
): { reaches: Reach[]; absorbed: Set<Peer> } {
  const reaches: Reach[] = [];
  const absorbed = new Set<Peer>();
  const blocks = grant.peers.filter(
    (p): p is Extract<Peer, { kind: 'cidr' }> => p.kind === 'cidr' && !!p.cidr,
  );
  for (const family of [4, 6] as const) {
    const mine = blocks.filter((b) => b.cidr!.family === family);
    if (
      mine.length < 2 ||
      mine.some((b) => b.cidr!.prefix === 0) ||
      !coverFamily(
        mine.map((b) => b.cidr!),
        family,
      )
    )
      continue;
    const every = parseCidr(family === 4 ? '0.0.0.0/0' : '::/0')!;
    if (!remainder({ kind: 'cidr', text: '', cidr: every, except: [], excepts: [] }, allowed)) continue;
    reaches.push({ kind: 'all-addresses', family, cidrs: mine.map((b) => b.text) });
    for (const b of mine) absorbed.add(b);
  }
  const pods = grant.peers.filter((p): p is Extract<Peer, { kind: 'pods' }> => p.kind === 'pods' && !p.all);
  for (const text of new Set(pods.map((p) => describe(p.pods)))) {
    const group = pods.filter((p) => matchesAll(p.pods) || describe(p.pods) === text);
    if (group.length < 2) continue;
    const existing = ctx.lookup.select({}).names;
    const names = new Set(group.flatMap((p) => p.names));
    const everyNamespace =
      coverEveryNamespace(group.map((p) => p.namespaces)) ||
      (existing.length > 1 && existing.every((n) => names.has(n)));
    if (!everyNamespace) continue;
    const selector = group.find((p) => describe(p.pods) === text)!.pods;
    const all: Peer = { kind: 'pods', all: true, names: [], pods: selector, namespaces: {} };
    if (!remainder(all, allowed)) continue;
    reaches.push({
      kind: 'all-namespaces',
      pods: text,
      together: group.map((p) =>
        p.namespaces.matchLabels?.[NAME_LABEL] === ctx.namespace && !p.namespaces.matchExpressions
          ? 'this namespace'
          : describe(p.namespaces),
      ),
    });
    for (const p of group) absorbed.add(p);
  }
  return { reaches, absorbed };
}

/** What of `peer` the `allowed` peers leave out; undefined when nothing is. */
function remainder(peer: Peer, allowed: readonly Peer[]): Peer | undefined {
  if (allowed.some((a) => a.kind === 'everyone')) return undefined;
  if (peer.kind === 'everyone') return peer;
  if (peer.kind === 'cidr') {
    return allowed.some((a) => a.kind === 'cidr' && cidrCovers(a, peer)) ? undefined : peer;
  }
  const same = allowed.filter(
    (a): a is Extract<Peer, { kind: 'pods' }> =>
      a.kind === 'pods' && (matchesAll(a.pods) || describe(a.pods) === describe(peer.pods)),
  );
  if (same.some((a) => a.all)) return undefined;
  if (peer.all) return peer;
  const covered = new Set(same.flatMap((a) => a.names));
  const names = peer.names.filter((n) => !covered.has(n));
  return names.length ? { ...peer, names } : undefined;
}

/** Whether every address `inner` allows, `outer` allows too. */
function cidrCovers(outer: Extract<Peer, { kind: 'cidr' }>, inner: Extract<Peer, { kind: 'cidr' }>): boolean {
  if (!outer.cidr || !inner.cidr || !contains(outer.cidr, inner.cidr)) return false;
  // Each address outer leaves out must be outside inner, or left out by inner too.
  return outer.excepts.every(
    (x) =>
      !contains(x, inner.cidr!) && (!contains(inner.cidr!, x) || inner.excepts.some((y) => contains(y, x))),
  );
}

function portCovers(outer: Port, inner: Port): boolean {
  if (outer.kind === 'all') return true;
  if (inner.kind === 'all' || outer.protocol !== inner.protocol) return false;
  if (outer.kind === 'named' || inner.kind === 'named')
    return outer.kind === 'named' && inner.kind === 'named' && outer.name === inner.name;
  return outer.from <= inner.from && inner.to <= outer.to;
}

function reachOf(peer: Peer, ctx: Context): Reach {
  switch (peer.kind) {
    case 'everyone':
      return peer;
    case 'cidr':
      return { kind: 'cidr', cidr: peer.text, except: peer.except };
    case 'pods':
      return peer.all
        ? { kind: 'all-namespaces', pods: describe(peer.pods) }
        : {
            kind: 'namespaces',
            names: [...peer.names].sort((a, b) =>
              a === ctx.namespace ? -1 : b === ctx.namespace ? 1 : a < b ? -1 : 1,
            ),
            pods: describe(peer.pods),
          };
  }
}

function describePort(p: Port): string {
  if (p.kind === 'all') return 'all ports';
  if (p.kind === 'named') return `${p.protocol} port "${p.name}" (named: each pod says which)`;
  if (p.from === 1 && p.to === 65535) return `all ${p.protocol} ports`;
  return p.from === p.to ? `${p.protocol} ${p.from}` : `${p.protocol} ${p.from}-${p.to}`;
}
