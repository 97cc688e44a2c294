import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  INITIAL_EVENTS_END,
  Informer,
  type InformerOptions,
  type ListWatch,
  type StreamEvent,
  StreamingUnavailable,
} from './informer.ts';

interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion: string;
    managedFields?: unknown;
    annotations?: Record<string, string>;
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

const obj = (name: string, rv: string): Obj => ({
  metadata: { name, resourceVersion: rv, managedFields: [{}] },
});

/** A scripted source: each watch() call plays the next script; a script may hang until aborted. */
function source(items: Obj[], scripts: ((signal: AbortSignal) => AsyncIterable<StreamEvent<Obj>>)[]) {
  const calls = { list: 0, watch: [] as string[] };
  const lw: ListWatch<Obj> = {
    list(keep) {
      calls.list++;
      return Promise.resolve({ items: items.map(keep), resourceVersion: '10' });
    },
    watch(rv, signal) {
      calls.watch.push(rv);
      const script = scripts.shift() ?? hang;
      return Promise.resolve(script(signal));
    },
  };
  return { lw, calls };
}

/** One turn of the event loop, as a network read would take. */
const tick = () => Promise.resolve();

async function* hang(signal: AbortSignal): AsyncIterable<StreamEvent<Obj>> {
  await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  yield* [];
}

/** Options as the manager passes them, with fast retries. */
const options = (o: Partial<InformerOptions<Obj>> = {}): InformerOptions<Obj> => ({
  silenceTimeoutMs: 90_000,
  streamLists: true,
  backoffBaseMs: 10,
  backoffMaxMs: 10,
  transform: (x) => x,
  ...o,
});

