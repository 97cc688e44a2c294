// The policy configuration as the controller has it in this cluster: with allow-kube-apiserver
// built from the API server's EndpointSlice, read with the caller's credentials.
import { API_SERVER_SLICE } from '../controllers/apiserver.ts';
import { UsageError } from '../flags.ts';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';
import type { NamespaceObject, ObservedPolicy } from '../kube/objects.ts';
import { NAMESPACES, NETWORK_POLICIES, resourcePath } from '../kube/resources.ts';
import { type Config, policyConfig, usesApiServer } from '../config.ts';
import { type EndpointSliceView, KUBE_APISERVER_POLICY, kubeApiserverPolicy } from '../policy/presets.ts';
import type { PolicyConfig } from '../policy/profiles.ts';

/** What `check` reads of the cluster, once, for the controller's plan and the verdicts alike. */
export interface ClusterRead {
  /** Every namespace (selectors are judged against them all), by name. */
  namespaces: NamespaceObject[];
  /** The NetworkPolicies of the namespace checked, or of all: ours and the tenants'. */
  policies: ObservedPolicy[];
}

export async function readCluster(client: KubeClient, namespace?: string): Promise<ClusterRead> {
  const [namespaces, policies] = await Promise.all([
    client.list<NamespaceObject>(NAMESPACES),
    client.list<ObservedPolicy>(namespace ? resourcePath('NetworkPolicy', namespace) : NETWORK_POLICIES),
  ]);
  if (namespace !== undefined && !namespaces.items.some((n) => n.metadata.name === namespace))
    throw new UsageError(`--namespace: namespace ${namespace} does not exist`);
  return {
    namespaces: namespaces.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    policies: policies.items,
  };
}

export async function livePolicyConfig(client: KubeClient, config: Config): Promise<PolicyConfig> {
  if (!usesApiServer(config)) return policyConfig(config);
  const { namespace, name } = API_SERVER_SLICE;
  const slice = await client.get<EndpointSliceView>(resourcePath('EndpointSlice', namespace, name));
  return policyConfig(config, kubeApiserverPolicy(slice ? [slice] : []));
}

/**
 * What `render` renders `profile` from. `allow-kube-apiserver`'s peers are the cluster's API server
 * addresses: read from the cluster as the controller reads them, never printed empty for want of them.
 */
export async function renderPolicyConfig(
  config: Config,
  profile: string,
  kubeconfig: string | undefined,
  context?: string,
): Promise<PolicyConfig> {
  if (!config.profiles[profile]?.includes(KUBE_APISERVER_POLICY)) return policyConfig(config);
  if (!kubeconfig) {
    throw new UsageError(
      `render: profile ${profile} lists ${KUBE_APISERVER_POLICY}, whose peers are your cluster's API server addresses: ` +
        'pass --kubeconfig (or set KUBECONFIG) so that they are read from the cluster as the controller reads them',
    );
  }
  const client = new KubeClient(loadKubeConfig(kubeconfig, context));
  try {
    const live = await livePolicyConfig(client, config);
    if (!live.policies[KUBE_APISERVER_POLICY]?.egress?.length) {
      throw new Error(
        `the EndpointSlice ${API_SERVER_SLICE.namespace}/${API_SERVER_SLICE.name} lists no ready address of the API server (or cannot be read): ${KUBE_APISERVER_POLICY} would allow nothing`,
      );
    }
    return live;
  } finally {
    await client.close();
  }
}
