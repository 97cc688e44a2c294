// Whether an optional API is there to use: served by the API server (its CRD installed) and open to
// the controller's own identity (its RBAC applied). Asked once at start-up.
import { KubeApiError, type KubeClient } from './client.ts';
import { resourceOf } from './resources.ts';

export type Availability = { available: true } | { available: false; why: string };

/**
 * Whether `kind` (in the resource table) is served, and the controller may `verbs` it everywhere, or
 * only in `where` (one namespace, one object by name).
 */
export async function availability(
  client: KubeClient,
  kind: string,
  verbs: string[],
  where: { namespace?: string; name?: string } = {},
): Promise<Availability> {
  const { apiVersion, plural } = resourceOf(kind);
  try {
    const list = await client.request<{ resources?: { name: string }[] }>('GET', `/apis/${apiVersion}`);
    if (!list.resources?.some((r) => r.name === plural))
      return { available: false, why: `${plural}.${apiVersion} is not served` };
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404)
      return { available: false, why: `${apiVersion} is not served (its CRD is not installed)` };
    throw err;
  }
  const group = apiVersion.split('/')[0]!;
  // One review per verb, sent together: start-up waits for the slowest, not their sum.
  const allowed = await Promise.all(
    verbs.map(async (verb) => {
      const review = await client.request<{ status?: { allowed?: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { group, resource: plural, verb, ...where } },
          },
        },
      );
      return review.status?.allowed === true;
    }),
  );
  const refused = verbs.find((_, i) => !allowed[i]);
  const what = `${plural}.${group}${where.name ? ` ${where.namespace}/${where.name}` : ''}`;
  if (refused !== undefined) return { available: false, why: `the controller may not ${refused} ${what}` };
  return { available: true };
}
