// `check --dns`: reads what identifies the cluster's DNS, with the caller's own credentials (the
// controller never needs these reads), and says which preset fits.
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import type { Config } from '../config.ts';
import { type DnsFacts, dnsFit } from '../policy/dnsfit.ts';

interface Named {
  metadata: { name: string };
}

/** An object, or undefined when it does not exist (or may not be read). */
async function maybe<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return undefined;
    throw err;
  }
}

export async function dnsFacts(client: KubeClient): Promise<DnsFacts> {
  const [operatorDs, operatorSvc, nodeLocalDs, nodeLocalCm, kubeDnsSvc, kubeDnsSlices, daemonSets] =
    await Promise.all([
      maybe(client, '/apis/apps/v1/namespaces/openshift-dns/daemonsets/dns-default'),
      maybe(client, '/api/v1/namespaces/openshift-dns/services/dns-default'),
      maybe(client, '/apis/apps/v1/namespaces/kube-system/daemonsets/node-local-dns'),
      maybe<{ data?: Record<string, string> }>(
        client,
        '/api/v1/namespaces/kube-system/configmaps/node-local-dns',
      ),
      maybe<{ spec?: { selector?: Record<string, string> } }>(
        client,
        '/api/v1/namespaces/kube-system/services/kube-dns',
      ),
      maybe<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
        client,
        '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns',
      ),
      maybe<{ items: Named[] }>(client, '/apis/apps/v1/namespaces/kube-system/daemonsets'),
    ]);
  const corefile = nodeLocalCm?.data?.Corefile ?? '';
  const binds = [...corefile.matchAll(/^\s*bind\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
  return {
    openshiftDns: operatorDs !== undefined || operatorSvc !== undefined,
    nodeLocalDns: nodeLocalDs !== undefined || nodeLocalCm !== undefined,
    nodeLocalAddresses: [...new Set(binds)],
    ...(kubeDnsSvc && {
      kubeDns: {
        selector: kubeDnsSvc.spec?.selector ?? {},
        ready: (kubeDnsSlices?.items ?? []).some((s) =>
          (s.endpoints ?? []).some((e) => e.conditions?.ready !== false),
        ),
      },
    }),
    gke: (daemonSets?.items ?? []).some((d) => /^gke-|-gke$|^fluentbit-gke/.test(d.metadata.name)),
  };
}

export async function checkDns(
  client: KubeClient,
  config: Config,
): Promise<{ report: string; fits: boolean }> {
  const fit = dnsFit(await dnsFacts(client), config.dns);
  const lines = [`DNS: ${fit.platform}`];
  if (fit.recommended)
    lines.push(
      `  recommended: dns.preset: ${fit.recommended}${fit.nodeLocalAddress ? ` (nodeLocalAddress: ${fit.nodeLocalAddress})` : ''}`,
    );
  lines.push(`  configured:  dns.preset: ${config.dns.preset}${fit.fits ? ' (fits)' : ''}`);
  for (const problem of fit.problems) lines.push(`  problem: ${problem}`);
  return { report: `${lines.join('\n')}\n`, fits: fit.fits };
}
