// The real kubectl (built from the Go module proxy at the control plane's release), driven as a
// GitOps tool drives it: server-side apply under its own field manager, again and again.
import { kubectl } from '../../harness/kubectl.ts';

export { kubectl, kubectlRun } from '../../harness/kubectl.ts';

export interface GitOpsTool {
  /** One sync: `kubectl apply --server-side` of the repository's manifests. */
  sync(): Promise<void>;
  /** Syncs every `everyMs` until `until` (performance.now()); says how many syncs ran. */
  syncUntil(until: number, everyMs?: number): Promise<number>;
}

/**
 * A GitOps tool holding `manifests` (YAML) in its repository, applying them under `fieldManager`,
 * with `--force-conflicts` when told to take fields over from other managers.
 */
export function gitOpsTool(
  kubeconfig: string,
  manifests: () => string,
  options: { fieldManager: string; forceConflicts?: boolean },
): GitOpsTool {
  const args = ['apply', '--server-side', `--field-manager=${options.fieldManager}`, '-f', '-'];
  if (options.forceConflicts) args.push('--force-conflicts');
  const sync = async () => {
    await kubectl(kubeconfig, args, manifests());
  };
  return {
    sync,
    async syncUntil(until, everyMs = 1_000) {
      let syncs = 0;
      while (performance.now() < until) {
        await sync();
        syncs++;
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return syncs;
    },
  };
}
