import { describe, expect, it } from 'vitest';
import { RepairLedger } from './ledger.ts';

const fight = { windowMs: 60_000, freeRepairs: 2, baseDelayMs: 1_000, maxDelayMs: 8_000 };

function ledger(dryRun = false) {
  const clock = { t: 0 };
  const l = new RepairLedger({ fight, expectationTtlMs: 60_000, dryRun }, () => clock.t);
  return { l, at: (ms: number) => (clock.t = ms) };
}

describe('RepairLedger', () => {
  it("creates a namespace's first policies: no repair counted, no fight", () => {
    const { l } = ledger();
    const round = l.begin('ns');
    expect(round.decide('apply', 'a', true)).toEqual({ write: true, as: 'create' });
    expect(round.wrote('a', 'create')).toEqual({});
    expect(round.end()).toBeUndefined();
  });

  it('repairs a drift in a namespace that has policies, timed from when the drift was seen', () => {
    const { l, at } = ledger();
    at(100);
    l.changed('ns', 'a');
    at(130);
    l.changed('ns', 'a'); // the earliest unrepaired change counts
    at(150);
    const round = l.begin('ns');
    expect(round.decide('apply', 'a', false)).toEqual({ write: true, as: 'repair' });
    expect(round.wrote('a', 'repair')).toEqual({ repair: { sinceChangeMs: 50 } });
  });

  it('carries out a rollout as updates: no repair counted, no fight, once; a failed round hands it to the next', () => {
    const { l } = ledger();
    l.rolledOut('ns', { before: 'v1', cause: 'the configuration file changed' });
    l.rolledOut('ns', { before: 'v2', cause: 'the configuration file changed' }); // v1 is what the cluster holds
    const round = l.begin('ns');
    expect(round.rollout).toEqual({ before: 'v1', cause: 'the configuration file changed' });
    expect(round.decide('update', 'a', false)).toEqual({ write: true, as: 'update' });
    expect(round.wrote('a', 'update')).toEqual({});
    round.failed('b');
    round.end();
    const again = l.begin('ns');
    expect(again.rollout?.before).toBe('v1');
    l.observed('ns', 'a');
    expect(again.decide('update', 'b', false)).toEqual({ write: true, as: 'update' });
    again.wrote('b', 'update');
    again.end();
    expect(l.begin('ns').rollout).toBeUndefined();
  });

  it('leaves a policy alone while its last write is not in the cache, until its event comes', () => {
    const { l } = ledger();
    const first = l.begin('ns');
    expect(first.decide('apply', 'a', true)).toEqual({ write: true, as: 'create' });
    first.wrote('a', 'create');
    first.end();
    const again = l.begin('ns'); // the cache still lacks it
    expect(again.decide('apply', 'a', true)).toEqual({ write: false, waitMs: 60_000, reason: 'unseen' });
    expect(again.end()).toBe(60_000);
    l.observed('ns', 'a');
    expect(l.begin('ns').decide('apply', 'a', true)).toMatchObject({ write: true });
  });

  it('never writes from a cache read taken before an event that cleared the expectation', () => {
    // The interleaving: a round begins while our write of b is unseen; the reconcile awaits its
    // write of a; meanwhile b's event arrives and clears the expectation; the round then reaches b.
    const { l } = ledger();
    const earlier = l.begin('ns');
    earlier.decide('apply', 'b', true);
    earlier.wrote('b', 'create');
    const round = l.begin('ns'); // before the cache read
    expect(round.decide('apply', 'a', true)).toMatchObject({ write: true });
    l.observed('ns', 'b'); // b's event, during the await of a's write
    expect(round.decide('apply', 'b', true)).toMatchObject({ write: false, reason: 'unseen' });
    // The event queued the namespace again: the next round, on a fresh cache read, may write it.
    expect(l.begin('ns').decide('apply', 'b', false)).toMatchObject({ write: true });
  });

  /** Another writer undoes `policy` every 200 ms for 20 s; each undo brings a round. */
  function undoneEvery200ms(kind: 'apply' | 'release'): string[] {
    const { l, at } = ledger();
    const writes: string[] = [];
    for (let ms = 0; ms <= 20_000; ms += 200) {
      at(ms);
      if (kind === 'apply') l.changed('ns', 'a'); // a release's undo (re-labelled) comes as an add
      l.observed('ns', 'a');
      const round = l.begin('ns');
      const verdict = round.decide(kind, 'a', false);
      if (verdict.declared) writes.push(`${ms} fight: waits ${verdict.declared.waitMs}`);
      if (verdict.write) round.wrote('a', verdict.as);
      if (verdict.write) writes.push(`${ms}`);
    }
    return writes;
  }

  it('backs off repairs another writer keeps undoing, and declares the fight once, at the first undo it waits for', () => {
    expect(undoneEvery200ms('apply')).toEqual([
      '0',
      '200',
      '400 fight: waits 1000',
      '1200',
      '3200',
      '7200',
      '15200',
    ]);
  });

  it('backs off releases another writer keeps undoing exactly as repairs', () => {
    expect(undoneEvery200ms('release')).toEqual(undoneEvery200ms('apply'));
  });

  it('keeps a drift timed from when it was seen while its repair waits', () => {
    const { l, at } = ledger();
    for (const ms of [0, 10]) {
      at(ms);
      const round = l.begin('ns');
      round.decide('apply', 'a', false);
      round.wrote('a', 'repair');
      l.observed('ns', 'a');
    }
    at(500);
    l.changed('ns', 'a');
    const waiting = l.begin('ns');
    expect(waiting.decide('apply', 'a', false)).toEqual({
      write: false,
      waitMs: 510,
      reason: 'fight',
      declared: { writes: 2, waitMs: 1_000, maxWaitMs: 8_000 },
    });
    expect(waiting.end()).toBe(510);
    at(1_010);
    const round = l.begin('ns');
    expect(round.decide('apply', 'a', false)).toEqual({ write: true, as: 'repair' });
    expect(round.wrote('a', 'repair').repair).toEqual({ sinceChangeMs: 510 });
  });

  it('creates, not repairs, what a failed first attempt left out, and releases at once', () => {
    const { l } = ledger();
    const first = l.begin('ns');
    first.decide('apply', 'a', true);
    first.wrote('a', 'create');
    first.decide('apply', 'b', true);
    first.failed('b');
    first.end();
    l.observed('ns', 'a');
    // The retry sees a in the cache, yet b is still part of the namespace's creation.
    const retry = l.begin('ns');
    expect(retry.decide('apply', 'b', false)).toEqual({ write: true, as: 'create' });
    retry.wrote('b', 'create');
    retry.end();
    l.observed('ns', 'b');
    l.changed('ns', 'b');
    expect(l.begin('ns').decide('apply', 'b', false)).toEqual({ write: true, as: 'repair' });
    expect(l.begin('ns').decide('release', 'c', false)).toEqual({ write: true, as: 'release' });
  });

  it('lets a failed write be retried at once, timed from its drift', () => {
    const { l, at } = ledger();
    l.changed('ns', 'a');
    at(40);
    const round = l.begin('ns');
    round.decide('apply', 'a', false);
    round.failed('a');
    at(90);
    const retry = l.begin('ns');
    expect(retry.decide('apply', 'a', false)).toEqual({ write: true, as: 'repair' });
    expect(retry.wrote('a', 'repair').repair).toEqual({ sinceChangeMs: 90 });
  });

  it('under dry-run expects no event back and counts no repair or fight', () => {
    const { l } = ledger(true);
    for (let i = 0; i < 5; i++) {
      const round = l.begin('ns');
      expect(round.decide('apply', 'a', false)).toEqual({ write: true, as: 'repair' });
      expect(round.wrote('a', 'repair')).toEqual({});
    }
  });

  it('forgets a namespace that is gone', () => {
    const { l } = ledger();
    const round = l.begin('ns');
    round.decide('apply', 'a', true);
    l.changed('ns', 'b');
    l.forget('ns');
    const fresh = l.begin('ns');
    expect(fresh.decide('apply', 'a', true)).toEqual({ write: true, as: 'create' });
    expect(fresh.decide('apply', 'b', true)).toEqual({ write: true, as: 'create' });
  });
});
