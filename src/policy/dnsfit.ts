// Which DNS preset fits a cluster, from what `check --dns` reads of it. Pure.
import type { DnsPreset, DnsSettings } from './presets.ts';

/** What identifies each platform's DNS. */
export interface DnsFacts {
  /** openshift-dns has the DNS operator's DaemonSet or Service `dns-default`. */
  openshiftDns: boolean;
  /** kube-system has NodeLocal DNSCache (its DaemonSet or ConfigMap `node-local-dns`). */
  nodeLocalDns: boolean;
  /** The addresses NodeLocal DNSCache binds (its Corefile's `bind`), when its ConfigMap says. */
  nodeLocalAddresses: readonly string[];
  /** kube-system's `kube-dns` Service: its pod selector, and whether any endpoint is ready. */
  kubeDns?: { selector: Record<string, string>; ready: boolean };
  /** GKE's own DaemonSets in kube-system (gke-*, fluentbit-gke…). */
  gke: boolean;
}

export interface DnsFit {
  /** The preset this cluster needs, or undefined when nothing identifies its DNS. */
  recommended: DnsPreset | undefined;
  /** Why: the platform recognised. */
  platform: string;
  /** Whether the configured preset fits, and why not. */
  fits: boolean;
  problems: string[];
  /** For node-local-dns: the address found in the cluster. */
  nodeLocalAddress?: string;
}

const LINK_LOCAL = /^169\.254\.\d{1,3}\.\d{1,3}$/;

export function dnsFit(facts: DnsFacts, configured: DnsSettings): DnsFit {
  const problems: string[] = [];
  let recommended: DnsPreset | undefined;
  let platform: string;
  let nodeLocalAddress: string | undefined;
  if (facts.openshiftDns) {
    recommended = 'openshift';
    platform = 'OpenShift (DNS operator in openshift-dns)';
  } else if (facts.nodeLocalDns) {
    recommended = 'node-local-dns';
    platform = 'NodeLocal DNSCache in kube-system';
    nodeLocalAddress = facts.nodeLocalAddresses.find((a) => LINK_LOCAL.test(a));
  } else if (facts.gke && !facts.kubeDns?.ready) {
    recommended = 'gke-cloud-dns';
    platform = 'GKE with Cloud DNS (no kube-dns endpoint ready)';
  } else if (facts.kubeDns) {
    recommended = 'kube-dns';
    platform = `cluster DNS behind the kube-dns Service in kube-system${facts.gke ? ' (GKE)' : ''}`;
  } else {
    platform = 'no DNS this command recognises (no kube-dns Service, DNS operator or NodeLocal DNSCache)';
  }

  if (configured.preset === 'custom') {
    problems.push(
      'allow-dns is custom: this command cannot judge it; compare it with the preset recommended',
    );
  } else if (recommended === undefined) {
    problems.push('nothing identifies the cluster DNS: write allow-dns yourself (dns.preset: custom)');
  } else if (configured.preset !== recommended) {
    problems.push(`dns.preset is ${configured.preset}, but this cluster needs ${recommended}`);
  } else if (nodeLocalAddress !== undefined && nodeLocalAddress !== configured.nodeLocalAddress) {
    problems.push(
      `NodeLocal DNSCache binds ${nodeLocalAddress}, but dns.nodeLocalAddress is ${configured.nodeLocalAddress}`,
    );
  }
  // The kube-dns rule selects k8s-app=kube-dns pods: the Service must select the same.
  const usesKubeDnsRule = ['kube-dns', 'node-local-dns'].includes(configured.preset);
  const selector = facts.kubeDns?.selector;
  if (usesKubeDnsRule && selector && selector['k8s-app'] !== 'kube-dns') {
    const shown = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    problems.push(
      `the kube-dns Service selects pods ${shown || '(none)'}, not k8s-app=kube-dns: write allow-dns for them (dns.preset: custom)`,
    );
  }
  return {
    recommended,
    platform,
    fits: problems.length === 0,
    problems,
    ...(nodeLocalAddress !== undefined && { nodeLocalAddress }),
  };
}
