// Wires the runtime (informers, queue, workers) to the namespace controller and runs it.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { listWatch, NAMESPACES, type NamespaceObject, NETWORK_POLICIES } from '../kube/resources.ts';
import { MANAGED_BY_VALUE, MANAGED_SELECTOR } from '../policy/labels.ts';
import { Informer, type InformerOptions } from '../runtime/informer.ts';
import { Processor } from '../runtime/processor.ts';
import { ExponentialBackoff, MaxOf, TokenBucket } from '../runtime/ratelimit.ts';
import { WorkQueue } from '../runtime/workqueue.ts';
import {
  CONTROLLER_NAME,
  type ControllerSettings,
  NamespaceController,
  type ObservedPolicy,
} from './namespace-controller.ts';

export interface RunSettings extends ControllerSettings {
  concurrency: number;
  resyncPeriodMs: number;
  backoff: { baseMs: number; maxMs: number };
  rateLimit: { qps: number; burst: number };
  informer?: Partial<InformerOptions>;
  drainTimeoutMs: number;
}

export interface RunningController {
  namespaces: Informer<NamespaceObject>;
  policies: Informer<ObservedPolicy>;
  queue: WorkQueue;
  /** Resolves when both caches have synced. */
  synced: Promise<void>;
  /** Stops watches, drains the queue (bounded), waits for workers. */
  stop(): Promise<void>;
}

export function runController(client: KubeClient, settings: RunSettings, log: Logger): RunningController {
  const clog = log.child({ controller: CONTROLLER_NAME });
  const informerHooks = (resource: string) => ({
    restarted: (reason: string, error: unknown, delayMs: number) =>
      clog.warn({ resource, reason, err: error, delayMs }, 'watch ended; restarting'),
    listed: (count: number) => clog.debug({ resource, count }, 'listed'),
    handlerFailed: (error: unknown) => clog.error({ resource, err: error }, 'event handler failed'),
  });
  const namespaces = new Informer<NamespaceObject>(
    listWatch(client, NAMESPACES),
    settings.informer,
    informerHooks('namespaces'),
  );
  const policies = new Informer<ObservedPolicy>(
    listWatch(client, NETWORK_POLICIES, MANAGED_SELECTOR),
    settings.informer,
    informerHooks('networkpolicies'),
  );
  const queue = new WorkQueue(
    new MaxOf(
      new ExponentialBackoff(settings.backoff.baseMs, settings.backoff.maxMs),
      new TokenBucket(settings.rateLimit.qps, settings.rateLimit.burst),
    ),
  );
  const events = new EventRecorder(client, {
    controller: MANAGED_BY_VALUE,
    instance: hostname(),
    dryRun: settings.dryRun,
    onError: (err) => clog.warn({ err }, 'could not record an Event'),
  });
  const controller = new NamespaceController({
    client,
    namespaces,
    policies,
    events,
    log: clog,
    settings,
  });
  controller.watch(queue);
  const processor = new Processor(queue, controller, settings.concurrency, {
    reconciled(key, outcome, _seconds, error) {
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
  const synced = Promise.all([namespaces.waitForSync(), policies.waitForSync()]).then(() => undefined);
  // Workers start only once both caches are complete: a reconcile on a half-filled policy cache
  // would write policies that already exist.
  let workers: Promise<void> | undefined;
  let resync: NodeJS.Timeout | undefined;
  void synced.then(() => {
    if (queue.isShuttingDown) return;
    clog.info({ namespaces: namespaces.list().length, policies: policies.list().length }, 'caches synced');
    workers = processor.run();
    resync = setInterval(() => {
      for (const ns of namespaces.list()) queue.add(ns.metadata.name);
    }, settings.resyncPeriodMs);
    resync.unref();
  });

  return {
    namespaces,
    policies,
    queue,
    synced,
    async stop() {
      clearInterval(resync);
      await Promise.all([namespaces.stop(), policies.stop()]);
      const drained = await queue.shutDownWithDrain(settings.drainTimeoutMs);
      if (!drained) clog.warn({ timeoutMs: settings.drainTimeoutMs }, 'queue not drained in time');
      else await workers;
    },
  };
}
