// Runs a list of controllers, as controller-runtime's manager does: starts the informers they ask
// for (shared by resource), waits for the caches, and once leading, feeds each controller's queue
// to its workers, resyncs periodically, and on stop drains the queues and aborts what is left.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  Informer,
  type InformerHooks,
  type KubeObject,
  type ListWatch,
  SilentStream,
  type WatchOptions,
} from './informer.ts';
import { Recovery } from './recovery.ts';
import { registerControllerMetrics, registerInformerMetrics } from './metrics.ts';
import { Processor, type Reconciler } from './processor.ts';
import { ExponentialBackoff, MaxOf, TokenBucket } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

/** What a controller is given to set itself up with. */
export interface SetupContext<D> {
  /** The application's dependencies (clients, configuration, recorders): whatever the caller passed. */
  deps: D;
  /** This controller's queue: event handlers add keys to it. */
  queue: WorkQueue;
  /** An informer on `resource`, shared with every controller that asks for the same name. */
  informer: <T extends KubeObject>(
    resource: string,
    source: () => ListWatch<T>,
    transform: (obj: T) => T,
  ) => Informer<T>;
  log: Logger;
  registry: Registry;
}

/** A controller: its name, and a setup that returns its reconciler and the keys a resync visits. */
export interface Controller<D> {
  name: string;
  /** What its keys name, as the log field of a failed reconcile (e.g. `namespace`). */
  keyName: string;
  setup(ctx: SetupContext<D>): { reconciler: Reconciler; keys: () => Iterable<string> };
}

export interface ManagerOptions {
  concurrency: number;
  resyncPeriodMs: number;
  /** How long queued and running reconciles get on stop before what is left is aborted. */
  drainTimeoutMs: number;
  backoff: { baseMs: number; maxMs: number };
  rateLimit: { qps: number; burst: number };
  watch: WatchOptions;
  /** Prefix of the informer metrics (watch restarts, last list, last activity). */
  metricsPrefix: string;
  /** A watch fell silent: the connections to the API server are presumed dead. */
  connectionDead(): void;
  /** Whether the API server answers (its /readyz): probed while watches back off, see Recovery. */
  probe(signal: AbortSignal): Promise<boolean>;
  probeEveryMs: number;
}

interface Running {
  name: string;
  queue: WorkQueue;
  processor: Processor;
  keys: () => Iterable<string>;
  workers?: Promise<void>;
  /** The keys of the first pass after lead() not reconciled yet, and when it began. */
  firstPass?: { left: Set<string>; keys: number; started: number };
}

export class Manager<D> {
  readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Running[] = [];
  private readonly options: ManagerOptions;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly informerHooks: (resource: string) => InformerHooks;
  private readonly recovery: Recovery;
  private resync: NodeJS.Timeout | undefined;
  private leading = false;
  /** Resolves when every informer has synced. */
  readonly synced: Promise<void>;

  constructor(
    controllers: Controller<D>[],
    deps: D,
    options: ManagerOptions,
    log: Logger,
    registry: Registry,
  ) {
    this.options = options;
    this.log = log;
    this.recovery = new Recovery(this.informers, {
      probe: (signal) => options.probe(signal),
      everyMs: options.probeEveryMs,
      recovered: (woken) =>
        log.info(
          { resources: woken.map((w) => w.name), cutShortMs: woken.map((w) => w.cutShortMs) },
          'the API server answers again; watches restart now',
        ),
    });
    const informerMetrics = registerInformerMetrics(registry, options.metricsPrefix);
    this.informerHooks = (resource) => this.hooks(resource, informerMetrics(resource));
    const controllerMetrics = registerControllerMetrics(registry);
    for (const controller of controllers) {
      const clog = log.child({ controller: controller.name });
      const ref: { queue?: WorkQueue } = {};
      const metrics = controllerMetrics(controller.name, () => ref.queue!, options.concurrency);
      const queue = (ref.queue = new WorkQueue(
        new MaxOf(
          new ExponentialBackoff(options.backoff.baseMs, options.backoff.maxMs),
          new TokenBucket(options.rateLimit.qps, options.rateLimit.burst),
        ),
        metrics.queue,
      ));
      const { reconciler, keys } = controller.setup({
        deps,
        queue,
        informer: (resource, source, transform) => this.informer(resource, source, transform),
        log: clog,
        registry,
      });
      const processor = new Processor(queue, reconciler, options.concurrency, this.abort.signal, {
        reconciled(key, outcome, seconds, error) {
          metrics.processor.reconciled?.(key, outcome, seconds, error);
          const pass = running.firstPass;
          if (pass?.left.delete(key) && pass.left.size === 0) firstPassDone(running, clog);
          if (outcome === 'error')
            clog.error(
              { [controller.keyName]: key, err: error, retries: queue.retries(key) },
              'reconcile failed; retrying with backoff',
            );
        },
      });
      const running: Running = { name: controller.name, queue, processor, keys };
      this.controllers.push(running);
    }
    this.synced = Promise.all([...this.informers.values()].map((i) => i.waitForSync())).then(() => {
      const counts = Object.fromEntries([...this.informers].map(([r, i]) => [r, i.list().length]));
      log.info({ objects: counts }, 'caches synced');
    });
  }

