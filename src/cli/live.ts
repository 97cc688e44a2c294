// The policy configuration as the controller has it in this cluster: with allow-kube-apiserver
// built from the API server's EndpointSlice, read with the caller's credentials.
import { API_SERVER_SLICE } from '../controllers/apiserver.ts';
import type { KubeClient } from '../kube/client.ts';
import { resourcePath } from '../kube/resources.ts';
import { type Config, policyConfig, usesApiServer } from '../config.ts';
import { type EndpointSliceView, kubeApiserverPolicy } from '../policy/presets.ts';
import type { PolicyConfig } from '../policy/profiles.ts';

export async function livePolicyConfig(client: KubeClient, config: Config): Promise<PolicyConfig> {
  if (!usesApiServer(config)) return policyConfig(config);
  const { namespace, name } = API_SERVER_SLICE;
  const slice = await client.get<EndpointSliceView>(resourcePath('EndpointSlice', namespace, name));
  return policyConfig(config, kubeApiserverPolicy(slice ? [slice] : []));
}
