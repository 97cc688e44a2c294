import { describe, expect, it } from 'vitest';
import { Processor, type Outcome } from './processor.ts';
import { ExponentialBackoff } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const running = new AbortController().signal;

describe('Processor', () => {
  it('never runs more than `concurrency` reconciles, nor one key twice at once', async () => {
    const q = new WorkQueue(new ExponentialBackoff(1, 10));
    let inFlight = 0;
    let most = 0;
    const active = new Set<string>();
    // Recorded here, asserted after the run: the processor catches what a reconcile throws.
    const overlaps: string[] = [];
    const processor = new Processor(
      q,
      {
        async reconcile(key) {
          if (active.has(key)) overlaps.push(key);
          active.add(key);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
          active.delete(key);
          return undefined;
        },
      },
      3,
      running,
    );
    const done = processor.run();
    for (let round = 0; round < 5; round++) for (let i = 0; i < 20; i++) q.add(`k${i % 7}`);
    await q.shutDownWithDrain(5000);
    await done;
    expect(overlaps).toEqual([]);
    expect(most).toBe(3);
  });

  it('forgets a key on success, re-adds it with backoff on error, requeues after a delay on request', async () => {
    const q = new WorkQueue(new ExponentialBackoff(1, 10));
    const outcomes: [string, Outcome][] = [];
    let failures = 2;
    const finished = deferred();
    const processor = new Processor(
      q,
      {
        reconcile(key) {
          if (key === 'flaky' && failures-- > 0) return Promise.reject(new Error('boom'));
          if (key === 'poll' && outcomes.filter(([k]) => k === 'poll').length === 0) {
            return Promise.resolve({ requeueAfter: 5 });
          }
          return Promise.resolve(undefined);
        },
      },
      2,
      running,
      {
        reconciled(key, outcome) {
          outcomes.push([key, outcome]);
          if (outcomes.length === 5) finished.resolve();
        },
      },
    );
    const done = processor.run();
    q.add('flaky');
    q.add('poll');
    await finished.promise;
    expect(outcomes.filter(([k]) => k === 'flaky').map(([, o]) => o)).toEqual(['error', 'error', 'success']);
    expect(outcomes.filter(([k]) => k === 'poll').map(([, o]) => o)).toEqual(['requeue_after', 'success']);
    expect(q.retries('flaky')).toBe(0);
    await q.shutDownWithDrain(1000);
    await done;
  });

  it('hands every reconcile the signal that aborts it', async () => {
    const q = new WorkQueue(new ExponentialBackoff(1, 10));
    const abort = new AbortController();
    const seen: boolean[] = [];
    const processor = new Processor(
      q,
      {
        async reconcile(_key, signal) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          seen.push(signal.aborted);
          throw signal.reason;
        },
      },
      2,
      abort.signal,
    );
    const done = processor.run();
    q.add('a');
    q.add('b');
    expect(await q.shutDownWithDrain(20)).toBe(false);
    abort.abort(new Error('stopping'));
    await done;
    expect(seen).toEqual([true, true]);
  });

  it('lets the event loop take a turn while reconciles that never wait run back to back', async () => {
    const q = new WorkQueue(new ExponentialBackoff(1, 10));
    let reconciled = 0;
    const processor = new Processor(
      q,
      {
        reconcile() {
          // About 0.1 ms of work and no I/O, as a warm restart's reconcile.
          for (const until = performance.now() + 0.1; performance.now() < until;);
          reconciled++;
          return Promise.resolve(undefined);
        },
      },
      4,
      running,
    );
    for (let i = 0; i < 2000; i++) q.add(`k${i}`);
    let atFirstTurn: number | undefined;
    setImmediate(() => (atFirstTurn = reconciled));
    const done = processor.run();
    await q.shutDownWithDrain(10_000);
    await done;
    expect(reconciled).toBe(2000);
    // Without the turns, the callback waits for the last of the 2,000.
    expect(atFirstTurn).toBeLessThan(2000);
  });
});
