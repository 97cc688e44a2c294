// Leader failover with the default timings (lease 15 s, renew deadline 10 s, retry 2 s): two
// controller processes share a Lease on a fresh local control plane; the leader is killed
// (SIGKILL) or stopped (SIGTERM), and the time until the standby logs that it leads is measured.
// `node bench/failover.ts [--runs N]`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { ControlPlane } from '../test/support/controlplane.ts';
import { type ControllerProcess, ensureStopped, startProcess } from '../test/support/process.ts';

const { runs } = parseArgs({ options: { runs: { type: 'string', default: '3' } } }).values;
const dataDir = await mkdtemp(join(tmpdir(), 'nic-failover-'));
const cp = await ControlPlane.start({ dataDir });
const admin = new KubeClient(loadKubeConfig(cp.kubeconfig));
await admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'controller' } } });
const start = () =>
  startProcess([
    '--kubeconfig',
    cp.kubeconfig,
    '--leader-elect',
    '--leader-election-namespace',
    'controller',
  ]);
const LEADS = 'became leader; reconciling';

const results: Record<'SIGKILL' | 'SIGTERM', number[]> = { SIGKILL: [], SIGTERM: [] };
let leader: ControllerProcess = start();
await leader.waitForLog(LEADS);
try {
  for (let i = 0; i < Number(runs); i++) {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const standby = start();
      await standby.waitForLog('another replica holds the lease; standing by');
      // At a random moment of the standby's retry cycle, not right after its first attempt.
      await new Promise((resolve) => setTimeout(resolve, 2_000 + Math.random() * 3_000));
      const sent = Date.now();
      leader.child.kill(signal);
      const led = await standby.waitForLog(LEADS, {}, 60_000);
      results[signal].push((led.time as number) - sent);
      await leader.exited;
      leader = standby;
      process.stdout.write(`${signal}: ${(led.time as number) - sent} ms\n`);
    }
  }
} finally {
  await ensureStopped(leader);
  await admin.close();
  await cp.stop();
  await rm(dataDir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [signal, xs] of Object.entries(results)) {
  process.stdout.write(`${signal} handover: median ${median(xs)} ms (${xs.join(', ')} ms)\n`);
}