  /** Starts the informers: caches fill (standbys too), workers wait for `lead()`. */
  start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  /** A controller's queue, by name. */
  queue(controller: string): WorkQueue | undefined {
    return this.controllers.find((c) => c.name === controller)?.queue;
  }

  /** Nothing queued or being reconciled, in any controller. */
  idle(): boolean {
    return this.controllers.every((c) => c.queue.length === 0 && c.queue.inFlight === 0);
  }

  /** Readiness: why not ready, or undefined once every cache has synced. */
  ready(): string | undefined {
    const pending = [...this.informers].filter(([, i]) => !i.hasSynced()).map(([r]) => r);
    return pending.length ? `caches not synced yet: ${pending.join(', ')}` : undefined;
  }

  /**
   * Starts reconciling once the caches have synced: at once without leader election, on election
   * with it (a standby's caches are already warm then).
   */
  lead(): void {
    if (this.leading) return;
    this.leading = true;
    // Workers start only on complete caches: a reconcile on a half-filled one would write what exists.
    void this.synced.then(() => {
      if (this.abort.signal.aborted) return;
      // Every key once: a new leader's first pass is complete whatever happened before.
      for (const c of this.controllers) {
        const left = new Set(c.keys());
        for (const key of left) c.queue.add(key);
        c.firstPass = { left, keys: left.size, started: performance.now() };
        if (left.size === 0) firstPassDone(c, this.log.child({ controller: c.name }));
        c.workers = c.processor.run();
      }
      this.resync = setInterval(() => this.enqueueAll(), this.options.resyncPeriodMs);
      this.resync.unref();
    });
  }

  /**
   * Stops watches, drains the queues for at most the drain timeout, then aborts the reconciles
   * still running (their requests fail at once) and waits for them. When this resolves, nothing
   * of ours is in flight: a lease can be released without the next leader overlapping our writes.
   */
  /** The API server answered a request (not with a 5xx): see Recovery.answered. */
  answered(): void {
    this.recovery.answered();
  }

  async stop(): Promise<{ drained: boolean }> {
    clearInterval(this.resync);
    await Promise.all([this.recovery.stop(), ...[...this.informers.values()].map((i) => i.stop())]);
    const drained = await Promise.all(
      this.controllers.map((c) => c.queue.shutDownWithDrain(this.options.drainTimeoutMs)),
    );
    const all = drained.every(Boolean);
    if (!all) {
      const inFlight = this.controllers.reduce((n, c) => n + c.queue.inFlight, 0);
      this.log.warn(
        { timeoutMs: this.options.drainTimeoutMs, inFlight },
        'queue not drained in time; aborting what is in flight',
      );
    }
    this.abort.abort(new Error('the controller is stopping'));
    await Promise.all(this.controllers.map((c) => c.workers ?? Promise.resolve()));
    return { drained: all };
  }

  private enqueueAll(): void {
    for (const c of this.controllers) for (const key of c.keys()) c.queue.add(key);
  }

  private informer<T extends KubeObject>(
    resource: string,
    source: () => ListWatch<T>,
    transform: (obj: T) => T,
  ): Informer<T> {
    const known = this.informers.get(resource);
    if (known) return known as unknown as Informer<T>;
    const informer = new Informer<T>(
      source(),
      { ...this.options.watch, transform },
      this.informerHooks(resource),
    );
    this.informers.set(resource, informer as unknown as Informer<KubeObject>);
    return informer;
  }

  private hooks(resource: string, metrics: InformerHooks): InformerHooks {
    return {
      restarted: (reason, error, delayMs) => {
        metrics.restarted?.(reason, error, delayMs);
        this.log.warn({ resource, reason, err: error, delayMs }, 'watch ended; restarting');
        // A watch gets a bookmark every minute: one silent for longer sat on a dead connection,
        // likely not the only one (a NAT or load balancer gone), and idle ones would hold the
        // next requests until they time out. Replace them all.
        if (error instanceof SilentStream) this.options.connectionDead();
        void this.recovery.backingOff();
      },
      listed: (count, how) => {
        metrics.listed?.(count, how);
        this.log.debug({ resource, count, how }, 'listed');
      },
      streamingUnavailable: (error) =>
        this.log.info({ resource, err: error }, 'the API server does not stream lists; listing in pages'),
      handlerFailed: (error) => this.log.error({ resource, err: error }, 'event handler failed'),
      progressed: () => metrics.progressed?.(),
    };
  }
}

/** Says once when every key of the first pass has been reconciled (failed ones included). */
function firstPassDone(c: Running, log: Logger): void {
  const { keys, started } = c.firstPass!;
  c.firstPass = undefined;
  log.info(
    { keys, seconds: Math.round(performance.now() - started) / 1000 },
    'every key reconciled once since leading',
  );
}
