import { describe, expect, it } from 'vitest';
import { Processor, type Outcome } from './processor.ts';
import { ExponentialBackoff } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Processor', () => {
  it('never runs more than `concurrency` reconciles, nor one key twice at once', async () => {
    const q = new WorkQueue(new ExponentialBackoff(1, 10));
    let running = 0;
    let most = 0;
    const active = new Set<string>();
    const processor = new Processor(
      q,
      {
        async reconcile(key) {
          expect(active.has(key)).toBe(false);
          active.add(key);
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 2));
          running--;
          active.delete(key);
          return undefined;
        },
      },
      3,
    );
    const done = processor.run();
    for (let round = 0; round < 5; round++) for (let i = 0; i < 20; i++) q.add(`k${i % 7}`);
    await q.shutDownWithDrain(5000);
    await done;
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
});
