// The policy configuration (which namespaces, which profiles, which policies) and its defaults.
import {
  BUILT_IN_POLICIES,
  DNS_POLICY,
  type DnsSettings,
  dnsPolicy,
  ISTIO_AMBIENT_POLICY,
  istioAmbientPolicy,
  KUBE_APISERVER_POLICY,
  kubeApiserverPolicy,
  isSanctionedPolicy,
  sanctionedPolicies as sanctionedSpecs,
} from './presets.ts';
import type { NetworkPolicySpec, SanctionedRules } from './types.ts';

/** What the configuration file says about policies; `expand` makes the PolicyConfig in force from it. */
export interface PolicySettings {
  selectorLabel: string;
  /** Profile → policy names, built-in ones included. */
  profiles: Record<string, string[]>;
  /** The policies written out in the configuration (not the built-in ones). */
  policies: Record<string, NetworkPolicySpec>;
  excludedNamespaces: string[];
  sanctioned: Record<string, SanctionedRules>;
  legacyAnnotation: { enabled: boolean; profile: string };
  guardrails: Guardrails;
  dns: DnsSettings;
}

export interface PolicyConfig {
  /** Namespace label whose value names the profile, e.g. isolation=strict. */
  selectorLabel: string;
  /** Profile name (the label value) → names of the policies it installs. */
  profiles: Record<string, string[]>;
  /** Policy name → its spec. */
  policies: Record<string, NetworkPolicySpec>;
  /** Namespaces never touched, whatever their labels. */
  excludedNamespaces: string[];
  /**
   * Profile → its sanctioned openings: installed as `allow-sanctioned` and `allow-sanctioned-<pods>`
   * (listed last in its profile) and counted as compliant wherever else they are allowed.
   */
  sanctioned: Record<string, SanctionedRules>;
  /** Profile → its sanctioned policies' names → their specs. */
  sanctionedPolicies: Record<string, Record<string, NetworkPolicySpec>>;
  /** Honour net.beta.kubernetes.io/network-policy {"ingress":{"isolation":"DefaultDeny"}} as this profile. */
  legacyAnnotation: { enabled: boolean; profile: string };
  /** What the admission guardrails (`render guardrails`) and the exceptions are made from. */
  guardrails: Guardrails;
}

export interface Guardrails {
  /** The controller's ServiceAccount: the one identity that writes managed policies. */
  serviceAccount: { namespace: string; name: string };
  /** Profile → the policy whose presence lets pods start; the profile's first policy when absent. */
  gatePolicies: Record<string, string>;
  /** The longest time-boxed exception admission accepts and the controller honours. */
  maxExceptionHours: number;
  /** Profile → what admission does with a tenant's policy that opens it (tenantpolicies.ts; `warn` when absent). */
  tenantPolicies: Record<string, 'deny' | 'warn' | 'audit' | 'off'>;
  /** Profile → whether admission also judges openings to named peers: only the profile's own may be (namedopenings.ts). */
  denyNamedOpenings: Record<string, boolean>;
}

/** The policy whose presence lets pods start in a namespace of `profile`. */
export function gatePolicy(config: PolicyConfig, profile: string): string {
  return config.guardrails.gatePolicies[profile] ?? config.profiles[profile]![0]!;
}

/** The spec a profile's policy has (before per-namespace values are filled in). */
export function specOf(config: PolicyConfig, profile: string, name: string): NetworkPolicySpec | undefined {
  return isSanctionedPolicy(name) ? config.sanctionedPolicies[profile]?.[name] : config.policies[name];
}

/**
 * Whether `name` can be a policy of ours under this configuration (written out or built in; every
 * `allow-sanctioned-…` is: one whose `pods` entry was removed is deleted, not left as foreign).
 */
export function isKnownPolicy(config: PolicyConfig, name: string): boolean {
  return Object.hasOwn(config.policies, name) || BUILT_IN_POLICIES.includes(name) || isSanctionedPolicy(name);
}

/**
 * The configuration in force: the built-in policies added to those written out, each profile with
 * sanctioned openings given `allow-sanctioned`, and `allow-kube-apiserver` from the API server's
 * EndpointSlices (allowing nothing until they are known).
 */
export function expand(s: PolicySettings, apiServer?: NetworkPolicySpec): PolicyConfig {
  const policies: Record<string, NetworkPolicySpec> = { ...s.policies };
  if (s.dns.preset !== 'custom') policies[DNS_POLICY] = dnsPolicy(s.dns);
  policies[ISTIO_AMBIENT_POLICY] = istioAmbientPolicy();
  policies[KUBE_APISERVER_POLICY] = apiServer ?? kubeApiserverPolicy([]);
  const sanctionedPolicies: Record<string, Record<string, NetworkPolicySpec>> = {};
  const profiles: Record<string, string[]> = {};
  for (const [profile, names] of Object.entries(s.profiles)) {
    const rules = s.sanctioned[profile];
    const specs = rules ? sanctionedSpecs(rules) : {};
    if (Object.keys(specs).length) sanctionedPolicies[profile] = specs;
    profiles[profile] = [...names, ...Object.keys(specs).filter((n) => !names.includes(n))];
  }
  return {
    selectorLabel: s.selectorLabel,
    profiles,
    policies,
    excludedNamespaces: s.excludedNamespaces,
    sanctioned: s.sanctioned,
    sanctionedPolicies,
    legacyAnnotation: s.legacyAnnotation,
    guardrails: s.guardrails,
  };
}

const everyPod = {};

/**
 * The shipped profiles:
 * - strict: deny everything, then allow DNS and traffic within the namespace;
 * - same-namespace-only: deny ingress from other namespaces, egress open (the "deny all traffic
 *   from other namespaces" recipe);
 * - default-deny-ingress: deny all ingress, even from the same namespace, egress open (what the
 *   legacy DefaultDeny annotation meant, and the Kubernetes documentation's "default deny all
 *   ingress traffic").
 */
export const defaultPolicySettings: PolicySettings = {
  selectorLabel: 'isolation',
  profiles: {
    strict: ['default-deny-all', 'allow-dns', 'allow-same-namespace'],
    'same-namespace-only': ['deny-from-other-namespaces'],
    'default-deny-ingress': ['default-deny-ingress'],
  },
  policies: {
    'default-deny-all': { podSelector: everyPod, policyTypes: ['Ingress', 'Egress'] },
    'allow-same-namespace': {
      podSelector: everyPod,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: everyPod }] }],
      egress: [{ to: [{ podSelector: everyPod }] }],
    },
    'deny-from-other-namespaces': {
      podSelector: everyPod,
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: everyPod }] }],
    },
    'default-deny-ingress': { podSelector: everyPod, policyTypes: ['Ingress'] },
  },
  excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
  sanctioned: {},
  legacyAnnotation: { enabled: false, profile: 'default-deny-ingress' },
  guardrails: {
    serviceAccount: { namespace: 'namespace-isolation-controller', name: 'namespace-isolation-controller' },
    gatePolicies: {},
    maxExceptionHours: 168,
    tenantPolicies: {},
    denyNamedOpenings: {},
  },
  dns: { preset: 'kube-dns', nodeLocalAddress: '169.254.20.10' },
};

export const defaultPolicyConfig: PolicyConfig = expand(defaultPolicySettings);
