import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExponentialBackoff, MaxOf, TokenBucket } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const fresh = () => new WorkQueue(new ExponentialBackoff(5, 1000));

/** Whether a get() resolves without more time passing. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => (state = { done: true, value }));
  await vi.advanceTimersByTimeAsync(0);
  return state;
}

describe('WorkQueue', () => {
  it('hands out keys in the order they were first added, each once', async () => {
    const q = fresh();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.length).toBe(0);
  });

  it('never gives a key to a second worker while the first holds it', async () => {
    const q = fresh();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    expect((await settled(q.get())).done).toBe(false);
  });

  it('runs a key re-added while processing once more after done, however often it was added', async () => {
    const q = fresh();
    q.add('a');
    await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    const next = q.get();
    q.done('a');
    expect(await next).toBe('a');
    q.done('a');
    expect((await settled(q.get())).done).toBe(false);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = fresh();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
  });

  it('delays addAfter until the time has passed and keeps the earliest of two delays', async () => {
    const q = fresh();
    q.addAfter('a', 100);
    q.addAfter('a', 500);
    q.addAfter('b', 300);
    q.addAfter('b', 50);
    await vi.advanceTimersByTimeAsync(49);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await q.get()).toBe('b');
    await vi.advanceTimersByTimeAsync(50);
    expect(await q.get()).toBe('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(q.length).toBe(0);
  });

  it('backs a failing key off exponentially and starts again after forget', async () => {
    const q = fresh();
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = Date.now();
      q.addRateLimited('a');
      while (q.length === 0) await vi.advanceTimersByTimeAsync(1);
      delays.push(Date.now() - before);
      q.done((await q.get())!);
    }
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(q.retries('a')).toBe(10);
    q.forget('a');
    expect(q.retries('a')).toBe(0);
    q.addRateLimited('a');
    await vi.advanceTimersByTimeAsync(5);
    expect(q.length).toBe(1);
  });

  it('keeps backoff per key: one failing key does not slow another', () => {
    const limiter = new ExponentialBackoff(5, 1000);
    for (let i = 0; i < 5; i++) limiter.when('bad');
    expect(limiter.when('bad')).toBe(160);
    expect(limiter.when('good')).toBe(5);
  });

  it('after shutdown refuses new keys, drops delayed ones and releases idle workers', async () => {
    const q = fresh();
    const waiting = q.get();
    q.addAfter('later', 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('new');
    await vi.advanceTimersByTimeAsync(100);
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('still hands out keys queued before shutdown, then undefined', async () => {
    const q = fresh();
    q.add('a');
    q.add('b');
    q.shutDown();
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', undefined]);
  });

  it('drains: waits for keys being processed to be done', async () => {
    const q = fresh();
    q.add('a');
    await q.get();
    const drained = q.shutDownWithDrain(1000);
    expect((await settled(drained)).done).toBe(false);
    q.done('a');
    expect(await drained).toBe(true);
  });

  it('gives up draining after the timeout', async () => {
    const q = fresh();
    q.add('stuck');
    await q.get();
    const drained = q.shutDownWithDrain(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await drained).toBe(false);
  });

  it('reports adds, time queued, work time and unfinished work', async () => {
    const seen = {
      added: 0,
      queued: [] as number[],
      worked: [] as number[],
      retried: 0,
    };
    const q = new WorkQueue(new ExponentialBackoff(5, 1000), {
      added: () => seen.added++,
      queued: (s) => seen.queued.push(s),
      worked: (s) => seen.worked.push(s),
      retried: () => seen.retried++,
    });
    q.add('a');
    q.add('a');
    await vi.advanceTimersByTimeAsync(2000);
    expect(q.length).toBe(1);
    await q.get();
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(q.unfinished()).toEqual({ total: 3, longest: 3 });
    q.done('a');
    q.addRateLimited('a');
    expect(seen).toEqual({ added: 1, queued: [2], worked: [3], retried: 1 });
  });
});

describe('rate limiters', () => {
  it('token bucket lets a burst through, then spaces keys at its rate', () => {
    const bucket = new TokenBucket(10, 3);
    expect([bucket.when(), bucket.when(), bucket.when()]).toEqual([0, 0, 0]);
    expect(bucket.when()).toBe(100);
    expect(bucket.when()).toBe(200);
    vi.advanceTimersByTime(1000);
    expect(bucket.when()).toBe(0);
  });

  it('MaxOf takes the longer of per-key backoff and the overall limit', () => {
    const limiter = new MaxOf(new ExponentialBackoff(5, 1000), new TokenBucket(1, 1));
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('b')).toBe(1000);
    expect(limiter.retries('a')).toBe(1);
    limiter.forget('a');
    expect(limiter.retries('a')).toBe(0);
  });
});
