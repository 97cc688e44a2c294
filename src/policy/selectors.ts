// Label selectors as the API server reads them: matching, whether any labels can match at all,
// and a short text for people (`app=web, tier in (a, b)`).
import type { LabelSelector, Labels } from './types.ts';

/** The namespaces a namespaceSelector selects, and whether that is all of them. */
export interface NamespaceLookup {
  select(selector: LabelSelector): { all: boolean; names: string[] };
}

export const NAME_LABEL = 'kubernetes.io/metadata.name';

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

/** Beyond this many label sets, `coverEveryNamespace` says yes: over-reporting is the safe side. */
const MAX_LABEL_SETS = 100_000;

/**
 * Whether the selectors together match every namespace there could ever be, created later
 * included: `team in (a)` with `team notin (a)`, `tier` with `!tier`. Decided over every label set
 * that matters: each key the selectors name either absent (never the name label: every namespace
 * has it), or one of the values they name, or some other value.
 */
export function coverEveryNamespace(selectors: readonly LabelSelector[]): boolean {
  if (selectors.some(matchesAll)) return true;
  const domains = new Map<string, Set<string | undefined>>();
  for (const s of selectors) {
    const values = (key: string) => {
      let d = domains.get(key);
      if (!d) domains.set(key, (d = new Set(key === NAME_LABEL ? [OTHER] : [undefined, OTHER])));
      return d;
    };
    for (const [key, value] of Object.entries(s.matchLabels ?? {})) values(key).add(value);
    for (const e of s.matchExpressions ?? []) {
      const d = values(e.key);
      for (const v of e.values ?? []) d.add(v);
    }
  }
  const keys = [...domains.keys()];
  const size = keys.reduce((n, k) => n * domains.get(k)!.size, 1);
  if (size > MAX_LABEL_SETS) return true;
  const labels: Labels = {};
  const every = (i: number): boolean => {
    if (i === keys.length) return selectors.some((s) => matches(s, labels));
    const key = keys[i]!;
    for (const v of domains.get(key)!) {
      if (v === undefined) delete labels[key];
      else labels[key] = v;
      if (!every(i + 1)) return false;
    }
    delete labels[key];
    return true;
  };
  return every(0);
}

/** A value no selector names. */
const OTHER = '\u0000other';

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
