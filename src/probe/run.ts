// One run of the dataplane probe in two namespaces that exist: `isolated`, labelled with the profile
// under test, and `other`, not. An echo server Pod in each (Ready once it answers on loopback, which
// no policy governs, so a refusal is never a server not yet listening) and a client Pod in each that
// runs `probe expect` with its checks (expect.ts); checks.ts says what the profile promises and
// judges. Its Pods carry PROBE_LABEL and are deleted on every ending; an earlier run's are deleted
// first. `check --probe` runs it in namespaces it makes; the dataplane controller in the two the
// install makes.
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { resourcePath } from '../kube/resources.ts';
import { MANAGED_SELECTOR } from '../policy/labels.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { Labels, NetworkPolicy } from '../policy/types.ts';
import { type ApiServer, type Check, type Judgement, judge, plan, type ProbeNamespace } from './checks.ts';
import type { Observed } from './expect.ts';
import { probePod } from './pods.ts';
import { CannotProbe, createPod, must, until, waitPod } from './podwait.ts';

export { CannotProbe };

export const PROBE_LABEL = 'namespace-isolation-controller/probe';

export interface RunOptions {
  /** The namespaces, and the profile the isolated one is labelled with. */
  isolated: string;
  other: string;
  profile: string;
  image: string;
  /** The `kubernetes` Service and the API server's addresses; unknown, the API server is not probed. */
  apiServer?: ApiServer | undefined;
  signal: AbortSignal;
  log: (line: string) => void;
  /** How long the controller, the Pods and the checks may each take. */
  deadlines?: Deadlines;
  /** A namespace's labels, where a cache has them (the controller may not get namespaces); else read. */
  labelsOf?: (namespace: string) => Labels | undefined;
}

export interface Deadlines {
  policiesMs: number;
  podsMs: number;
  checksMs: number;
}

export const DEADLINES: Deadlines = { policiesMs: 60_000, podsMs: 120_000, checksMs: 120_000 };

interface NamespaceObject {
  metadata: { name: string; labels?: Labels };
}

export async function runProbe(client: KubeClient, config: PolicyConfig, o: RunOptions): Promise<Judgement> {
  const { profile, signal, log } = o;
  const deadlines = o.deadlines ?? DEADLINES;
  const wanted = config.profiles[profile];
  if (!wanted)
    throw new CannotProbe(
      `profile ${JSON.stringify(profile)} is not defined (defined: ${Object.keys(config.profiles).join(', ')})`,
    );
  const names = [o.isolated, o.other] as const;
  for (const ns of names) await deletePods(client, ns);
  const id = randomBytes(3).toString('hex');
  const labels = { [PROBE_LABEL]: id };
  try {
    const policies = await policiesOf(
      client,
      signal,
      o.isolated,
      config.selectorLabel,
      profile,
      wanted,
      deadlines.policiesMs,
    );
    log(`policies in place: ${policies.map((p) => p.metadata.name).join(', ')}`);
    const servers = await Promise.all(
      names.map(async (ns) => {
        const name = `server-${id}`;
        const pod = probePod({
          namespace: ns,
          name,
          labels: { ...labels, app: 'server' },
          image: o.image,
          readiness: true,
        });
        await createPod(client, signal, pod);
        return waitPod(client, signal, ns, name, deadlines.podsMs, o.image, (p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP
            ? p.status.podIP
            : undefined,
        );
      }),
    );
    log(`servers ready: ${servers.join(', ')}`);
    const side = async (ns: string, ip: string): Promise<ProbeNamespace> => ({
      name: ns,
      labels:
        o.labelsOf?.(ns) ??
        (await client.get<NamespaceObject>(resourcePath('Namespace', undefined, ns)))?.metadata.labels ??
        {},
      server: { ip, labels: { ...labels, app: 'server' } },
      clientLabels: { ...labels, app: 'client' },
    });
    const checks = plan({
      profile,
      isolated: await side(o.isolated, servers[0]!),
      other: await side(o.other, servers[1]!),
      policies: (await client.list<NetworkPolicy>(resourcePath('NetworkPolicy', o.isolated))).items,
      apiServer: o.apiServer,
      dnsName: 'kubernetes.default.svc',
    });
    log(`clients running ${checks.isolated.length + checks.other.length} checks`);
    const observed = await Promise.all(
      [[o.isolated, checks.isolated] as const, [o.other, checks.other] as const].map(([ns, list]) =>
        runClient(
          client,
          signal,
          ns,
          `client-${id}`,
          list,
          { ...labels, app: 'client' },
          o.image,
          deadlines.checksMs,
        ),
      ),
    );
    return judge(profile, [...checks.isolated, ...checks.other], observed.flat());
  } finally {
    // What stopped the run is its result; a refused clean-up is said, and the next run's tries again.
    for (const ns of names)
      await deletePods(client, ns, id).catch((err: unknown) =>
        log(
          `could not delete the probe's Pods in ${ns}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
  }
}

/** Deletes the probe's Pods in `ns`: one run's, or every run's. */
async function deletePods(client: KubeClient, ns: string, id?: string): Promise<void> {
  const deleted = client
    .send('DELETE', resourcePath('Pod', ns), {
      query: { labelSelector: id ? `${PROBE_LABEL}=${id}` : PROBE_LABEL },
    })
    .catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  await must(deleted, 'delete pods');
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
      const list = await must(
        client.list<NetworkPolicy>(path, { labelSelector: MANAGED_SELECTOR }),
        'list networkpolicies',
      );
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
  name: string,
  checks: readonly Check[],
  labels: Labels,
  image: string,
  withinMs: number,
): Promise<Observed[]> {
  const list = checks.map(({ id, kind, target, protocol, want }) => ({ id, kind, target, protocol, want }));
  const args = ['expect', JSON.stringify(list)];
  await createPod(client, signal, probePod({ namespace: ns, name, labels, image, args }));
  await waitPod(client, signal, ns, name, withinMs, image, (p) =>
    p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined,
  );
  const text = await must(client.text(`${resourcePath('Pod', ns, name)}/log`), 'read pods/log');
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Observed)
    .filter((o) => typeof o.id === 'string');
}
