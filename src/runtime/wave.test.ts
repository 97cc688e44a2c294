import { describe, expect, it } from 'vitest';
import { Wave } from './wave.ts';

function harness(perSecond: number) {
  let now = 0;
  let due: { at: number; tick: () => void } | undefined;
  const handed: [number, string][] = [];
  const wave = new Wave({
    perSecond,
    enqueue: (key) => handed.push([now, key]),
    now: () => now,
    schedule(tick, ms) {
      due = { at: now + ms, tick };
      return { cancel: () => (due = undefined) };
    },
  });
  const run = (untilMs: number) => {
    while (due && due.at <= untilMs) {
      now = due.at;
      const { tick } = due;
      due = undefined;
      tick();
    }
    now = untilMs;
  };
  return { wave, handed, run };
}

describe('Wave', () => {
  it('hands keys over at the pace asked, each once however often it is added', () => {
    const { wave, handed, run } = harness(10);
    wave.add(Array.from({ length: 30 }, (_, i) => `ns-${i}`));
    wave.add(['ns-0', 'ns-29']); // already waiting or handed: merged
    expect(handed).toHaveLength(1);
    run(1000);
    expect(handed.length).toBeGreaterThanOrEqual(10);
    expect(handed.length).toBeLessThanOrEqual(11);
    run(3000);
    expect(handed.map(([, k]) => k)).toEqual([...Array.from({ length: 30 }, (_, i) => `ns-${i}`), 'ns-0']);
    expect(handed.at(-1)![0]).toBeLessThanOrEqual(3000);
    expect(wave.waiting).toBe(0);
  });

  it('stops when cleared', () => {
    const { wave, handed, run } = harness(1);
    wave.add(['a', 'b', 'c']);
    wave.clear();
    run(10_000);
    expect(handed.map(([, k]) => k)).toEqual(['a']);
  });
});
