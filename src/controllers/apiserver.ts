// `allow-kube-apiserver` is built from the cluster: the addresses and ports of the kubernetes
// Service's EndpointSlices in default, which the API server keeps. One informer on just those (the
// RBAC: get/list/watch of EndpointSlice default/kubernetes) feeds them to the policy source, during
// the initial list already, so that no namespace ever gets the policy before its peers are known.
import type { KubeClient } from '../kube/client.ts';
import { availability } from '../kube/discovery.ts';
import { listWatch } from '../kube/resources.ts';
import { type EndpointSliceView, kubeApiserverPolicy } from '../policy/presets.ts';
import type { KubeObject } from '../runtime/informer.ts';
import type { SetupContext } from '../runtime/manager.ts';
import type { PolicySource } from './policy-source.ts';

/** The kubernetes Service's EndpointSlice: named after the Service by the API server's reconciler. */
export const API_SERVER_SLICE = { namespace: 'default', name: 'kubernetes' };

type Slice = KubeObject & EndpointSliceView;

/** Whether the controller may watch the API server's EndpointSlice. */
export const apiServerAccess = (client: KubeClient) =>
  availability(client, 'EndpointSlice', ['get', 'list', 'watch'], API_SERVER_SLICE);

export function watchApiServer(
  informer: SetupContext<unknown>['informer'],
  client: KubeClient,
  source: PolicySource,
): void {
  const slices = informer<Slice>(
    'endpointslices',
    () =>
      listWatch(client, 'EndpointSlice', {
        namespace: API_SERVER_SLICE.namespace,
        fieldSelector: `metadata.name=${API_SERVER_SLICE.name}`,
      }),
    ({ metadata: { name, namespace, resourceVersion }, addressType, endpoints, ports }) => ({
      metadata: { name, namespace, resourceVersion },
      addressType,
      endpoints,
      ports,
    }),
  );
  const changed = () => source.setApiServer(kubeApiserverPolicy(slices.list()));
  slices.addHandlers({ add: changed, update: changed, delete: changed });
}
