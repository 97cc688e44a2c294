// The one write path, for any kind in the resource table: server-side apply, a conditional
// replace of whole fields, a conditional delete, and dropping labels. Each sends dryRun=All when
// asked and takes the caller's AbortSignal, so that a shutdown can cancel what is in flight.
import { KubeApiError, type KubeClient } from './client.ts';
import { objectPath, type ObjectRef } from './resources.ts';

export interface WriteOptions {
  fieldManager: string;
  dryRun: boolean;
  signal?: AbortSignal | undefined;
}

const dryRun = (options: WriteOptions) => (options.dryRun ? 'All' : undefined);

/** Server-side apply with force: we own the fields we set, whoever set them before. */
export function apply<T extends ObjectRef>(client: KubeClient, obj: T, options: WriteOptions): Promise<T> {
  return client.request<T>('PATCH', objectPath(obj), {
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
): Promise<unknown> {
  return client.request('PATCH', objectPath(obj), {
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
    await client.request('DELETE', objectPath(obj), {
      query: { dryRun: dryRun(options) },
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    throw err;
  }
}

/** Removes the given labels with a JSON merge patch (orphaning an object). */
export async function removeLabels(
  client: KubeClient,
  obj: ObjectRef,
  keys: string[],
  options: WriteOptions,
): Promise<void> {
  await client.request('PATCH', objectPath(obj), {
    query: { fieldManager: options.fieldManager, dryRun: dryRun(options) },
    body: { metadata: { labels: Object.fromEntries(keys.map((k) => [k, null])) } },
    contentType: 'application/merge-patch+json',
    signal: options.signal,
  });
}
