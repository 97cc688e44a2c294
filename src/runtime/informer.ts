// An informer that cannot die quietly: list, then watch with bookmarks; any error restarts it with
// jittered exponential backoff, 410 Gone re-lists, a watchdog ends a stream that falls silent.
// Where the server offers it, the list is streamed (client-go's WatchList): one watch request sends
// every object, a bookmark marks the list's end, and the same stream goes on as the watch.
// What it hears goes to its store (store.ts): a cache indexed by namespace, which tells handlers.
import { type Handlers, type KubeObject, objectKey, Store } from './store.ts';
import { Gone, IncompleteList, isGone, SilentStream, StreamingUnavailable } from './watch-errors.ts';

export type { Handlers, KubeObject, ObjectMeta } from './store.ts';
export { SilentStream, StreamingUnavailable } from './watch-errors.ts';

/** The annotation of the bookmark that ends a streamed list. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export interface StreamEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | { code?: number; reason?: string; message?: string; metadata?: { resourceVersion?: string } };
}

/** Where the informer lists and watches from; the kube adapter provides it. */
export interface ListWatch<T> {
  /** Every object, each passed through `keep` as its page arrives (a whole list of full objects is the peak). */
  list(keep: (obj: T) => T): Promise<{ items: T[]; resourceVersion: string }>;
  /** Resolves once the server has accepted the watch; the events follow. */
  watch(resourceVersion: string, signal: AbortSignal): Promise<AsyncIterable<StreamEvent<T>>>;
  /**
   * A watch that first sends every object (ADDED), then a bookmark annotated INITIAL_EVENTS_END, then
   * the changes. Throws StreamingUnavailable when the server does not offer it.
   */
  watchList?(signal: AbortSignal): Promise<AsyncIterable<StreamEvent<T>>>;
}

export interface InformerHooks {
  /** A list succeeded (after start, a 410, or a restart): streamed, or in pages. */
  listed?(count: number, how: 'stream' | 'pages'): void;
  /** The server refused a streamed list: this informer lists in pages from now on. */
  streamingUnavailable?(error: unknown): void;
  /** A watch ended by an error and will be retried after `delayMs`. */
  restarted?(reason: string, error: unknown, delayMs: number): void;
  /** A handler threw; the informer goes on. */
  handlerFailed?(error: unknown): void;
  /** A list, or any watch event (bookmarks included): the informer is in touch with the server. */
  progressed?(): void;
}

export interface WatchOptions {
  /** Abort a watch that has sent nothing (not even a bookmark) for this long, and start again. */
  silenceTimeoutMs: number;
  /** A failed watch or list is retried after a jittered delay from base·2^n up to max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Stream lists where the source and the server can (a watch with sendInitialEvents); else pages. */
  streamLists: boolean;
}

export interface InformerOptions<T extends KubeObject> extends WatchOptions {
  /** What the cache keeps of each object, as client-go's SetTransform. */
  transform: (obj: T) => T;
}

