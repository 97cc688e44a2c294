// The real kubectl (built from the Go module proxy at the control plane's release), for the tests,
// the demo and the node: its discovery cache in a folder of its own, not the user's ~/.kube.
import { execFile } from 'node:child_process';
import { ensureGoBinary, KUBECTL } from './gobuild.ts';
import { tempDir } from './tmp.ts';

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
  const cache = await (cacheDir ??= tempDir('nic-kubectl'));
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
