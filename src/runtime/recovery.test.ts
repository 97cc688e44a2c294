import { describe, expect, it } from 'vitest';
import { Recovery, type Waiting } from './recovery.ts';

/** A watch backing off, with `leftMs` of its wait to go, that counts its wakes. */
function watch(backingOff = true, leftMs = 20_000) {
  const w = {
    backingOff,
    wakes: 0,
    wake() {
      if (!w.backingOff) return undefined;
      w.wakes++;
      w.backingOff = false;
      return leftMs;
    },
  };
  return w;
}

/** Answers of /readyz in turn, the last one repeated; counts the probes. */
function probes(answers: boolean[]) {
  const p = {
    count: 0,
    probe: () => Promise.resolve(answers[Math.min(p.count++, answers.length - 1)]!),
  };
  return p;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(check()).toBe(true);
}

describe('Recovery', () => {
  it('wakes every watch still backing off once the server answers after an outage, and says how much wait it cut', async () => {
    const [a, b, idle] = [watch(true, 20_000), watch(true, 7_000), watch(false)];
    const p = probes([false, false, true]);
    const recovered: { name: string; cutShortMs: number }[][] = [];
    const r = new Recovery(
      new Map<string, Waiting>([
        ['a', a],
        ['b', b],
        ['idle', idle],
      ]),
      {
        probe: p.probe,
        everyMs: 1,
        recovered: (woken) => recovered.push(woken),
      },
    );
    void r.backingOff();
    void r.backingOff(); // one loop however many watches back off
    await until(() => recovered.length === 1);
    expect(recovered[0]).toEqual([
      { name: 'a', cutShortMs: 20_000 },
      { name: 'b', cutShortMs: 7_000 },
    ]);
    expect([a.wakes, b.wakes, idle.wakes]).toEqual([1, 1, 0]);
    expect(p.count).toBe(3);
    await r.stop();
  });

  it('never wakes a watch that backs off while the server answers: a refusal keeps its backoff', async () => {
    const refused = watch();
    const p = probes([true]);
    const r = new Recovery(new Map([['refused', refused]]), {
      probe: p.probe,
      everyMs: 1,
      recovered: () => {},
    });
    const loop = r.backingOff();
    await until(() => p.count >= 20);
    expect(refused.wakes).toBe(0);
    refused.backingOff = false; // its own backoff ran out and the retry went through
    await loop; // and probing ends by itself
    expect(refused.wakes).toBe(0);
  });

  it('treats a probe that throws as the server being away', async () => {
    const w = watch();
    let calls = 0;
    const r = new Recovery(new Map([['w', w]]), {
      probe: () => (calls++ === 0 ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(true)),
      everyMs: 1,
      recovered: () => {},
    });
    void r.backingOff();
    await until(() => w.wakes === 1);
    await r.stop();
  });

  it('wakes the watches when another request is answered after a failed probe, without waiting for the next probe', async () => {
    const a = watch(true, 20_000);
    const p = probes([false]);
    const recovered: { name: string; cutShortMs: number }[][] = [];
    const r = new Recovery(new Map<string, Waiting>([['a', a]]), {
      probe: p.probe,
      everyMs: 1,
      recovered: (woken) => recovered.push(woken),
    });
    r.answered(); // no outage seen yet: an answer means nothing
    expect(a.wakes).toBe(0);
    void r.backingOff();
    await until(() => p.count >= 1);
    r.answered();
    expect(a.wakes).toBe(1);
    expect(recovered).toEqual([[{ name: 'a', cutShortMs: 20_000 }]]);
    await r.stop();
  });
});
