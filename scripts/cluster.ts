// `npm run cluster`: builds (if needed) and runs the local control plane in the foreground until
// Ctrl-C. State is kept in .cache/cluster between runs; pass --fresh to start from an empty one.
// `npm run cluster -- --node` runs a real node with it instead (harness/node.ts: kubelet,
// containerd, kube-proxy, CoreDNS, kube-router's firewall), in a network namespace of its own;
// as root, fresh each time, and removed on Ctrl-C.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlane, repoRoot } from '../harness/controlplane.ts';
import { MissingPrerequisiteError } from '../harness/gobuild.ts';
import { LocalNode } from '../harness/node.ts';

const withNode = process.argv.includes('--node');
const dataDir = join(repoRoot, '.cache', 'cluster');
if (process.argv.includes('--fresh')) await rm(dataDir, { recursive: true, force: true });

let running: { kubeconfig: string; stop(): Promise<void> };
try {
  const started = performance.now();
  if (withNode) {
    running = await LocalNode.start();
    console.log(
      `node Ready, CoreDNS answering, after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } else {
    const cp = await ControlPlane.start({ dataDir });
    running = cp;
    console.log(
      `control plane ready at ${cp.server} (pid ${cp.pid}); logs in ${join(dataDir, 'controlplane.log')}`,
    );
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingPrerequisiteError ? 3 : 1);
}
console.log(`\n  export KUBECONFIG=${running.kubeconfig}\n`);
console.log(
  withNode
    ? 'Ctrl-C stops the node and removes everything it made.'
    : 'Ctrl-C stops etcd and the API server.',
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await running.stop();
  console.log(withNode ? 'node stopped and removed' : 'control plane stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
