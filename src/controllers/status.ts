// What the namespace controller last found of each namespace's policies, for the controllers that
// report on them (compliance): which writes failed, with the API server's message, and whether its
// last reconcile settled (nothing written that is not back in the cache yet). A report written
// while the namespace controller is still creating or repairing would say "missing" for a moment.
export interface PolicyState {
  /** Policy → the API server's message, for our policies the last attempt could not write. */
  failed: ReadonlyMap<string, string>;
  settled: boolean;
}

const NONE: ReadonlyMap<string, string> = new Map();

export class PolicyStatus {
  private readonly states = new Map<string, PolicyState>();
  private readonly listeners: ((namespace: string) => void)[] = [];

  /** Called when a namespace settles, or its failures change while settled. */
  onSettled(listener: (namespace: string) => void): void {
    this.listeners.push(listener);
  }

  /** The namespace's policies changed: whatever was settled is not any more. */
  unsettle(namespace: string): void {
    const state = this.states.get(namespace);
    if (state?.settled) this.states.set(namespace, { ...state, settled: false });
  }

  /** A reconcile of `namespace` ended. */
  reconciled(namespace: string, state: PolicyState): void {
    const before = this.states.get(namespace);
    const failed = state.failed.size ? state.failed : NONE;
    this.states.set(namespace, { failed, settled: state.settled });
    const changed = !before?.settled || !sameFailures(before.failed, failed);
    if (state.settled && changed) for (const listener of this.listeners) listener(namespace);
  }

  /** The state, or undefined until the namespace controller has reconciled the namespace once. */
  get(namespace: string): PolicyState | undefined {
    return this.states.get(namespace);
  }

  forget(namespace: string): void {
    if (this.states.delete(namespace)) for (const listener of this.listeners) listener(namespace);
  }
}

function sameFailures(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
