// Sends one planned change of a namespace's policies through the one write path (kube/apply.ts).
import { apply, letGo, remove, replace, type WriteOptions } from '../../kube/apply.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { ObservedPolicy } from '../../kube/objects.ts';
import { MANAGED_BY_LABEL, PROFILE_LABEL } from '../../policy/labels.ts';
import type { Change } from '../../policy/plan.ts';
import type { WriteOperation } from './metrics.ts';

/**
 * Sends `change`. A modified spec is replaced whole, since fields another manager added survive an
 * apply; the replace is conditional on the cached resourceVersion (a 409 retries with a fresh cache).
 */
export async function send(
  client: KubeClient,
  change: Change<ObservedPolicy>,
  options: WriteOptions,
): Promise<WriteOperation> {
  if (change.kind === 'apply') {
    const { desired, observed, drift } = change;
    const resourceVersion = drift === 'modified' ? observed?.metadata.resourceVersion : undefined;
    if (resourceVersion === undefined) {
      await apply(client, desired, options);
      return 'apply';
    }
    const labels = { ...observed!.metadata.labels, ...desired.metadata.labels };
    await replace(
      client,
      { ...desired, metadata: { ...desired.metadata, labels } },
      { spec: desired.spec },
      resourceVersion,
      options,
    );
    return 'replace';
  }
  const { observed } = change;
  if (change.kind === 'delete') await remove(client, observed, observed.metadata.resourceVersion, options);
  else
    await letGo(
      client,
      observed,
      [MANAGED_BY_LABEL, PROFILE_LABEL],
      observed.metadata.resourceVersion!,
      options,
    );
  return change.kind;
}
