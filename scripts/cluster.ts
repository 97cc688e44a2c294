// `npm run cluster`: builds (if needed) and runs the local control plane in the foreground until
// Ctrl-C. State is kept in .cache/cluster between runs; pass --fresh to start from an empty one.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ControlPlane, MissingGoError, repoRoot } from '../harness/controlplane.ts';

const dataDir = join(repoRoot, '.cache', 'cluster');
if (process.argv.includes('--fresh')) await rm(dataDir, { recursive: true, force: true });

let cp: ControlPlane;
try {
  cp = await ControlPlane.start({ dataDir });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingGoError ? 3 : 1);
}
console.log(
  `control plane ready at ${cp.server} (pid ${cp.pid}); logs in ${join(dataDir, 'controlplane.log')}`,
);
console.log(`\n  export KUBECONFIG=${cp.kubeconfig}\n`);
console.log('Ctrl-C stops etcd and the API server.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cp.stop();
  console.log('control plane stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
