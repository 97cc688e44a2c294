import { describe, expect, it } from 'vitest';
import { Sink } from './sink.ts';

function recording(send: (item: number, signal: AbortSignal) => Promise<void>) {
  const dropped: number[] = [];
  const failed: number[] = [];
  const sink = new Sink<number>({
    capacity: 3,
    send,
    dropped: (i) => dropped.push(i),
    failed: (i) => failed.push(i),
  });
  return { sink, dropped, failed };
}

/** A send that never finishes until aborted, as over a frozen connection. */
const frozen = (sent: number[]) => (item: number, signal: AbortSignal) => {
  sent.push(item);
  return new Promise<void>((_, reject) =>
    signal.addEventListener('abort', () => reject(new Error('aborted'))),
  );
};

describe('Sink', () => {
  it('sends items in order, one at a time, and counts failures', async () => {
    const sent: number[] = [];
    let concurrent = 0;
    const { sink, failed } = recording(async (i) => {
      if (++concurrent > 1) throw new Error('two at once');
      await new Promise((r) => setTimeout(r, 1));
      concurrent--;
      if (i === 2) throw new Error('refused');
      sent.push(i);
    });
    for (const i of [1, 2, 3]) sink.post(i);
    expect(await sink.close(1000)).toBe(true);
    expect(sent).toEqual([1, 3]);
    expect(failed).toEqual([2]);
  });

  it('never makes the poster wait, and drops the oldest when the sender is stuck', async () => {
    const sent: number[] = [];
    const { sink, dropped, failed } = recording(frozen(sent));
    for (let i = 1; i <= 10; i++) sink.post(i); // returns at once each time
    expect(sent).toEqual([1]); // stuck on the first
    expect(sink.length).toBe(3);
    expect(dropped).toEqual([2, 3, 4, 5, 6, 7]);
    expect(await sink.close(10)).toBe(false);
    expect(failed).toEqual([1]); // aborted by close
    expect(sent).toEqual([1]);
    sink.post(11);
    expect(sink.length).toBe(0);
  });
});
