// The policy configuration (which namespaces, which profiles, which policies) and its defaults.
import type { NetworkPolicySpec, SanctionedRules } from './types.ts';

export interface PolicyConfig {
  /** Namespace label whose value names the profile, e.g. isolation=strict. */
  selectorLabel: string;
  /** Profile name (the label value) → names of the policies it installs. */
  profiles: Record<string, string[]>;
  /** Policy name → its spec. */
  policies: Record<string, NetworkPolicySpec>;
  /** Namespaces never touched, whatever their labels. */
  excludedNamespaces: string[];
  /** Profile → rules that other policies in its namespaces may allow and still count as compliant. */
  sanctioned: Record<string, SanctionedRules>;
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
}

/** The policy whose presence lets pods start in a namespace of `profile`. */
export function gatePolicy(config: PolicyConfig, profile: string): string {
  return config.guardrails.gatePolicies[profile] ?? config.profiles[profile]![0]!;
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
export const defaultPolicyConfig: PolicyConfig = {
  selectorLabel: 'isolation',
  profiles: {
    strict: ['default-deny-all', 'allow-dns', 'allow-same-namespace'],
    'same-namespace-only': ['deny-from-other-namespaces'],
    'default-deny-ingress': ['default-deny-ingress'],
  },
  policies: {
    'default-deny-all': { podSelector: everyPod, policyTypes: ['Ingress', 'Egress'] },
    'allow-dns': {
      podSelector: everyPod,
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    },
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
  },
};
