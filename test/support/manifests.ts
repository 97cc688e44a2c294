// The shipped manifests: rendered by kustomize (built from the Go module proxy) and applied to
// the local control plane with server-side apply, as `kubectl apply --server-side -k` would.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { KubeClient } from '../../src/kube/client.ts';
import { ensureGoBinary, KUSTOMIZE, repoRoot } from '../../harness/gobuild.ts';

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `kustomize build <dir>` (relative to the repository, or absolute), as objects. */
export async function kustomizeBuild(dir: string): Promise<ManifestObject[]> {
  const kustomize = await ensureGoBinary(KUSTOMIZE);
  const { stdout } = await promisify(execFile)(kustomize, ['build', resolve(repoRoot, dir)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return manifestObjects(stdout);
}

/**
 * `kustomize build` of an overlay written as a user would write it (`kustomization`, its text,
 * relative to a folder two levels under the repository), made under .cache/ and removed after.
 */
export async function kustomizeOverlay(name: string, kustomization: string): Promise<ManifestObject[]> {
  const dir = join(repoRoot, '.cache', name);
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(join(dir, 'kustomization.yaml'), kustomization);
    return await kustomizeBuild(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The objects of a multi-document YAML stream; empty documents left out. */
export function manifestObjects(text: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as ManifestObject | null)
    .filter((o): o is ManifestObject => o !== null);
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/** The REST path of an object, found through the API server's discovery. */
export async function objectPath(client: KubeClient, obj: ManifestObject): Promise<string> {
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const list = await client.request<ApiResourceList>('GET', base);
  const resource = list.resources.find((r) => r.kind === obj.kind && !r.name.includes('/'));
  if (!resource) throw new Error(`the API server does not serve ${obj.kind} in ${obj.apiVersion}`);
  const ns = resource.namespaced ? `/namespaces/${obj.metadata.namespace ?? 'default'}` : '';
  return `${base}${ns}/${resource.name}/${obj.metadata.name}`;
}

/** Server-side apply of one object, optionally as a server-side dry-run. */
export async function applyObject(
  client: KubeClient,
  obj: ManifestObject,
  options: { dryRun: boolean; fieldManager: string },
): Promise<unknown> {
  return client.request('PATCH', await objectPath(client, obj), {
    query: { fieldManager: options.fieldManager, force: true, dryRun: options.dryRun ? 'All' : undefined },
    body: obj,
    contentType: 'application/apply-patch+yaml',
  });
}
