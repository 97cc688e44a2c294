// The policy configuration as the controller has it in this cluster: with allow-kube-apiserver
// built from the API server's EndpointSlice, read with the caller's credentials.
import { API_SERVER_SLICE } from '../controllers/apiserver.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { resourcePath } from '../kube/resources.ts';
import { type Config, policyConfig, usesApiServer } from '../config.ts';
import { type EndpointSliceView, kubeApiserverPolicy } from '../policy/presets.ts';
import type { PolicyConfig } from '../policy/profiles.ts';

export async function livePolicyConfig(client: KubeClient, config: Config): Promise<PolicyConfig> {
  if (!usesApiServer(config)) return policyConfig(config);
  const { namespace, name } = API_SERVER_SLICE;
  let slice: EndpointSliceView | undefined;
  try {
    slice = await client.request<EndpointSliceView>('GET', resourcePath('EndpointSlice', namespace, name));
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  return policyConfig(config, kubeApiserverPolicy(slice ? [slice] : []));
}
