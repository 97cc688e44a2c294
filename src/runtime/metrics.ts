// The runtime's Prometheus metrics under controller-runtime's names and labels, so that existing
// dashboards and alerts work unchanged; all pre-registered at zero so that graphs have no gaps.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { InformerHooks } from './informer.ts';
import type { Outcome, ProcessorHooks } from './processor.ts';
import type { QueueObserver, WorkQueue } from './workqueue.ts';

// controller-runtime's buckets for reconcile time, and client-go's for the work queue.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);
const RESULTS: (Outcome | 'requeue')[] = ['success', 'error', 'requeue', 'requeue_after'];

/**
 * Node's process metrics (CPU, memory, event loop lag, handles), and the build: the release and
 * Node's version as the labels of a gauge at 1, as Kubernetes' components report theirs.
 */
export function registerProcessMetrics(registry: Registry, version: string): void {
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'namespace_isolation_build_info',
    help: 'The running release (version) and the Node.js version (node_version); always 1.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version, node_version: process.version }, 1);
}

/** What the gauges read of each controller at a scrape: its name and its queue. */
interface Measured {
  controller: string;
  queue: () => WorkQueue;
}

/**
 * controller_runtime_* and workqueue_*, registered once per registry; each controller added gets
 * its own label values, pre-registered at zero.
 */
export function registerControllerMetrics(
  registry: Registry,
): (
  controller: string,
  queue: () => WorkQueue,
  concurrency: number,
) => { queue: QueueObserver; processor: ProcessorHooks } {
  const registers = [registry];
  const measured: Measured[] = [];
  const total = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers,
  });
  const errors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'],
    registers,
  });
  const time = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: RECONCILE_BUCKETS,
    registers,
  });
  const maxConcurrent = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'],
    registers,
  });
  new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'],
    registers,
    collect() {
      for (const m of measured) this.set({ controller: m.controller }, m.queue().inFlight);
    },
  });

  const queueLabels = ['name', 'controller'];
  const labels = (m: Measured) => ({ name: m.controller, controller: m.controller });
  const gauge = (name: string, help: string, value: (m: Measured) => number) =>
    new Gauge({
      name,
      help,
      labelNames: queueLabels,
      registers,
      collect() {
        for (const m of measured) this.set(labels(m), value(m));
      },
    });
  gauge('workqueue_depth', 'Current depth of workqueue', (m) => m.queue().length);
  gauge(
    'workqueue_unfinished_work_seconds',
    'How many seconds of work has been done that is in progress and has not been observed by work_duration',
    (m) => m.queue().unfinished().total,
  );
  gauge(
    'workqueue_longest_running_processor_seconds',
    'How many seconds has the longest running processor for workqueue been running',
    (m) => m.queue().unfinished().longest,
  );
  const adds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: queueLabels,
    registers,
  });
  const queued = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: queueLabels,
    buckets: QUEUE_BUCKETS,
    registers,
  });
  const worked = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: queueLabels,
    buckets: QUEUE_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: queueLabels,
    registers,
  });

  return (controller, queue, concurrency) => {
    const m = { controller, queue };
    measured.push(m);
    const l = labels(m);
    for (const result of RESULTS) total.inc({ controller, result }, 0);
    errors.inc({ controller }, 0);
    time.zero({ controller });
    maxConcurrent.set({ controller }, concurrency);
    adds.inc(l, 0);
    queued.zero(l);
    worked.zero(l);
    retries.inc(l, 0);
    return {
      queue: {
        added: () => adds.inc(l),
        queued: (s) => queued.observe(l, s),
        worked: (s) => worked.observe(l, s),
        retried: () => retries.inc(l),
      },
      processor: {
        reconciled(_key, outcome, seconds) {
          total.inc({ controller, result: outcome });
          if (outcome === 'error') errors.inc({ controller });
          time.observe({ controller }, seconds);
        },
      },
    };
  };
}

/**
 * Watch restarts, the last successful list and the last sign of life, per resource, under `prefix`;
 * each resource's series start at zero when its informer is made.
 */
export function registerInformerMetrics(
  registry: Registry,
  prefix: string,
): (resource: string) => InformerHooks {
  const registers = [registry];
  const restarts = new Counter({
    name: `${prefix}_watch_restarts_total`,
    help: 'Watches ended by an error (error, silent, expired) and started again, per resource',
    labelNames: ['resource', 'reason'],
    registers,
  });
  const lastList = new Gauge({
    name: `${prefix}_last_successful_list_timestamp_seconds`,
    help: 'Unix time of the last successful list per resource (0: never listed)',
    labelNames: ['resource'],
    registers,
  });
  // A healthy watch can go days without a list; the API server sends it a bookmark every minute.
  const lastActivity = new Gauge({
    name: `${prefix}_last_watch_activity_timestamp_seconds`,
    help: 'Unix time of the last list or watch event (bookmarks included) per resource (0: never)',
    labelNames: ['resource'],
    registers,
  });
  return (resource) => {
    for (const reason of ['error', 'silent', 'expired']) restarts.inc({ resource, reason }, 0);
    lastList.set({ resource }, 0);
    lastActivity.set({ resource }, 0);
    return {
      listed: () => lastList.set({ resource }, Date.now() / 1000),
      restarted: (reason) => restarts.inc({ resource, reason }),
      progressed: () => lastActivity.set({ resource }, Date.now() / 1000),
    };
  };
}

/** leader_election_master_status{name}: 1 while this process holds the lease. */
export function registerLeaderMetric(registry: Registry, name: string): (leading: boolean) => void {
  const gauge = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
    labelNames: ['name'],
    registers: [registry],
  });
  gauge.set({ name }, 0);
  return (leading) => gauge.set({ name }, leading ? 1 : 0);
}

/** rest_client_requests_total{code,method}: every request to the API server, by outcome. */
export function registerRestClientMetric(
  registry: Registry,
): (method: string, code: number | 'error') => void {
  const counter = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code and method',
    labelNames: ['code', 'method'],
    registers: [registry],
  });
  return (method, code) => counter.inc({ method, code: String(code) });
}

/** Events dropped unsent (the sink was full) and Events the API server refused or never answered. */
export function registerEventMetrics(
  registry: Registry,
  prefix: string,
): { dropped(): void; failed(): void } {
  const dropped = new Counter({
    name: `${prefix}_events_dropped_total`,
    help: 'Events dropped unsent because too many were waiting (a slow or frozen connection)',
    registers: [registry],
  });
  const failed = new Counter({
    name: `${prefix}_events_failed_total`,
    help: 'Events whose request failed (refused, timed out, or aborted at shutdown)',
    registers: [registry],
  });
  dropped.inc(0);
  failed.inc(0);
  return { dropped: () => dropped.inc(), failed: () => failed.inc() };
}
