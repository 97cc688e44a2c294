// Openings to named peers at admission (guardrails.denyNamedOpenings.<profile>): with it, the
// tenant-policy guard also refuses a peer (a namespace, pods of another namespace, a block) unless,
// on every port of its rule, one of the profile's own rules allows it: its policies, the sanctioned
// openings among them, for every pod or for the same pods. The same test twice, in TypeScript
// (`covered`) and in CEL (`celCovered`), so that the PolicyReports say what admission refuses.
//
// CEL cannot resolve selectors against namespaces, so peers are compared as they are written: a
// selector must equal the profile's (matchExpressions in the same order), or the profile's must be
// `{}` (no namespaceSelector: this namespace; `namespaceSelector: {}`: every namespace). Blocks and
// ports are compared by what they hold: a block within the profile's (its excepts kept out), a port
// or range within the profile's. What differs only in how it is written is refused although the
// evaluator sees no opening (docs/guardrails.md#openings).
import { cel, celList } from './admission.ts';
import { contains, parseCidr } from './cidr.ts';
import { type Direction, policyTypes, rulesOf } from './grants.ts';
import { type PolicyConfig, specOf } from './profiles.ts';
import { matchesAll } from './selectors.ts';
import type { LabelSelector, NetworkPolicyPeer, NetworkPolicyPort } from './types.ts';

