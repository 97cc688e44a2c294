// The policies the controller builds rather than copies: the DNS rule for the platform, the Istio
// ambient mesh's own traffic, the sanctioned openings of a profile, and the API server's endpoints.
// Pure: the configuration (and, for the API server, its EndpointSlices) in, specs out.
import type {
  LabelSelector,
  NetworkPolicyEgressRule,
  NetworkPolicyPort,
  NetworkPolicySpec,
  SanctionedRules,
} from './types.ts';

/** Names of the built-in policies: a profile lists them, `policies` may not define them. */
export const DNS_POLICY = 'allow-dns';
export const ISTIO_AMBIENT_POLICY = 'allow-istio-ambient';
export const KUBE_APISERVER_POLICY = 'allow-kube-apiserver';
export const SANCTIONED_POLICY = 'allow-sanctioned';
export const BUILT_IN_POLICIES = [DNS_POLICY, ISTIO_AMBIENT_POLICY, KUBE_APISERVER_POLICY, SANCTIONED_POLICY];

export const DNS_PRESETS = ['kube-dns', 'openshift', 'node-local-dns', 'gke-cloud-dns', 'custom'] as const;
export type DnsPreset = (typeof DNS_PRESETS)[number];

export interface DnsSettings {
  /** `custom`: `policies.allow-dns` is used as written. */
  preset: DnsPreset;
  /** node-local-dns's link-local address (its `-localip`). */
  nodeLocalAddress: string;
}

const everyPod = {};
const dnsPorts = (port: number): NetworkPolicyPort[] => [
  { protocol: 'UDP', port },
  { protocol: 'TCP', port },
];
const kubeDns: NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: dnsPorts(53),
};

/** The egress rules of `allow-dns` for a preset other than `custom`. */
export function dnsRules(dns: DnsSettings): NetworkPolicyEgressRule[] {
  switch (dns.preset) {
    case 'kube-dns':
      return [kubeDns];
    case 'openshift':
      // The DNS pods listen on 5353; a NetworkPolicy sees the pod's port, not the Service's 53.
      return [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'openshift-dns' } },
              podSelector: { matchLabels: { 'dns.operator.openshift.io/daemonset-dns': 'default' } },
            },
          ],
          ports: dnsPorts(5353),
        },
      ];
    case 'node-local-dns':
      // The node's cache on its link-local address, and kube-dns behind it when the cache is away.
      return [{ to: [{ ipBlock: { cidr: `${dns.nodeLocalAddress}/32` } }], ports: dnsPorts(53) }, kubeDns];
    case 'gke-cloud-dns':
      // The metadata server answers DNS on every GKE node.
      return [{ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: dnsPorts(53) }];
    case 'custom':
      throw new Error('the custom DNS preset has no built-in rule');
  }
}

export function dnsPolicy(dns: DnsSettings): NetworkPolicySpec {
  return { podSelector: everyPod, policyTypes: ['Egress'], egress: dnsRules(dns) };
}

/**
 * Istio ambient mode (istio.io/latest/docs/ambient/usage/networkpolicy): mesh traffic between pods
 * is tunnelled over HBONE, port 15008, and the kubelet's probes arrive from the link-local
 * addresses ztunnel's CNI rewrites them to.
 */
export const ISTIO_PROBE_SOURCES = ['169.254.7.127/32', 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128'];
export function istioAmbientPolicy(): NetworkPolicySpec {
  const hbone: NetworkPolicyPort[] = [{ protocol: 'TCP', port: 15008 }];
  return {
    podSelector: everyPod,
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      { from: [{ podSelector: everyPod }], ports: hbone },
      { from: ISTIO_PROBE_SOURCES.map((cidr) => ({ ipBlock: { cidr } })) },
    ],
    egress: [{ to: [{ podSelector: everyPod }], ports: hbone }],
  };
}

/** The policy of a profile's sanctioned openings for the pods `pods` names (`sanctioned.<profile>.pods`). */
export function sanctionedPodsPolicy(pods: string): string {
  return `${SANCTIONED_POLICY}-${pods}`;
}

/** Whether `name` is one of the names sanctioned openings are installed under. */
export function isSanctionedPolicy(name: string): boolean {
  return name === SANCTIONED_POLICY || name.startsWith(`${SANCTIONED_POLICY}-`);
}

/**
 * A profile's sanctioned openings, installed as policies (and counted as compliant): those for every
 * pod as `allow-sanctioned`, each `pods` entry as `allow-sanctioned-<name>` for its pods. Rules-less
 * entries install nothing.
 */
export function sanctionedPolicies(rules: SanctionedRules): Record<string, NetworkPolicySpec> {
  const out: Record<string, NetworkPolicySpec> = {};
  const add = (name: string, podSelector: LabelSelector, r: Omit<SanctionedRules, 'pods'>) => {
    const policyTypes: ('Ingress' | 'Egress')[] = [];
    if (r.ingress?.length) policyTypes.push('Ingress');
    if (r.egress?.length) policyTypes.push('Egress');
    if (policyTypes.length === 0) return;
    out[name] = {
      podSelector,
      policyTypes,
      ...(r.ingress?.length ? { ingress: r.ingress } : {}),
      ...(r.egress?.length ? { egress: r.egress } : {}),
    };
  };
  add(SANCTIONED_POLICY, everyPod, rules);
  for (const [name, pods] of Object.entries(rules.pods ?? {}))
    add(sanctionedPodsPolicy(name), pods.podSelector, pods);
  return out;
}

/** What the controller reads of an EndpointSlice. */
export interface EndpointSliceView {
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null } }[] | null;
  ports?: { port?: number | null; protocol?: string | null }[] | null;
}

/**
 * Egress to the API server as a NetworkPolicy sees it: the endpoints' own addresses and ports (6443,
 * say), not the Service's 443. No known endpoint allows nothing (an empty `to` would allow all).
 */
export function kubeApiserverPolicy(slices: EndpointSliceView[]): NetworkPolicySpec {
  const byPorts = new Map<string, { ports: NetworkPolicyPort[]; cidrs: Set<string> }>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const suffix = slice.addressType === 'IPv4' ? '/32' : '/128';
    const ports = (slice.ports ?? [])
      .filter((p) => typeof p.port === 'number')
      .map((p) => ({ protocol: (p.protocol ?? 'TCP') as NetworkPolicyPort['protocol'], port: p.port! }))
      .sort((a, b) => a.port - b.port || a.protocol!.localeCompare(b.protocol!));
    if (ports.length === 0) continue;
    const key = JSON.stringify(ports);
    const entry = byPorts.get(key) ?? { ports, cidrs: new Set<string>() };
    byPorts.set(key, entry);
    for (const endpoint of slice.endpoints ?? []) {
      // A ready condition left out means ready (the EndpointSlice API's rule).
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) entry.cidrs.add(`${address}${suffix}`);
    }
  }
  const egress = [...byPorts.values()]
    .filter((e) => e.cidrs.size > 0)
    .map((e) => ({ to: [...e.cidrs].sort().map((cidr) => ({ ipBlock: { cidr } })), ports: e.ports }));
  return { podSelector: everyPod, policyTypes: ['Egress'], ...(egress.length ? { egress } : {}) };
}
