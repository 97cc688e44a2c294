// Runs a reconciler over a work queue with p-queue as the worker pool, the way controller-runtime's
// processNextWorkItem does: get, reconcile, forget on success, rate-limited re-add on error, done.
import PQueue from 'p-queue';
import type { WorkQueue } from './workqueue.ts';

/** What happens next with a key: nothing, or look again after `requeueAfter` ms. */
export type ReconcileResult = { requeueAfter?: number } | undefined;

export interface Reconciler {
  /** `signal` aborts when the controller stops and cannot wait any longer: pass it to every request. */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
}

export type Outcome = 'success' | 'error' | 'requeue_after';

/**
 * Reconciles that never wait on I/O (a warm restart's first pass: caches in sync, nothing to
 * write) resolve as microtasks one after the other, and would hold the event loop until the
 * queue is empty: probes, /metrics and watch events wait (167 ms at 1,000 namespaces, seconds at
 * 10,000). The loop gets a turn at least this often.
 */
const YIELD_EVERY_MS = 5;

export interface ProcessorHooks {
  /** After each reconcile, with its outcome and duration in seconds. */
  reconciled?(key: string, outcome: Outcome, seconds: number, error?: unknown): void;
}

export class Processor {
  private readonly pool: PQueue;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly hooks: ProcessorHooks;
  private readonly signal: AbortSignal;
  readonly concurrency: number;
  private turn = performance.now();

  constructor(
    queue: WorkQueue,
    reconciler: Reconciler,
    concurrency: number,
    signal: AbortSignal,
    hooks: ProcessorHooks = {},
  ) {
    this.queue = queue;
    this.reconciler = reconciler;
    this.concurrency = concurrency;
    this.signal = signal;
    this.hooks = hooks;
    this.pool = new PQueue({ concurrency });
  }

  /** Hands keys to workers until the queue is shut down and empty, then waits for them. */
  async run(): Promise<void> {
    for (;;) {
      if (this.pool.pending + this.pool.size >= this.concurrency) {
        await new Promise((resolve) => this.pool.addEventListener('next', resolve, { once: true }));
        continue;
      }
      if (performance.now() - this.turn >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        this.turn = performance.now();
      }
      const key = await this.queue.get();
      if (key === undefined) break;
      void this.pool.add(() => this.process(key));
    }
    await this.pool.onIdle();
  }

  private async process(key: string): Promise<void> {
    const started = performance.now();
    let outcome: Outcome = 'success';
    let error: unknown;
    try {
      const result = await this.reconciler.reconcile(key, this.signal);
      this.queue.forget(key);
      if (result?.requeueAfter !== undefined) {
        outcome = 'requeue_after';
        this.queue.addAfter(key, result.requeueAfter);
      }
    } catch (err) {
      outcome = 'error';
      error = err;
      this.queue.addRateLimited(key);
    } finally {
      this.queue.done(key);
      this.hooks.reconciled?.(key, outcome, (performance.now() - started) / 1000, error);
    }
  }
}
