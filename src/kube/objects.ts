// Narrow types for the objects as the API server returns them, and what the policy model reads of them.
import type { NamespaceView, NetworkPolicy } from '../policy/types.ts';

export interface NamespaceObject {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    managedFields?: unknown;
  };
  status?: { phase?: string };
}

/** What the policy model needs of a Namespace. */
export function namespaceView(ns: NamespaceObject): NamespaceView {
  return {
    name: ns.metadata.name,
    labels: ns.metadata.labels ?? {},
    annotations: ns.metadata.annotations ?? {},
    terminating: ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating',
  };
}

/** A managedFields entry without its field set: who wrote the object, how and when. */
export interface Manager {
  manager: string;
  operation: string;
  time?: string;
}

/** A NetworkPolicy as the API server returns it. */
export type ObservedPolicy = NetworkPolicy & {
  metadata: { resourceVersion?: string; managedFields?: unknown };
};

/** The field manager other than `self` that wrote the object last, if any. */
export function lastOtherManager(
  obj: { metadata: { managedFields?: unknown } },
  self: string,
): string | undefined {
  return managers(obj)
    .filter((m) => m !== self)
    .at(-1);
}

/** The field managers that wrote the object, the one that wrote last at the end. */
export function managers(obj: { metadata: { managedFields?: unknown } }): string[] {
  const entries = [...((obj.metadata.managedFields as Manager[] | undefined) ?? [])];
  entries.sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  const names = entries.map((m) => m.manager);
  return names.filter((m, i) => names.lastIndexOf(m) === i);
}
