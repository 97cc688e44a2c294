// Wires the runtime (informers, queue, workers) to the namespace controller and runs it.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import {
  listWatch,
  NAMESPACES,
  namespaceView,
  type NamespaceObject,
  NETWORK_POLICIES,
  type ObservedPolicy,
  slimNamespace,
  slimPolicy,
} from '../kube/resources.ts';
import { MANAGED_BY_VALUE, MANAGED_SELECTOR } from '../policy/labels.ts';
import { Registry } from 'prom-client';
import { select } from '../policy/desired.ts';
import { Informer, type InformerHooks, type InformerOptions, SilentStream } from '../runtime/informer.ts';
import { registerControllerMetrics, registerInformerMetrics } from '../runtime/metrics.ts';
import { Processor } from '../runtime/processor.ts';
import { ExponentialBackoff, MaxOf, TokenBucket } from '../runtime/ratelimit.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import { CONTROLLER_NAME, type ControllerSettings, NamespaceController } from './namespace-controller.ts';
import { METRICS_PREFIX, registerPolicyMetrics } from './metrics.ts';

export interface RunSettings extends ControllerSettings {
  concurrency: number;
  resyncPeriodMs: number;
  backoff: { baseMs: number; maxMs: number };
  rateLimit: { qps: number; burst: number };
  informer?: Partial<Omit<InformerOptions, 'transform'>>;
  drainTimeoutMs: number;
}

export interface RunningController {
  namespaces: Informer<NamespaceObject>;
  policies: Informer<ObservedPolicy>;
  queue: WorkQueue;
  /** Resolves when both caches have synced. */
  synced: Promise<void>;
  /** Readiness: why not ready, or undefined once both caches have synced. */
  ready(): string | undefined;
  /**
   * Starts reconciling once the caches have synced. Without leader election at once; with it,
   * when this replica is elected (its caches are already warm then).
   */
  lead(): void;
  /** Stops watches, drains the queue (bounded), waits for workers. */
  stop(): Promise<void>;
}

/** Informers start at once, workers on `lead()`; metrics go to `registry`. */
export function runController(
  client: KubeClient,
  settings: RunSettings,
  log: Logger,
  registry: Registry = new Registry(),
): RunningController {
  const clog = log.child({ controller: CONTROLLER_NAME });
  const resources = ['namespaces', 'networkpolicies'];
  const informerMetrics = registerInformerMetrics(registry, METRICS_PREFIX, resources);
  const informerHooks = (resource: string): InformerHooks => {
    const metrics = informerMetrics(resource);
    return {
      restarted(reason, error, delayMs) {
        metrics.restarted?.(reason, error, delayMs);
        clog.warn({ resource, reason, err: error, delayMs }, 'watch ended; restarting');
        // No answer to a watch request means a dead connection, likely shared by every request
        // (HTTP/2): replace it. (A merely quiet stream is only restarted.)
        if (error instanceof SilentStream && !error.connected) client.resetConnections();
      },
      listed(count) {
        metrics.listed?.(count);
        clog.debug({ resource, count }, 'listed');
      },
      handlerFailed: (error) => clog.error({ resource, err: error }, 'event handler failed'),
      progressed: () => metrics.progressed?.(),
    };
  };
  const namespaces = new Informer<NamespaceObject>(
    listWatch(client, NAMESPACES),
    { ...settings.informer, transform: slimNamespace },
    informerHooks('namespaces'),
  );
  const policies = new Informer<ObservedPolicy>(
    listWatch(client, NETWORK_POLICIES, MANAGED_SELECTOR),
    { ...settings.informer, transform: slimPolicy },
    informerHooks('networkpolicies'),
  );
  const runtimeMetrics = registerControllerMetrics(
    registry,
    CONTROLLER_NAME,
    () => queue,
    settings.concurrency,
  );
  const queue = new WorkQueue(
    new MaxOf(
      new ExponentialBackoff(settings.backoff.baseMs, settings.backoff.maxMs),
      new TokenBucket(settings.rateLimit.qps, settings.rateLimit.burst),
    ),
    runtimeMetrics.queue,
  );
  const events = new EventRecorder(client, {
    controller: MANAGED_BY_VALUE,
    instance: hostname(),
    onError: (err) => clog.warn({ err }, 'could not record an Event'),
  });
  const metrics = registerPolicyMetrics(registry, settings.policy, settings.dryRun, () => {
    const counts = new Map<string, number>();
    for (const ns of namespaces.list()) {
      // At every scrape: the profile only, not the policies (building them is 15,000 clones at 5,000).
      const selection = select(namespaceView(ns), settings.policy);
      if (selection.kind === 'manage')
        counts.set(selection.profile, (counts.get(selection.profile) ?? 0) + 1);
    }
    return counts;
  });
  const controller = new NamespaceController({
    client,
    namespaces,
    policies,
    events,
    log: clog,
    settings,
    metrics,
  });
  controller.watch(queue);
  const processor = new Processor(queue, controller, settings.concurrency, {
    reconciled(key, outcome, seconds, error) {
      runtimeMetrics.processor.reconciled?.(key, outcome, seconds, error);
      if (outcome === 'error') {
        clog.error(
          { namespace: key, err: error, retries: queue.retries(key) },
          'reconcile failed; retrying with backoff',
        );
      }
    },
  });

  namespaces.start();
  policies.start();
  const synced = Promise.all([namespaces.waitForSync(), policies.waitForSync()]).then(() => {
    clog.info({ namespaces: namespaces.list().length, policies: policies.list().length }, 'caches synced');
  });
  let workers: Promise<void> | undefined;
  let resync: NodeJS.Timeout | undefined;
  let leading = false;

  return {
    namespaces,
    policies,
    queue,
    synced,
    ready() {
      const pending = resources.filter((_, i) => ![namespaces, policies][i]?.hasSynced());
      return pending.length ? `caches not synced yet: ${pending.join(', ')}` : undefined;
    },
    lead() {
      if (leading) return;
      leading = true;
      // Workers start only once both caches are complete: a reconcile on a half-filled policy
      // cache would write policies that already exist.
      void synced.then(() => {
        if (queue.isShuttingDown) return;
        // Every namespace once: events seen while standing by were queued, but a queue is cheap
        // to refill and this makes a new leader's first pass complete whatever happened before.
        for (const ns of namespaces.list()) queue.add(ns.metadata.name);
        workers = processor.run();
        resync = setInterval(() => {
          for (const ns of namespaces.list()) queue.add(ns.metadata.name);
        }, settings.resyncPeriodMs);
        resync.unref();
      });
    },
    async stop() {
      clearInterval(resync);
      await Promise.all([namespaces.stop(), policies.stop()]);
      const drained = await queue.shutDownWithDrain(settings.drainTimeoutMs);
      if (!drained) clog.warn({ timeoutMs: settings.drainTimeoutMs }, 'queue not drained in time');
      else await workers;
    },
  };
}
