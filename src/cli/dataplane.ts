// `check --probe`: is the profile enforced on this cluster's own dataplane? With the caller's
// credentials: two short-lived namespaces (one labelled with the profile, one not), an echo server
// and a client Pod in each, from the controller's image; the clients try every flow at once and
// print what they saw (probe/expect.ts); checks.ts says what the profile promises and judges.
// Everything it makes carries PROBE_LABEL; it deletes it on the way out (Ctrl-C too), and removes
// what an interrupted run left before it starts.
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { CannotProbe, createPod, must, until, waitPod } from './podwait.ts';
import { resourcePath } from '../kube/resources.ts';
import { API_SERVER_SLICE } from '../controllers/apiserver.ts';
import { MANAGED_SELECTOR } from '../policy/labels.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { EndpointSliceView } from '../policy/presets.ts';
import type { Labels, NetworkPolicy } from '../policy/types.ts';
import { type Check, type Judgement, judge, plan, type ProbeNamespace } from '../probe/checks.ts';
import type { Observed } from '../probe/expect.ts';
import { probePod } from '../probe/pods.ts';

export { CannotProbe };

export const PROBE_LABEL = 'namespace-isolation-controller/probe';
/** When a run's namespaces outlive their run (its deadlines, and a minute): then they are leftovers. */
export const PROBE_EXPIRES_ANNOTATION = 'namespace-isolation-controller/probe-expires';

export interface ProbeOptions {
  profile: string;
  image: string;
  signal: AbortSignal;
  /** Progress, one line each, to stderr. */
  log: (line: string) => void;
  /** How long the controller, the Pods and the checks may each take. */
  deadlines?: { policiesMs: number; podsMs: number; checksMs: number };
}

interface NamespaceObject {
  metadata: { name: string; labels?: Labels; annotations?: Labels; deletionTimestamp?: string };
}

export async function probeDataplane(
  client: KubeClient,
  config: PolicyConfig,
  options: ProbeOptions,
): Promise<Judgement> {
  const { profile, signal, log } = options;
  const deadlines = options.deadlines ?? { policiesMs: 60_000, podsMs: 120_000, checksMs: 120_000 };
  const wanted = config.profiles[profile];
  if (!wanted)
    throw new CannotProbe(
      `--profile: ${JSON.stringify(profile)} is not a profile; defined: ${Object.keys(config.profiles).join(', ')}`,
    );
  await removeLeftovers(client, log);
  const id = randomBytes(3).toString('hex');
  const names = { isolated: `nic-probe-${id}-isolated`, other: `nic-probe-${id}-other` };
  const created: string[] = [];
  const expires = new Date(
    Date.now() + deadlines.policiesMs + 2 * deadlines.podsMs + deadlines.checksMs + 60_000,
  ).toISOString();
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

    const policies = await policiesOf(
      client,
      signal,
      names.isolated,
      config.selectorLabel,
      profile,
      wanted,
      deadlines.policiesMs,
    );
    log(`policies in place: ${policies.map((p) => p.metadata.name).join(', ')}`);

    // probePod adds app=<name>.
    const labels = { [PROBE_LABEL]: id };
    const servers = await Promise.all(
      Object.values(names).map(async (ns) => {
        const pod = probePod({
          namespace: ns,
          name: 'server',
          labels,
          image: options.image,
          readiness: true,
        });
        await createPod(client, signal, pod);
        return waitPod(client, signal, ns, 'server', deadlines.podsMs, options.image, (p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP
            ? p.status.podIP
            : undefined,
        );
      }),
    );
    log(`servers ready: ${servers.join(', ')}`);

    const nsLabels = async (name: string) =>
      (await client.get<NamespaceObject>(resourcePath('Namespace', undefined, name)))?.metadata.labels ?? {};
    const side = async (name: string, ip: string): Promise<ProbeNamespace> => ({
      name,
      labels: await nsLabels(name),
      server: { ip, labels: { ...labels, app: 'server' } },
      clientLabels: { ...labels, app: 'client' },
    });
    const checks = plan({
      profile,
      isolated: await side(names.isolated, servers[0]!),
      other: await side(names.other, servers[1]!),
      policies: (await client.list<NetworkPolicy>(resourcePath('NetworkPolicy', names.isolated))).items,
      apiServer: await apiServer(client),
      dnsName: 'kubernetes.default.svc',
    });
    log(`clients running ${checks.isolated.length + checks.other.length} checks`);
    const observed = await Promise.all(
      [[names.isolated, checks.isolated] as const, [names.other, checks.other] as const].map(([ns, list]) =>
        runClient(client, signal, ns, list, labels, options.image, deadlines.checksMs),
      ),
    );
    return judge(profile, [...checks.isolated, ...checks.other], observed.flat());
  } finally {
    for (const name of created) await deleteNamespace(client, name);
    if (created.length) log(`deleted ${created.join(', ')}`);
  }
}

/** Waits for the controller to write every policy of the profile in `ns`. */
function policiesOf(
  client: KubeClient,
  signal: AbortSignal,
  ns: string,
  selectorLabel: string,
  profile: string,
  wanted: readonly string[],
  withinMs: number,
): Promise<NetworkPolicy[]> {
  const path = resourcePath('NetworkPolicy', ns);
  return until(
    signal,
    withinMs,
    async () => {
      const list = await client.list<NetworkPolicy>(path, { labelSelector: MANAGED_SELECTOR });
      const have = new Set(list.items.map((p) => p.metadata.name));
      return wanted.every((w) => have.has(w)) && list.items;
    },
    async () => {
      const have = new Set((await client.list<NetworkPolicy>(path)).items.map((p) => p.metadata.name));
      const missing = wanted.filter((w) => !have.has(w));
      return `the controller did not write profile ${profile}'s policies in ${ns} (missing: ${missing.join(', ')}) within ${withinMs / 1000} s: is it running, and selecting namespaces by ${selectorLabel}?`;
    },
  );
}

/** Runs a client Pod with its checks to the end, and reads what it saw from its log. */
async function runClient(
  client: KubeClient,
  signal: AbortSignal,
  ns: string,
  checks: readonly Check[],
  labels: Labels,
  image: string,
  withinMs: number,
): Promise<Observed[]> {
  const list = checks.map(({ id, kind, target, protocol, want }) => ({ id, kind, target, protocol, want }));
  const args = ['expect', JSON.stringify(list)];
  await createPod(client, signal, probePod({ namespace: ns, name: 'client', labels, image, args }));
  await waitPod(client, signal, ns, 'client', withinMs, image, (p) =>
    p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined,
  );
  const text = await client.text(`${resourcePath('Pod', ns, 'client')}/log`);
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Observed)
    .filter((o) => typeof o.id === 'string');
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
async function apiServer(client: KubeClient) {
  const svc = await client.get<{ spec: { clusterIP: string; ports: { port: number }[] } }>(
    resourcePath('Service', 'default', 'kubernetes'),
  );
  if (!svc) throw new CannotProbe('the Service default/kubernetes does not exist');
  const { namespace, name } = API_SERVER_SLICE;
  const slice = await client
    .get<EndpointSliceView>(resourcePath('EndpointSlice', namespace, name))
    .catch(() => undefined);
  const port = slice?.ports?.[0]?.port ?? 443;
  const endpoints = (slice?.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => (e.addresses ?? []).map((ip) => ({ ip, port })));
  return { service: `${svc.spec.clusterIP}:${svc.spec.ports[0]?.port ?? 443}`, endpoints };
}
