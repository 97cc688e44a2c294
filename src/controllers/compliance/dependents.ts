// Which namespaces' verdicts read a namespaceSelector that a namespace's labels meet. Most
// selectors are shared (every `strict` namespace reads kube-system's for allow-dns), so they are
// kept once each with the namespaces that read them: a label change tests each distinct selector
// once, not every namespace's (at 10,000 namespaces that was 10,000 tests per change).
import { matches } from '../../policy/selectors.ts';
import type { LabelSelector } from '../../policy/types.ts';

type Labels = Record<string, string>;

export class Dependents {
  private readonly bySelector = new Map<string, { selector: LabelSelector; names: Set<string> }>();
  private readonly keysOf = new Map<string, string[]>();

  /** The selectors `name`'s verdict read (none: it depends on no other namespace). */
  set(name: string, selectors: LabelSelector[]): void {
    this.delete(name);
    if (selectors.length === 0) return;
    const distinct = new Map(selectors.map((s) => [JSON.stringify(s), s]));
    for (const [key, selector] of distinct) {
      let entry = this.bySelector.get(key);
      if (!entry) this.bySelector.set(key, (entry = { selector, names: new Set() }));
      entry.names.add(name);
    }
    this.keysOf.set(name, [...distinct.keys()]);
  }

  delete(name: string): void {
    for (const key of this.keysOf.get(name) ?? []) {
      const entry = this.bySelector.get(key)!;
      entry.names.delete(name);
      if (entry.names.size === 0) this.bySelector.delete(key);
    }
    this.keysOf.delete(name);
  }

  /** Every namespace whose verdict reads a selector that any of these label sets meets. */
  of(labels: Labels[]): Set<string> {
    const found = new Set<string>();
    for (const { selector, names } of this.bySelector.values()) {
      if (labels.some((l) => matches(selector, l))) for (const n of names) found.add(n);
    }
    return found;
  }
}
