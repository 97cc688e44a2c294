// Time to isolation on the wire (`npm run bench -- --scenario wire`), on a real node: from the
// label's PATCH acknowledged to the first refused connection into the namespace, and from deleting
// a policy whose absence opens the namespace to a refused connection again. Each is split into the
// controller's share (until a watch sees all of the profile's policies) and the dataplane's (from
// then until kube-router refuses). Times are wall-clock: the Pods share the node's clock with this
// process. The controller runs compiled, as it ships.
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { resourcePath } from '../src/kube/resources.ts';
import { LocalNode } from '../harness/node.ts';
import { PolicyWatch } from '../harness/policywatch.ts';
import { eventually } from '../harness/wait.ts';
import { type ProbePod, Wire } from '../harness/wire.ts';
import { freePort, startProcess } from '../harness/process.ts';
import { deploymentNodeOptions, percentiles, readyAfter } from './load.ts';

const wall = (performanceNow: number) => performance.timeOrigin + performanceNow;
/** Percentiles in whole milliseconds. */
const ms = (xs: number[]) => percentiles(xs.map((x) => Math.round(x)));

export async function wireLatency(n: number, log: (line: string) => void) {
  const node = await LocalNode.start({ log });
  const admin = new KubeClient(loadKubeConfig(node.kubeconfig));
  const wire = new Wire(node.kubeconfig, { podTimeoutMs: 300_000 });
  const ctl = startProcess(
    ['--kubeconfig', node.kubeconfig],
    {
      METRICS_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
      HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${await freePort()}`,
      NODE_OPTIONS: await deploymentNodeOptions(),
    },
    'dist/main.js',
  );
  const watch = await PolicyWatch.start(admin);
  try {
    await readyAfter(ctl);
    const label = (ns: string, value: string) =>
      admin.request('PATCH', resourcePath('Namespace', undefined, ns), {
        body: { metadata: { labels: { isolation: value } } },
        contentType: 'application/merge-patch+json',
      });
    const names = Array.from({ length: n }, (_, i) => `wire-${String(i).padStart(3, '0')}`);
    for (const name of ['wire-client', ...names])
      await admin.request('POST', resourcePath('Namespace'), { body: { metadata: { name } } });
    log(`wire: ${n} server Pods and a client`);
    const [client, ...servers] = (await wire.pods(
      { namespace: 'wire-client', name: 'client' },
      ...names.map((namespace) => ({ namespace, name: 'web' })),
    )) as [ProbePod, ...ProbePod[]];

    /** When (wall clock) the watch first saw `count` of our policies in `ns`, or saw `policy` back. */
    const seen = (ns: string, done: () => boolean) =>
      new Promise<number>((resolve) => {
        const off = watch.on((e) => {
          if (e.policy.metadata.namespace === ns && done()) {
            off();
            resolve(wall(e.at));
          }
        });
      });
    const count = (ns: string) => [...watch.present].filter((k) => k.startsWith(`${ns}/`)).length;

    const labelled = { total: [] as number[], controller: [] as number[], dataplane: [] as number[] };
    for (const [i, ns] of names.entries()) {
      const server = servers[i]!;
      let through!: () => void;
      const started = new Promise<void>((r) => (through = r));
      let blockedAt!: (t: number) => void;
      const blocked = new Promise<number>((r) => (blockedAt = r));
      const traced = wire.trace(client, server, 15_000, (a) => {
        if (a.outcome === 'connected') through();
        else blockedAt(a.at);
      });
      await started;
      const policies = seen(ns, () => count(ns) === 3);
      const t0 = Date.now();
      await label(ns, 'strict');
      const t1 = await policies;
      const t2 = await blocked;
      labelled.total.push(t2 - t0);
      labelled.controller.push(t1 - t0);
      labelled.dataplane.push(t2 - t1);
      wire.stopTraces();
      await traced;
    }
    log(`wire: label → refused, ${n} namespaces: p50 ${percentiles(labelled.total).p50} ms`);

    // Repairs, where one policy's absence opens the namespace: default-deny-ingress has one.
    // (In strict, allow-same-namespace isolates both directions too: no single deletion opens it.)
    for (const ns of names) await label(ns, 'default-deny-ingress');
    await eventually(
      () => names.every((ns) => watch.present.has(`${ns}/default-deny-ingress`) && count(ns) === 1),
      'every namespace to hold default-deny-ingress alone',
      120_000,
    );
    const repaired = { total: [] as number[], controller: [] as number[], dataplane: [] as number[] };
    let opened = 0;
    for (const [i, ns] of names.entries()) {
      const server = servers[i]!;
      await wire.until(client, server, false);
      let first!: () => void;
      const tracing = new Promise<void>((r) => (first = r));
      let closedAt!: (t: number) => void;
      const closed = new Promise<number>((r) => (closedAt = r));
      let open = false;
      let t0 = Infinity;
      const traced = wire.trace(client, server, 15_000, (a) => {
        first();
        if (a.at < t0) return;
        if (a.outcome === 'connected') open = true;
        else if (open) closedAt(a.at);
      });
      await tracing;
      const back = seen(ns, () => watch.present.has(`${ns}/default-deny-ingress`));
      t0 = Date.now();
      await admin.request('DELETE', resourcePath('NetworkPolicy', ns, 'default-deny-ingress'));
      const t1 = await back;
      repaired.controller.push(t1 - t0);
      // kube-router may put the rules back before a probe every 10 ms sees the gap: 2 s after the
      // policy is back with no opening seen, it never opened on the wire.
      const settled = new Promise<void>((r) => setTimeout(r, 2000));
      const t2 = await Promise.race([closed, settled.then(() => (open ? closed : undefined))]);
      wire.stopTraces();
      await traced;
      if (t2 === undefined) continue;
      opened++;
      repaired.total.push(t2 - t0);
      repaired.dataplane.push(t2 - t1);
    }
    return {
      namespaces: n,
      labelToRefusedMs: {
        total: ms(labelled.total),
        controller: ms(labelled.controller),
        dataplane: ms(labelled.dataplane),
      },
      // The controller's repair always; the wire's only where it opened at all.
      deleteToRefusedAgainMs: {
        openedOnTheWire: opened,
        total: ms(repaired.total),
        controller: ms(repaired.controller),
        dataplane: ms(repaired.dataplane),
      },
    };
  } finally {
    await watch.stop();
    ctl.child.kill('SIGTERM');
    await ctl.exited;
    await admin.close();
    await node.stop();
  }
}
