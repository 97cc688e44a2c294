// An informer's cache, as client-go's store with its namespace index: the objects by key (only what
// the informer's transform keeps), their keys by namespace, and the handlers told of each change.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  managedFields?: unknown;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  metadata: ObjectMeta;
}

export interface Handlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

/** `namespace/name`, or `name` for a cluster-scoped object. */
export function objectKey(meta: ObjectMeta): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

export class Store<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  /** Keys of the cached objects by namespace. */
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly handlers: Handlers<T>[] = [];
  /** A handler threw: said, and the others are still told. */
  private readonly handlerFailed: (err: unknown) => void;

  constructor(handlerFailed: (err: unknown) => void) {
    this.handlerFailed = handlerFailed;
  }

  addHandlers(h: Handlers<T>): void {
    this.handlers.push(h);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  inNamespace(namespace: string): T[] {
    const found: T[] = [];
    for (const key of this.byNamespace.get(namespace) ?? []) {
      const obj = this.cache.get(key);
      if (obj) found.push(obj);
    }
    return found;
  }

  /** A whole list becomes the cache; handlers hear the difference. */
  replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item.metadata));
      this.upsert(item);
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) this.remove(key, () => old);
    }
  }

  /** Added or changed (a new resourceVersion); the same version again is no news. */
  upsert(kept: T): void {
    const key = objectKey(kept.metadata);
    const old = this.cache.get(key);
    this.cache.set(key, kept);
    const ns = kept.metadata.namespace;
    if (!old && ns !== undefined) {
      let keys = this.byNamespace.get(ns);
      if (!keys) this.byNamespace.set(ns, (keys = new Set()));
      keys.add(key);
    }
    if (!old) this.notify((h) => h.add?.(kept));
    else if (old.metadata.resourceVersion !== kept.metadata.resourceVersion) {
      this.notify((h) => h.update?.(old, kept));
    }
  }

  /** Deleted: handlers get the cached object, or `gone()` when none was cached. */
  remove(key: string, gone: () => T): void {
    const old = this.cache.get(key) ?? gone();
    this.cache.delete(key);
    const ns = old.metadata.namespace;
    const keys = ns === undefined ? undefined : this.byNamespace.get(ns);
    if (keys?.delete(key) && keys.size === 0) this.byNamespace.delete(ns!);
    this.notify((h) => h.delete?.(old));
  }

  private notify(call: (h: Handlers<T>) => void): void {
    for (const h of this.handlers) {
      try {
        call(h);
      } catch (err) {
        this.handlerFailed(err);
      }
    }
  }
}