export class Informer<T extends KubeObject> {
  private readonly store: Store<T>;
  private readonly source: ListWatch<T>;
  private readonly hooks: InformerHooks;
  private readonly options: InformerOptions<T>;
  private synced = false;
  private stopped = false;
  private current: AbortController | undefined;
  private running: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];
  private sleepCancel: (() => void) | undefined;
  /** While backing off: when the next attempt is due (performance.now()). */
  private sleepingUntil: number | undefined;
  /**
   * The resourceVersion of the last list or event seen: where the next watch starts, however the
   * last one ended (a restart from an earlier one would replay events already applied).
   */
  private resourceVersion: string | undefined;
  /** Whether to stream lists: while the source can and the server has not refused. */
  private streaming: boolean;

  constructor(source: ListWatch<T>, options: InformerOptions<T>, hooks: InformerHooks = {}) {
    this.source = source;
    this.options = options;
    this.hooks = hooks;
    this.streaming = options.streamLists && source.watchList !== undefined;
    this.store = new Store<T>((err) => hooks.handlerFailed?.(err));
  }

  addHandlers(h: Handlers<T>): void {
    this.store.addHandlers(h);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** A cached object by key: `name`, or `namespace/name`. */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  /** The cached objects in one namespace. */
  inNamespace(namespace: string): T[] {
    return this.store.inNamespace(namespace);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Waiting out a backoff after a failed list or watch. */
  get backingOff(): boolean {
    return this.sleepingUntil !== undefined;
  }

  /**
   * Cuts a backoff short: the next attempt starts now (the server is known to answer again).
   * Returns how much of the wait was left, or undefined when it was not backing off.
   */
  wake(): number | undefined {
    if (this.sleepingUntil === undefined) return undefined;
    const left = Math.max(0, Math.round(this.sleepingUntil - performance.now()));
    this.sleepCancel?.();
    return left;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.sleepCancel?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const healthy = () => (failures = 0);
        if (this.resourceVersion === undefined && this.streaming) {
          await this.watchOnce((signal) => this.source.watchList!(signal), healthy, true);
          continue;
        }
        this.resourceVersion ??= await this.relist();
        // Stopped while listing: a watch started now would hold stop() until the server ends it.
        if (this.stopped) break;
        const from = this.resourceVersion;
        await this.watchOnce((signal) => this.source.watch(from, signal), healthy, false);
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof StreamingUnavailable) {
          this.streaming = false;
          this.hooks.streamingUnavailable?.(err);
          continue;
        }
        if (isGone(err)) {
          // Expired resourceVersion: start from a fresh list at once, as client-go does.
          this.resourceVersion = undefined;
          this.hooks.restarted?.('expired', err, 0);
          continue;
        }
        const delay = this.backoff(failures++);
        this.hooks.restarted?.(err instanceof SilentStream ? 'silent' : 'error', err, delay);
        await this.sleep(delay);
      }
    }
  }

  /** Lists everything in pages, replaces the cache and tells handlers the difference. */
  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.source.list(this.options.transform);
    this.replace(items, 'pages');
    return resourceVersion;
  }

  /** A whole list (kept objects) becomes the cache; handlers hear the difference. */
  private replace(items: T[], how: 'stream' | 'pages'): void {
    this.store.replace(items);
    this.hooks.listed?.(items.length, how);
    this.hooks.progressed?.();
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  /**
   * One watch request, until the server ends it; keeps `resourceVersion` at the last event. With
   * `initial`, it is a streamed list first: the objects up to the bookmark that ends it are the
   * list (nothing is told, nor a resourceVersion kept, before that bookmark); then it is a watch.
   */
  private async watchOnce(
    open: (signal: AbortSignal) => Promise<AsyncIterable<StreamEvent<T>>>,
    healthy: () => void,
    initial: boolean,
  ): Promise<void> {
    let listing: T[] | undefined = initial ? [] : undefined;
    const abort = new AbortController();
    this.current = abort;
    let silent = false;
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        abort.abort();
      }, this.options.silenceTimeoutMs);
      timer.unref();
    };
    try {
      arm();
      const events = await open(abort.signal);
      connected = true;
      // Connected: in touch with the server even if nothing changes (and no bookmark comes).
      this.hooks.progressed?.();
      for await (const event of events) {
        arm();
        healthy();
        this.hooks.progressed?.();
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; message?: string };
          if (status.code === 410) throw new Gone(status.message ?? 'resourceVersion expired');
          throw new Error(`watch error ${status.code}: ${status.message}`);
        }
        const obj = event.object as T;
        if (listing) {
          if (event.type === 'ADDED') listing.push(this.options.transform(obj));
          else if (event.type === 'BOOKMARK' && obj.metadata.annotations?.[INITIAL_EVENTS_END] === 'true') {
            this.replace(listing, 'stream');
            listing = undefined;
            this.resourceVersion = obj.metadata.resourceVersion;
          }
          continue;
        }
        this.resourceVersion = obj.metadata.resourceVersion ?? this.resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'DELETED')
          this.store.remove(objectKey(obj.metadata), () => this.options.transform(obj));
        else this.store.upsert(this.options.transform(obj));
      }
    } catch (err) {
      if (!silent) throw err; // the watchdog's abort surfaces as an error; it is reported below
    } finally {
      clearTimeout(timer);
      this.current = undefined;
    }
    if (silent) throw new SilentStream(this.options.silenceTimeoutMs, connected);
    if (listing) throw new IncompleteList();
  }

  /** Equal jitter: a random delay between half and all of base·2^n, capped. */
  private backoff(failures: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** failures);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private sleep(ms: number): Promise<void> {
    this.sleepingUntil = performance.now() + ms;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.sleepCancel = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.sleepingUntil = undefined;
      this.sleepCancel = undefined;
    });
  }
}
