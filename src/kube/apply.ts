// The one write path, for any kind in the resource table: server-side apply, a conditional
// replace of whole fields, a conditional delete, and letting go of an object. Each sends dryRun=All when
// asked and takes the caller's AbortSignal, so that a shutdown can cancel what is in flight. None
// reads the object sent back: nothing here needs it.
import { KubeApiError, type KubeClient } from './client.ts';
import { objectPath, type ObjectRef } from './resources.ts';

export interface WriteOptions {
  fieldManager: string;
  dryRun: boolean;
  signal?: AbortSignal | undefined;
}

const dryRun = (options: WriteOptions) => (options.dryRun ? 'All' : undefined);

/** Server-side apply with force: we own the fields we set, whoever set them before. */
export function apply(client: KubeClient, obj: ObjectRef, options: WriteOptions): Promise<void> {
  return client.send('PATCH', objectPath(obj), {
    query: { fieldManager: options.fieldManager, force: true, dryRun: dryRun(options) },
    body: obj,
    contentType: 'application/apply-patch+yaml',
    signal: options.signal,
  });
}

/**
 * Replaces the object's labels and the given top-level fields (e.g. `spec`) as a whole, if it is
 * still at `resourceVersion` (409 Conflict otherwise). Server-side apply leaves fields that
 * another manager set (a rule added by `kubectl edit`); this does not. A JSON patch rather than a
 * PUT, so that the `patch` verb is enough.
 */
export function replace(
  client: KubeClient,
  obj: ObjectRef & { metadata: { labels: Record<string, string> } },
  fields: Record<string, unknown>,
  resourceVersion: string,
  options: WriteOptions,
): Promise<void> {
  return client.send('PATCH', objectPath(obj), {
    query: { fieldManager: options.fieldManager, dryRun: dryRun(options) },
    // The patched object keeps this resourceVersion, which the API server checks like a PUT's.
    body: [
      { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
      { op: 'add', path: '/metadata/labels', value: obj.metadata.labels },
      ...Object.entries(fields).map(([field, value]) => ({ op: 'replace', path: `/${field}`, value })),
    ],
    contentType: 'application/json-patch+json',
    signal: options.signal,
  });
}

/**
 * Deletes the object if it is still the version we looked at (a precondition on its
 * resourceVersion), so that one re-created meanwhile is never removed by mistake. Gone is fine.
 */
export async function remove(
  client: KubeClient,
  obj: ObjectRef,
  resourceVersion: string | undefined,
  options: WriteOptions,
): Promise<void> {
  try {
    await client.send('DELETE', objectPath(obj), {
      query: { dryRun: dryRun(options) },
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    throw err;
  }
}

/**
 * Lets go of an object (orphaning it), if it is still at `resourceVersion`: removes the given
 * labels and the field manager's entries from its managedFields, so that nothing on it says it
 * was ours. A copy that another writer then keeps applying is theirs alone, and never fought over.
 */
export function letGo(
  client: KubeClient,
  obj: ObjectRef & { metadata: { labels?: Record<string, string>; managedFields?: unknown } },
  labelKeys: string[],
  resourceVersion: string,
  options: WriteOptions,
): Promise<void> {
  const entries = (obj.metadata.managedFields as { manager: string }[] | undefined) ?? [];
  const ours = entries.flatMap((m, i) => (m.manager === options.fieldManager ? [i] : []));
  // Removing every entry would read as "keep them" to the API server; one empty entry resets them.
  const managedFields =
    ours.length > 0 && ours.length === entries.length
      ? [{ op: 'replace', path: '/metadata/managedFields', value: [{}] }]
      : ours.reverse().map((i) => ({ op: 'remove', path: `/metadata/managedFields/${i}` }));
  const labels = labelKeys
    .filter((key) => obj.metadata.labels?.[key] !== undefined)
    .map((key) => ({
      op: 'remove',
      path: `/metadata/labels/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
    }));
  return client.send('PATCH', objectPath(obj), {
    query: { fieldManager: options.fieldManager, dryRun: dryRun(options) },
    // The index of each entry holds at this resourceVersion, which the API server checks.
    body: [
      { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
      ...labels,
      ...managedFields,
    ],
    contentType: 'application/json-patch+json',
    signal: options.signal,
  });
}
