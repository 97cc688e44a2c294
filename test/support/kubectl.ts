// The real kubectl (built from the Go module proxy at the control plane's release), driven as a
// GitOps tool drives it: server-side apply under its own field manager, again and again.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureGoBinary, KUBECTL } from '../../harness/gobuild.ts';

/** Its discovery cache in a folder of its own, not the user's ~/.kube. */
let cacheDir: Promise<string> | undefined;

/** Runs kubectl with `args` (and `input` on stdin); rejects with its stderr when it fails. */
export async function kubectl(kubeconfig: string, args: string[], input = ''): Promise<string> {
  const { code, stdout, stderr } = await kubectlRun(kubeconfig, args, input);
  if (code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${stderr || `exit ${code}`}`);
  return stdout;
}

/** Runs kubectl to its end, whatever its exit code (`kubectl exec` passes the command's on). */
export async function kubectlRun(
  kubeconfig: string,
  args: string[],
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const binary = await ensureGoBinary(KUBECTL);
  const cache = await (cacheDir ??= mkdtemp(join(tmpdir(), 'nic-kubectl-')));
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cache}`, ...args],
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr: stderr || (err?.message ?? ''),
        }),
    );
    child.stdin!.end(input);
  });
}

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
