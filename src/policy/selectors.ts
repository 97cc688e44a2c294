// Label selectors as the API server reads them: matching, whether any labels can match at all,
// and a short text for people (`app=web, tier in (a, b)`).
import type { LabelSelector, Labels } from './types.ts';

/** The namespaces a namespaceSelector selects, and whether that is all of them. */
export interface NamespaceLookup {
  select(selector: LabelSelector): { all: boolean; names: string[] };
}

const NAME_LABEL = 'kubernetes.io/metadata.name';

interface NamedObject {
  metadata: { name: string; labels?: Labels };
}

/**
 * Resolves namespaceSelectors against a set of namespaces (a cache, or a list). A selector that
 * names its namespaces by `kubernetes.io/metadata.name` is looked up rather than matched against
 * thousands; it is never "all namespaces", which is a selector matching every one there is.
 */
export function namespaceLookup(
  get: (name: string) => NamedObject | undefined,
  list: () => NamedObject[],
): NamespaceLookup {
  return {
    select(selector) {
      const named = selector.matchLabels?.[NAME_LABEL];
      const listed = selector.matchExpressions?.find(
        (e) => e.key === NAME_LABEL && e.operator === 'In',
      )?.values;
      const byName = named !== undefined ? [named] : listed;
      const candidates = byName ? byName.map(get).filter((n) => n !== undefined) : list();
      const names = candidates
        .filter((n) => matches(selector, n.metadata.labels ?? {}))
        .map((n) => n.metadata.name);
      return { all: !byName && names.length === candidates.length && names.length > 1, names };
    },
  };
}

/** Whether `labels` satisfy the selector; an empty selector matches everything. */
export function matches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
    if (operator === 'In' && !(has && values.includes(labels[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key]!)) return false;
  }
  return true;
}

/** Whether the selector matches every set of labels (`{}`). */
export function matchesAll(selector: LabelSelector): boolean {
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0
  );
}

/**
 * Whether some set of labels could satisfy the selector: `a=x` with `a=y`, `a in ()`, `a in (x)`
 * with `a notin (x)` or `!a` select nothing, so a policy on such pods opens nothing.
 */
export function satisfiable(selector: LabelSelector): boolean {
  const keys = new Map<
    string,
    { exists?: boolean; absent?: boolean; allowed?: Set<string>; excluded: Set<string> }
  >();
  const at = (key: string) => {
    let k = keys.get(key);
    if (!k) keys.set(key, (k = { excluded: new Set() }));
    return k;
  };
  const allow = (key: string, values: string[]) => {
    const k = at(key);
    k.exists = true;
    k.allowed = new Set(k.allowed ? values.filter((v) => k.allowed!.has(v)) : values);
  };
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) allow(key, [value]);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'In') allow(key, values);
    else if (operator === 'NotIn') for (const v of values) at(key).excluded.add(v);
    else if (operator === 'Exists') at(key).exists = true;
    else at(key).absent = true;
  }
  for (const k of keys.values()) {
    if (k.exists && k.absent) return false;
    if (k.allowed && ![...k.allowed].some((v) => !k.excluded.has(v))) return false;
  }
  return true;
}

/** A selector as people write it: `app=web, tier in (a, b), !legacy`; `` for the empty one. */
export function describe(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const list = `(${[...values].sort().join(', ')})`;
    parts.push(
      operator === 'In'
        ? `${key} in ${list}`
        : operator === 'NotIn'
          ? `${key} notin ${list}`
          : operator === 'Exists'
            ? key
            : `!${key}`,
    );
  }
  return parts.sort().join(', ');
}
