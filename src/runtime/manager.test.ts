import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { KubeObject, ListWatch, StreamEvent } from './informer.ts';
import { type Controller, Manager } from './manager.ts';
import { eventually } from '../../harness/wait.ts';

/** A source with fixed objects and a watch that stays open until aborted. */
function source(names: string[]): ListWatch<KubeObject> {
  return {
    list: (keep) =>
      Promise.resolve({
        items: names.map((name) => keep({ metadata: { name, resourceVersion: '1' } })),
        resourceVersion: '1',
      }),
    watch: (_rv, signal) =>
      Promise.resolve(
        (async function* (): AsyncGenerator<StreamEvent<KubeObject>> {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          yield* [];
        })(),
      ),
  };
}

const options = {
  concurrency: 2,
  resyncPeriodMs: 600_000,
  drainTimeoutMs: 50,
  backoff: { baseMs: 5, maxMs: 1_000 },
  rateLimit: { qps: 100, burst: 100 },
  watch: { silenceTimeoutMs: 60_000, backoffBaseMs: 10, backoffMaxMs: 100, streamLists: true },
  metricsPrefix: 'test',
  connectionDead: () => undefined,
  probe: () => Promise.resolve(true),
  probeEveryMs: 1_000,
};

describe('Manager', () => {
  it('runs several controllers on one shared informer, each with its own queue and metrics', async () => {
    const lists: string[] = [];
    const seen: string[] = [];
    const controller = (name: string): Controller<string[]> => ({
      name,
      keyName: 'thing',
      setup({ informer, queue }) {
        const things = informer(
          'things',
          () => (lists.push(name), source(['a', 'b'])),
          (o) => o,
        );
        things.addHandlers({ add: (o) => queue.add(o.metadata.name) });
        return {
          reconciler: { reconcile: (key) => (seen.push(`${name}/${key}`), Promise.resolve(undefined)) },
          keys: () => things.list().map((o) => o.metadata.name),
        };
      },
    });
    const registry = new Registry();
    const m = new Manager(
      [controller('one'), controller('two')],
      [],
      options,
      pino({ level: 'silent' }),
      registry,
    );
    m.start();
    m.lead();
    await m.synced;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lists).toEqual(['one']); // the second asked for the same informer
    expect(seen.sort()).toEqual(['one/a', 'one/b', 'two/a', 'two/b']);
    const total = (await registry.getSingleMetric('controller_runtime_reconcile_total')!.get()).values;
    expect(
      total.filter((v) => v.labels.result === 'success').map((v) => [v.labels.controller, v.value]),
    ).toEqual([
      ['one', 2],
      ['two', 2],
    ]);
    expect(await m.stop()).toEqual({ drained: true });
  });

  it('on stop, drains for the timeout, then aborts what is still running and waits for it', async () => {
    const aborted: string[] = [];
    const stuck: Controller<null> = {
      name: 'stuck',
      keyName: 'thing',
      setup({ informer, queue }) {
        const things = informer(
          'things',
          () => source(['a']),
          (o) => o,
        );
        things.addHandlers({ add: (o) => queue.add(o.metadata.name) });
        return {
          reconciler: {
            reconcile: (key, signal) =>
              new Promise((_, reject) =>
                signal.addEventListener('abort', () => {
                  aborted.push(key);
                  reject(new Error('aborted'));
                }),
              ),
          },
          keys: () => [],
        };
      },
    };
    const m = new Manager([stuck], null, options, pino({ level: 'silent' }), new Registry());
    m.start();
    m.lead();
    await m.synced;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(m.idle()).toBe(false);
    expect(await m.stop()).toEqual({ drained: false });
    // Resolved only once the aborted reconcile has finished.
    expect(aborted).toEqual(['a']);
    expect(m.idle()).toBe(true);
  });

  it('says once when every key of the first pass has been reconciled, a failed one included', async () => {
    type Line = { msg: string; keys?: number; controller?: string };
    const lines: Line[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
    let attempts = 0;
    const flaky: Controller<null> = {
      name: 'flaky',
      keyName: 'thing',
      setup({ informer, queue }) {
        const things = informer(
          'things',
          () => source(['a', 'b', 'c']),
          (o) => o,
        );
        things.addHandlers({ add: (o) => queue.add(o.metadata.name) });
        return {
          reconciler: {
            // b fails once, then succeeds on its retry.
            reconcile: (key) =>
              key === 'b' && attempts++ === 0
                ? Promise.reject(new Error('refused'))
                : Promise.resolve(undefined),
          },
          keys: () => things.list().map((o) => o.metadata.name),
        };
      },
    };
    const m = new Manager([flaky], null, options, log, new Registry());
    m.start();
    m.lead();
    await m.synced;
    const done = () => lines.filter((l) => l.msg === 'every key reconciled once since leading');
    await eventually(() => attempts >= 2 && m.idle(), 'b retried and the queue idle', 5_000);
    expect(attempts).toBe(2);
    expect(done()).toMatchObject([{ controller: 'flaky', keys: 3 }]);
    expect(await m.stop()).toEqual({ drained: true });
  });
});
