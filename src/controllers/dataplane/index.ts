// The dataplane controller (opt-in: `probe` in the configuration): every intervalMinutes, while
// leading, the probe runs in the two namespaces the install made (manifests/components/
// dataplane-probe: a Role there for Pods, no right to create namespaces) and says whether the
// profile of the isolated one is enforced on the wire: a gauge per check, a run counter by
// result, its duration, the last run that could judge, an Event on the isolated namespace when
// the result changes, and the ClusterPolicyReport namespace-isolation-dataplane (report.ts),
// whose finding every namespace's PolicyReport repeats while the profile is not enforced.
import { Counter, Gauge, Histogram } from 'prom-client';
import { API_SERVER_SLICE } from '../apiserver.ts';
import type { NamespaceObject } from '../../kube/objects.ts';
import { resourcePath } from '../../kube/resources.ts';
import { METRICS_PREFIX } from '../../policy/labels.ts';
import type { EndpointSliceView } from '../../policy/presets.ts';
import { type ApiServer, endpointsOf, type Judgement } from '../../probe/checks.ts';
import { CannotProbe, runProbe } from '../../probe/run.ts';
import type { Controller } from '../../runtime/manager.ts';
import type { Reconciler, ReconcileResult } from '../../runtime/processor.ts';
import { sharedInformers } from '../cache.ts';
import type { Deps } from '../deps.ts';
import { dataplaneReport, findingOf, PROBE_RESULTS, type ProbeResult, resultOf } from '../../probe/report.ts';
import { DataplaneReportWriter } from './writer.ts';
import { probeEvent, untilDue } from './decide.ts';

export const CONTROLLER_NAME = 'namespace-isolation-dataplane';
const KEY = 'dataplane';

export const dataplaneController: Controller<Deps> = {
  name: CONTROLLER_NAME,
  keyName: 'probe',
  setup({ deps, informer, log, registry }) {
    const m = {
      enforced: new Gauge({
        name: `${METRICS_PREFIX}_dataplane_enforced`,
        help: 'Per check of the last dataplane probe that could judge: 1 as the profile promises, 0 not',
        labelNames: ['check'],
        registers: [registry],
      }),
      runs: new Counter({
        name: `${METRICS_PREFIX}_dataplane_probe_runs_total`,
        help: 'Dataplane probe runs by result: enforced, not-enforced, error (could not judge)',
        labelNames: ['result'],
        registers: [registry],
      }),
      duration: new Histogram({
        name: `${METRICS_PREFIX}_dataplane_probe_duration_seconds`,
        help: 'How long a dataplane probe run took, Pods created to Pods deleted',
        buckets: [5, 10, 15, 20, 30, 45, 60, 120, 300],
        registers: [registry],
      }),
      lastSuccess: new Gauge({
        name: `${METRICS_PREFIX}_dataplane_probe_last_success_timestamp_seconds`,
        help: 'When the last dataplane probe run that could judge (enforced or not) ended',
        registers: [registry],
      }),
      interval: new Gauge({
        name: `${METRICS_PREFIX}_dataplane_probe_interval_seconds`,
        help: 'How often the dataplane probe runs (absent: off)',
        registers: [registry],
      }),
    };
    for (const result of PROBE_RESULTS) m.runs.inc({ result }, 0);
    const probe = deps.config.probe;
    if (!probe) return { reconciler: { reconcile: () => Promise.resolve(undefined) }, keys: () => [] };
    const intervalMs = probe.intervalMinutes * 60_000;
    m.interval.set(intervalMs / 1000);
    const { namespaces } = sharedInformers(informer, deps.client);
    const { client } = deps;
    const writer = new DataplaneReportWriter(client, log, deps.dryRun, deps.dataplane.held);
    const profileOf = (ns: NamespaceObject | undefined) =>
      ns?.metadata.labels?.[deps.policy.current.selectorLabel];
    let lastStart: number | undefined;
    let last: ProbeResult | undefined;

    /** The `kubernetes` Service as this Pod sees it, and the API server's addresses where they can be read. */
    const apiServer = async (): Promise<ApiServer | undefined> => {
      const host = process.env.KUBERNETES_SERVICE_HOST;
      if (!host) return undefined; // not in a Pod: no Service address to dial
      const { namespace, name } = API_SERVER_SLICE;
      const slice = await client
        .get<EndpointSliceView>(resourcePath('EndpointSlice', namespace, name))
        .catch(() => undefined);
      const endpoints = endpointsOf(slice);
      const service = `${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? '443'}`;
      return endpoints.length ? { service, endpoints } : undefined;
    };

    const reconciler: Reconciler = {
      async reconcile(_key, signal): Promise<ReconcileResult> {
        const wait = untilDue(lastStart, Date.now(), intervalMs);
        if (wait > 0) return { requeueAfter: wait };
        lastStart = Date.now();
        const { isolated, other } = probe.namespaces;
        const ns = namespaces.get(isolated);
        const started = performance.now();
        let judgement: Judgement;
        try {
          const profile = profileOf(ns);
          if (!ns || !profile)
            throw new CannotProbe(
              `namespace ${isolated} ${ns ? `has no label ${deps.policy.current.selectorLabel}` : 'does not exist'}: install manifests/components/dataplane-probe`,
            );
          judgement = await runProbe(client, deps.policy.current, {
            isolated,
            other,
            profile,
            image: probe.image,
            apiServer: await apiServer(),
            signal,
            log: (line) => log.debug({ probe: line }, 'dataplane probe'),
            labelsOf: (name) => namespaces.get(name)?.metadata.labels ?? {},
          });
        } catch (err) {
          if (signal.aborted) return undefined; // stopping: not a result
          const why = err instanceof Error ? err.message : String(err);
          judgement = { code: 2, rows: [], summary: `could not run: ${why}` };
        }
        const seconds = (performance.now() - started) / 1000;
        const result = resultOf(judgement.code);
        m.runs.inc({ result });
        m.duration.observe(seconds);
        if (result !== 'error') {
          m.lastSuccess.set(Date.now() / 1000);
          for (const row of judgement.rows)
            if (!row.control) m.enforced.set({ check: row.id }, row.ok ? 1 : 0);
        }
        const failed = judgement.rows.filter((r) => !r.ok).map((r) => r.id);
        log[result === 'enforced' ? 'info' : 'warn'](
          { result, seconds: Math.round(seconds * 10) / 10, failed, summary: judgement.summary },
          'dataplane probe',
        );
        const context = {
          isolated,
          other,
          profile: profileOf(ns) ?? '',
          selectorLabel: deps.policy.current.selectorLabel,
        };
        const report = dataplaneReport(judgement, context, Date.now());
        deps.dataplane.set(findingOf(report)!);
        if (await writer.write(report, signal))
          log.debug({ result }, 'wrote the dataplane ClusterPolicyReport');
        const event = probeEvent(result, last, judgement.summary);
        if (event && ns) deps.events.record({ name: isolated, uid: ns.metadata.uid }, event);
        last = result;
        return { requeueAfter: intervalMs };
      },
    };
    return { reconciler, keys: () => [KEY] };
  },
};