/** One rule of the profile, for the pods of its policy: no peers is everyone, no ports all ports. */
export interface AllowedRule {
  pods: LabelSelector;
  peers?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

/**
 * The profile's rules in direction `d` (every policy of it that isolates `d`), where
 * denyNamedOpenings has named peers judged; undefined where it does not.
 */
export function allowedRules(config: PolicyConfig, profile: string, d: Direction): AllowedRule[] | undefined {
  if (config.guardrails.denyNamedOpenings[profile] !== true) return undefined;
  return (config.profiles[profile] ?? []).flatMap((name) => {
    const spec = specOf(config, profile, name);
    if (!spec || !policyTypes(spec).includes(d)) return [];
    return rulesOf(spec, d).map((r) => ({
      pods: spec.podSelector,
      ...(r.peers?.length && { peers: r.peers }),
      ...(r.ports?.length && { ports: r.ports }),
    }));
  });
}

// ---- in TypeScript ----

/** Whether, on every port of its rule, some rule of the profile allows `peer` to the policy's pods. */
export function covered(
  allowed: readonly AllowedRule[],
  pods: LabelSelector,
  ports: readonly NetworkPolicyPort[] | undefined,
  peer: NetworkPolicyPeer,
): boolean {
  const by = allowed.filter((q) => (matchesAll(q.pods) || sameSelector(pods, q.pods)) && peerIn(q, peer));
  if (!ports?.length) return by.some((q) => !q.ports);
  return ports.every((t) => by.some((q) => !q.ports || q.ports.some((p) => portIn(p, t))));
}

function peerIn(q: AllowedRule, p: NetworkPolicyPeer): boolean {
  return !q.peers || q.peers.some((l) => peerCovers(l, p));
}

function peerCovers(l: NetworkPolicyPeer, p: NetworkPolicyPeer): boolean {
  if (l.ipBlock) return !!p.ipBlock && blockCovers(l.ipBlock, p.ipBlock);
  if (p.ipBlock) return false;
  const namespaces = !l.namespaceSelector
    ? !p.namespaceSelector
    : matchesAll(l.namespaceSelector) ||
      (!!p.namespaceSelector && sameSelector(p.namespaceSelector, l.namespaceSelector));
  const pods =
    !l.podSelector ||
    matchesAll(l.podSelector) ||
    (!!p.podSelector && sameSelector(p.podSelector, l.podSelector));
  return namespaces && pods;
}

type Block = NonNullable<NetworkPolicyPeer['ipBlock']>;

/** `p` within `l`: and each of `l`'s excepts outside `p`, or within one of `p`'s own. */
function blockCovers(l: Block, p: Block): boolean {
  const [outer, inner] = [parseCidr(l.cidr), parseCidr(p.cidr)];
  if (!outer || !inner || !contains(outer, inner)) return false;
  return (l.except ?? []).every((text) => {
    const e = parseCidr(text)!;
    if (contains(e, inner)) return false;
    return !contains(inner, e) || (p.except ?? []).some((x) => contains(parseCidr(x)!, e));
  });
}

/** Port `t` (a port, a range or a name) within the profile's port `p`, of the same protocol. */
function portIn(p: NetworkPolicyPort, t: NetworkPolicyPort): boolean {
  if ((p.protocol ?? 'TCP') !== (t.protocol ?? 'TCP')) return false;
  if (p.port === undefined) return true;
  if (t.port === undefined) return false;
  if (typeof p.port === 'string' || typeof t.port === 'string')
    return String(p.port) === String(t.port) && t.endPort === undefined;
  const [low, high] = [p.port, p.endPort ?? p.port];
  return t.port >= low && (t.endPort ?? t.port) <= high;
}

function sameSelector(x: LabelSelector, s: LabelSelector): boolean {
  const [xl, sl] = [x.matchLabels ?? {}, s.matchLabels ?? {}];
  const [xe, se] = [x.matchExpressions ?? [], s.matchExpressions ?? []];
  return (
    Object.keys(xl).length === Object.keys(sl).length &&
    Object.entries(sl).every(([k, v]) => xl[k] === v) &&
    xe.length === se.length &&
    se.every(
      (e, i) =>
        xe[i]!.key === e.key &&
        xe[i]!.operator === e.operator &&
        JSON.stringify(xe[i]!.values ?? []) === JSON.stringify(e.values ?? []),
    )
  );
}

// ---- the same, in CEL ----

/**
 * CEL: `covered` for the peer at `peer` of the rule at `rule` (`from`/`to` aside: `rule.ports`), in
 * the policy being written (`object`).
 */
export function celCovered(allowed: readonly AllowedRule[], rule: string, peer: string): string {
  const by = (q: AllowedRule, port: (p: NetworkPolicyPort) => string) =>
    [
      matchesAll(q.pods) ? '' : `${celSameSelector('object.spec.podSelector', q.pods)}`,
      q.peers ? `(${q.peers.map((l) => celPeerCovers(l, peer)).join(' || ')})` : '',
      q.ports ? `(${q.ports.map(port).join(' || ')})` : '',
    ]
      .filter(Boolean)
      .join(' && ') || 'true';
  const anyOf = (terms: string[]) => (terms.length ? terms.map((t) => `(${t})`).join(' || ') : 'false');
  const allPorts = anyOf(allowed.filter((q) => !q.ports).map((q) => by(q, () => 'true')));
  const eachPort = anyOf(allowed.map((q) => by(q, (p) => celPortIn(p, 't'))));
  return `(has(${rule}.ports) && size(${rule}.ports) > 0 ? ${rule}.ports.all(t, ${eachPort}) : ${allPorts})`;
}

function celPeerCovers(l: NetworkPolicyPeer, p: string): string {
  if (l.ipBlock) return `(has(${p}.ipBlock) && ${celBlockCovers(l.ipBlock, `${p}.ipBlock`)})`;
  const namespaces = !l.namespaceSelector
    ? `!has(${p}.namespaceSelector)`
    : matchesAll(l.namespaceSelector)
      ? 'true'
      : `has(${p}.namespaceSelector) && ${celSameSelector(`${p}.namespaceSelector`, l.namespaceSelector)}`;
  const pods =
    !l.podSelector || matchesAll(l.podSelector)
      ? 'true'
      : `has(${p}.podSelector) && ${celSameSelector(`${p}.podSelector`, l.podSelector)}`;
  return `(!has(${p}.ipBlock) && ${namespaces} && ${pods})`;
}

function celBlockCovers(l: Block, p: string): string {
  const family = (text: string) => (text.includes(':') ? 6 : 4);
  const inner = `cidr(${p}.cidr)`;
  const excepts = (l.except ?? []).map(
    (e) =>
      `!cidr(${cel(e)}).containsCIDR(${inner}) && (!${inner}.containsCIDR(${cel(e)}) || ` +
      `(has(${p}.except) && ${p}.except.exists(x, cidr(x).ip().family() == ${family(e)} && cidr(x).containsCIDR(${cel(e)}))))`,
  );
  return [
    `${inner}.ip().family() == ${family(l.cidr)}`,
    `cidr(${cel(l.cidr)}).containsCIDR(${inner})`,
    ...excepts,
  ].join(' && ');
}

function celPortIn(p: NetworkPolicyPort, t: string): string {
  const terms = [`(has(${t}.protocol) ? ${t}.protocol : 'TCP') == ${cel(p.protocol ?? 'TCP')}`];
  if (p.port !== undefined) {
    terms.push(`has(${t}.port)`);
    if (typeof p.port === 'string') terms.push(`string(${t}.port) == ${cel(p.port)}`, `!has(${t}.endPort)`);
    else
      terms.push(
        `type(${t}.port) == int`,
        `int(${t}.port) >= ${p.port}`,
        `(has(${t}.endPort) ? ${t}.endPort : int(${t}.port)) <= ${p.endPort ?? p.port}`,
      );
  }
  return terms.join(' && ');
}

function celSameSelector(x: string, s: LabelSelector): string {
  const labels = Object.entries(s.matchLabels ?? {});
  const expressions = s.matchExpressions ?? [];
  const none = (field: string) => `(!has(${x}.${field}) || size(${x}.${field}) == 0)`;
  const ml = labels.length
    ? [
        `has(${x}.matchLabels)`,
        `size(${x}.matchLabels) == ${labels.length}`,
        ...labels.map(
          ([k, v]) => `${cel(k)} in ${x}.matchLabels && ${x}.matchLabels[${cel(k)}] == ${cel(v)}`,
        ),
      ].join(' && ')
    : none('matchLabels');
  const me = expressions.length
    ? [
        `has(${x}.matchExpressions)`,
        `size(${x}.matchExpressions) == ${expressions.length}`,
        ...expressions.map((e, i) => {
          const at = `${x}.matchExpressions[${i}]`;
          return `${at}.key == ${cel(e.key)} && ${at}.operator == ${cel(e.operator)} && (has(${at}.values) ? ${at}.values : []) == ${celList(e.values ?? [])}`;
        }),
      ].join(' && ')
    : none('matchExpressions');
  return `(${ml} && ${me})`;
}
