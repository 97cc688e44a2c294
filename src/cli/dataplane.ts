// `check --probe`: is the profile enforced on this cluster's own dataplane? With the caller's
// credentials: two short-lived namespaces (one labelled with the profile, one not), in which the
// probe runs (probe/run.ts). It deletes them on the way out (Ctrl-C too), and removes what an
// interrupted run left before it starts.
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { resourcePath } from '../kube/resources.ts';
import { API_SERVER_SLICE } from '../controllers/apiserver.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { EndpointSliceView } from '../policy/presets.ts';
import type { Labels } from '../policy/types.ts';
import { type ApiServer, endpointsOf, type Judgement } from '../probe/checks.ts';
import { CannotProbe, must } from '../probe/podwait.ts';
import { DEADLINES, PROBE_LABEL, runProbe } from '../probe/run.ts';

export { CannotProbe, PROBE_LABEL };

/** When a run's namespaces outlive their run (its deadlines, and a minute): then they are leftovers. */
export const PROBE_EXPIRES_ANNOTATION = 'namespace-isolation-controller/probe-expires';

export interface ProbeOptions {
  profile: string;
  image: string;
  signal: AbortSignal;
  /** Progress, one line each, to stderr. */
  log: (line: string) => void;
}

interface NamespaceObject {
  metadata: { name: string; labels?: Labels; annotations?: Labels; deletionTimestamp?: string };
}

export async function probeDataplane(
  client: KubeClient,
  config: PolicyConfig,
  options: ProbeOptions,
): Promise<Judgement> {
  const { profile, log } = options;
  if (!config.profiles[profile])
    throw new CannotProbe(
      `--profile: ${JSON.stringify(profile)} is not a profile; defined: ${Object.keys(config.profiles).join(', ')}`,
    );
  await removeLeftovers(client, log);
  const id = randomBytes(3).toString('hex');
  const names = { isolated: `nic-probe-${id}-isolated`, other: `nic-probe-${id}-other` };
  const created: string[] = [];
  const { policiesMs, podsMs, checksMs } = DEADLINES;
  const expires = new Date(Date.now() + policiesMs + podsMs + checksMs + 60_000).toISOString();
  try {
    for (const [role, name] of Object.entries(names)) {
      const labels: Labels = { [PROBE_LABEL]: id, 'pod-security.kubernetes.io/enforce': 'restricted' };
      if (role === 'isolated') labels[config.selectorLabel] = profile;
      const annotations = { [PROBE_EXPIRES_ANNOTATION]: expires };
      await must(
        client.send('POST', resourcePath('Namespace'), { body: { metadata: { name, labels, annotations } } }),
        'create namespaces',
      );
      created.push(name);
    }
    log(`namespaces ${names.isolated} (${config.selectorLabel}=${profile}) and ${names.other}`);
    return await runProbe(client, config, { ...options, ...names, apiServer: await apiServer(client) });
  } finally {
    for (const name of created) await deleteNamespace(client, name);
    if (created.length) log(`deleted ${created.join(', ')}`);
  }
}

/** Deletes probe namespaces an interrupted run left (found by label, past their run's end). */
async function removeLeftovers(client: KubeClient, log: (line: string) => void): Promise<void> {
  const list = await must(
    client.list<NamespaceObject>(resourcePath('Namespace'), { labelSelector: PROBE_LABEL }),
    'list namespaces',
  );
  for (const ns of list.items) {
    // Another run's, still under way, is left alone; one without a time is a leftover.
    const expires = Date.parse(ns.metadata.annotations?.[PROBE_EXPIRES_ANNOTATION] ?? '');
    if (ns.metadata.deletionTimestamp || expires > Date.now()) continue;
    await deleteNamespace(client, ns.metadata.name);
    log(`removed ${ns.metadata.name}, left by an interrupted run`);
  }
}

async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.send('DELETE', resourcePath('Namespace', undefined, name));
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
}

/** The `kubernetes` Service's address (what Pods dial) and the API server's own (what policies name). */
async function apiServer(client: KubeClient): Promise<ApiServer> {
  const svc = await must(
    client.get<{ spec: { clusterIP: string; ports: { port: number }[] } }>(
      resourcePath('Service', 'default', 'kubernetes'),
    ),
    'get the Service default/kubernetes',
  );
  if (!svc) throw new CannotProbe('the Service default/kubernetes does not exist');
  const { namespace, name } = API_SERVER_SLICE;
  const slice = await client
    .get<EndpointSliceView>(resourcePath('EndpointSlice', namespace, name))
    .catch(() => undefined);
  return {
    service: `${svc.spec.clusterIP}:${svc.spec.ports[0]?.port ?? 443}`,
    endpoints: endpointsOf(slice),
  };
}