describe('Informer', () => {
  it('stops at once when stopped during its first list, without starting a watch', async () => {
    let listed!: (l: { items: Obj[]; resourceVersion: string }) => void;
    const watches: string[] = [];
    const inf = new Informer<Obj>(
      {
        list: () => new Promise((resolve) => (listed = resolve)),
        watch(rv) {
          watches.push(rv);
          return Promise.resolve(hang(new AbortController().signal));
        },
      },
      options(),
    );
    inf.start();
    let stopped = false;
    void inf.stop().then(() => (stopped = true));
    listed({ items: [], resourceVersion: '1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(true);
    expect(watches).toEqual([]);
  });

  it('lists, syncs, keeps what its transform keeps, then follows the watch', async () => {
    const { lw } = source(
      [obj('a', '5')],
      [
        async function* () {
          yield { type: 'ADDED', object: obj('b', '11') };
          yield* hang(new AbortController().signal);
        },
      ],
    );
    const inf = new Informer(
      lw,
      options({
        transform: ({ metadata: { name, resourceVersion } }) => ({ metadata: { name, resourceVersion } }),
      }),
    );
    const added: string[] = [];
    inf.addHandlers({ add: (o) => added.push(o.metadata.name) });
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(added).toEqual(['a', 'b']);
    expect(inf.get('a')?.metadata.managedFields).toBeUndefined();
    expect(inf.get('b')?.metadata.managedFields).toBeUndefined();
    void inf.stop();
  });

  it('aborts a watch that stays silent past the watchdog interval and watches again from its last event', async () => {
    const { lw, calls } = source(
      [obj('a', '5')],
      [
        async function* (signal) {
          yield { type: 'DELETED', object: obj('a', '11') };
          yield* hang(signal);
        },
        hang,
      ],
    );
    const restarts: string[] = [];
    const inf = new Informer(lw, options({ silenceTimeoutMs: 1000 }), {
      restarted: (reason) => restarts.push(reason),
    });
    inf.start();
    await inf.waitForSync();
    await vi.advanceTimersByTimeAsync(999);
    expect(calls.watch).toEqual(['10']);
    await vi.advanceTimersByTimeAsync(1 + 10);
    expect(restarts).toEqual(['silent']);
    // Not from where the aborted watch began: that would replay the deletion as if it were new.
    expect(calls.watch).toEqual(['10', '11']);
    expect(calls.list).toBe(1);
    void inf.stop();
  });

  it('re-lists at once on 410 Gone and tells handlers about objects deleted meanwhile', async () => {
    const items = [obj('a', '5'), obj('b', '6')];
    const { lw, calls } = source(items, [
      async function* () {
        await tick();
        yield { type: 'ERROR', object: { code: 410, message: 'too old' } };
      },
    ]);
    const inf = new Informer(lw, options());
    const deleted: string[] = [];
    inf.addHandlers({ delete: (o) => deleted.push(o.metadata.name) });
    inf.start();
    await inf.waitForSync();
    items.splice(1); // b is deleted while the watch is gone
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.list).toBe(2);
    expect(deleted).toEqual(['b']);
    void inf.stop();
  });

  it('restarts after any error with growing, jittered backoff, and keeps going when a handler throws', async () => {
    const failing = async function* (): AsyncIterable<StreamEvent<Obj>> {
      await tick();
      yield* [];
      throw new Error('connection reset');
    };
    const { lw, calls } = source([obj('a', '5')], [failing, failing, failing]);
    const delays: number[] = [];
    const inf = new Informer(lw, options({ backoffBaseMs: 100, backoffMaxMs: 10_000 }), {
      restarted: (_r, _e, d) => delays.push(d),
    });
    inf.addHandlers({
      add: () => {
        throw new Error('handler bug');
      },
    });
    inf.start();
    await inf.waitForSync();
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls.watch.length).toBe(4);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[2]).toBeGreaterThanOrEqual(200);
    expect(delays[2]).toBeLessThanOrEqual(400);
    void inf.stop();
  });

  it('cuts a backoff short when woken, saying how much of it was left, and only while backing off', async () => {
    const failing = async function* (): AsyncIterable<StreamEvent<Obj>> {
      await tick();
      yield* [];
      throw new Error('connection refused');
    };
    const { lw, calls } = source([obj('a', '5')], [failing]);
    const inf = new Informer(lw, options({ backoffBaseMs: 20_000, backoffMaxMs: 20_000 }));
    inf.start();
    await inf.waitForSync();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(inf.backingOff).toBe(true);
    expect(calls.watch.length).toBe(1);
    const left = inf.wake()!;
    expect(left).toBeGreaterThanOrEqual(9_000); // equal jitter: 10 to 20 s, 1 s of it gone
    expect(left).toBeLessThanOrEqual(19_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.watch.length).toBe(2); // watching again at once, from where it was
    expect(inf.backingOff).toBe(false);
    expect(inf.wake()).toBeUndefined();
    void inf.stop();
  });

  it('indexes its cache by namespace as objects come and go', async () => {
    const inNs = (ns: string, name: string, rv: string): Obj => ({
      metadata: { name, namespace: ns, resourceVersion: rv },
    });
    const { lw } = source(
      [inNs('a', 'x', '1'), inNs('a', 'y', '1'), inNs('b', 'x', '1')],
      [
        async function* () {
          yield { type: 'DELETED', object: inNs('a', 'x', '11') };
          yield { type: 'ADDED', object: inNs('b', 'z', '12') };
          yield* hang(new AbortController().signal);
        },
      ],
    );
    const inf = new Informer(lw, options());
    inf.start();
    await inf.waitForSync();
    await vi.advanceTimersByTimeAsync(0);
    const names = (ns: string) =>
      inf
        .inNamespace(ns)
        .map((o) => o.metadata.name)
        .sort();
    expect(names('a')).toEqual(['y']);
    expect(names('b')).toEqual(['x', 'z']);
    expect(names('c')).toEqual([]);
    void inf.stop();
  });

  describe('streamed lists', () => {
    const end = (rv: string): StreamEvent<Obj> => ({
      type: 'BOOKMARK',
      object: { metadata: { name: '', resourceVersion: rv, annotations: { [INITIAL_EVENTS_END]: 'true' } } },
    });

    /** A source whose watchList() plays the given scripts in turn (then hangs); counts its calls. */
    function streaming(
      scripts: ((signal: AbortSignal) => AsyncIterable<StreamEvent<Obj>> | Error)[],
      items: Obj[] = [],
    ) {
      const { lw, calls } = source(items, []);
      const streams = { count: 0 };
      lw.watchList = (signal) => {
        streams.count++;
        const played = (scripts.shift() ?? hang)(signal);
        return played instanceof Error ? Promise.reject(played) : Promise.resolve(played);
      };
      return { lw, calls, streams };
    }

    it('takes the objects up to the end bookmark as the list, then follows the same stream as its watch', async () => {
      const { lw, calls, streams } = streaming([
        async function* (signal) {
          yield { type: 'ADDED', object: obj('a', '3') };
          yield { type: 'ADDED', object: obj('b', '7') };
          yield end('9');
          yield { type: 'MODIFIED', object: obj('a', '12') };
          yield* hang(signal);
        },
      ]);
      const listed: [number, string][] = [];
      const inf = new Informer(lw, options(), { listed: (n, how) => listed.push([n, how]) });
      const seen: string[] = [];
      inf.addHandlers({
        add: (o) => seen.push(`add ${o.metadata.name}`),
        update: (_, o) => seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
      });
      inf.start();
      await inf.waitForSync();
      await vi.advanceTimersByTimeAsync(0);
      expect(seen).toEqual(['add a', 'add b', 'update a@12']);
      expect(listed).toEqual([[2, 'stream']]);
      // One request in all: no list, no second watch.
      expect(streams.count).toBe(1);
      expect(calls).toEqual({ list: 0, watch: [] });
      void inf.stop();
    });

    it('tells nothing of a stream that ends before its end bookmark, and streams the whole list again', async () => {
      const { lw, streams } = streaming([
        async function* () {
          await tick();
          yield { type: 'ADDED', object: obj('a', '3') };
        },
        async function* (signal) {
          yield { type: 'ADDED', object: obj('a', '3') };
          yield { type: 'ADDED', object: obj('b', '4') };
          yield end('5');
          yield* hang(signal);
        },
      ]);
      const restarts: string[] = [];
      const inf = new Informer(lw, options(), { restarted: (_, err) => restarts.push(String(err)) });
      const added: string[] = [];
      inf.addHandlers({ add: (o) => added.push(o.metadata.name) });
      inf.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(inf.hasSynced()).toBe(false);
      expect(added).toEqual([]);
      await vi.advanceTimersByTimeAsync(10);
      expect(inf.hasSynced()).toBe(true);
      expect(added).toEqual(['a', 'b']);
      expect(restarts).toEqual(['IncompleteList: the streamed list ended before its last object']);
      expect(streams.count).toBe(2);
      void inf.stop();
    });

    it('lists in pages from then on when the server refuses to stream, and says so once', async () => {
      const { lw, calls, streams } = streaming(
        [() => new StreamingUnavailable(new Error('422 Invalid'))],
        [obj('a', '5')],
      );
      const refused: unknown[] = [];
      const listed: string[] = [];
      const inf = new Informer(lw, options(), {
        streamingUnavailable: (err) => refused.push(err),
        listed: (_, how) => listed.push(how),
      });
      inf.start();
      await inf.waitForSync();
      expect(inf.get('a')).toBeDefined();
      expect(refused).toHaveLength(1);
      expect(listed).toEqual(['pages']);
      expect(streams.count).toBe(1);
      expect(calls.list).toBe(1);
      void inf.stop();
    });

    it('lists in pages when told not to stream', async () => {
      const { lw, calls, streams } = streaming([], [obj('a', '5')]);
      const inf = new Informer(lw, options({ streamLists: false }));
      inf.start();
      await inf.waitForSync();
      expect(streams.count).toBe(0);
      expect(calls.list).toBe(1);
      void inf.stop();
    });
  });
});
