// The benchmark's scenarios. Each runs on a fresh control plane, with the controller as its own
// process, and returns its figures; write counts come from the controller's own metrics.
import { canonicalSpec } from '../src/policy/compare.ts';
import { desiredPolicies } from '../src/policy/desired.ts';
import { defaultPolicyConfig } from '../src/policy/profiles.ts';
import { type ControllerProcess, idle, sampleOf } from '../harness/process.ts';
import { eventually } from '../harness/wait.ts';
import { resourcePath } from '../src/kube/resources.ts';
import { VERDICT_LABEL } from '../src/policy/compliance.ts';
import { readFile } from 'node:fs/promises';
import {
  Cluster,
  cpuOf,
  eventsIn,
  log,
  percentiles,
  policyPath,
  pollUntil,
  readyAfter,
  reportWrites,
  writesOf,
} from './load.ts';

const STRICT = defaultPolicyConfig.profiles.strict!;
const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
const seconds = (from: number, to = performance.now()) => Math.round((to - from) / 100) / 10;

/** The API server's own latency: a server-side apply's round trip, and a write's delay to its watch event. */
export async function floor(samples: number) {
  const cluster = await Cluster.start();
  try {
    await cluster.createNamespaces(['floor']);
    const watch = await cluster.watch();
    const roundTrips: number[] = [];
    const eventDelays: number[] = [];
    const [policy] = desiredPolicies('floor', 'strict', defaultPolicyConfig);
    for (let i = 0; i < samples; i++) {
      // Alternate two contents so that every apply changes the object and makes an event.
      const body = structuredClone(policy!);
      body.spec.policyTypes = i % 2 ? ['Ingress'] : ['Ingress', 'Egress'];
      let seen: number | undefined;
      const off = watch.on((e) => {
        if (
          e.policy.metadata.name === body.metadata.name &&
          e.policy.spec.policyTypes?.length === body.spec.policyTypes?.length
        ) {
          seen = e.at;
        }
      });
      const sent = performance.now();
      await cluster.admin.request('PATCH', policyPath('floor', body.metadata.name), {
        query: { fieldManager: 'bench', force: true },
        body,
        contentType: 'application/apply-patch+yaml',
      });
      const acked = performance.now();
      roundTrips.push(acked - sent);
      while (seen === undefined) await new Promise((r) => setImmediate(r));
      eventDelays.push(Math.max(0, seen - acked));
      off();
    }
    const rtt = percentiles(roundTrips);
    const delay = percentiles(eventDelays);
    // The least any repair can take: one apply, and its event reaching the observer.
    return {
      samples,
      applyRoundTripMs: rounded(rtt),
      writeToEventMs: rounded(delay),
      floorMs: round(rtt.p50 + delay.p50),
    };
  } finally {
    await cluster.stop();
  }
}

/** Drift in random namespaces at a steady rate; time from the drift's acknowledgement to the restored policy's event. */
export async function drift(n: number, rate: number, durationS: number, floorMs: number | undefined) {
  const cluster = await Cluster.start();
  let ctl: ControllerProcess | undefined;
  try {
    const nss = names('drift', n);
    await cluster.createNamespaces(nss, { isolation: 'strict' });
    const watch = await cluster.watch();
    ctl = await cluster.controller();
    await watch.until(3 * n, 'the namespaces in sync');
    await idle(ctl);
    const before = await writesOf(ctl);
    log(`  ${n} namespaces in sync; drifting`);

    const desired = new Map(
      desiredPolicies('x', 'strict', defaultPolicyConfig).map((p) => [
        p.metadata.name,
        canonicalSpec(p.spec),
      ]),
    );
    const latencies: number[] = [];
    interface Pending {
      kind: 'delete' | 'modify';
      restored: Promise<number>;
      resolve(at: number): void;
    }
    const pending = new Map<string, Pending>();
    const off = watch.on((e) => {
      const key = `${e.policy.metadata.namespace}/${e.policy.metadata.name}`;
      const p = pending.get(key);
      if (!p) return;
      const restored =
        p.kind === 'delete'
          ? e.type === 'ADDED'
          : e.type === 'MODIFIED' && canonicalSpec(e.policy.spec) === desired.get(e.policy.metadata.name);
      if (restored) p.resolve(e.at);
    });
    const total = Math.round(rate * durationS);
    const started = performance.now();
    const drifts: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      // A steady rate: the i-th drift leaves at started + i/rate, whatever the others are doing.
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      let key: string;
      do key = `${nss[Math.floor(Math.random() * n)]}/${STRICT[Math.floor(Math.random() * STRICT.length)]}`;
      while (pending.has(key));
      const [ns, name] = key.split('/') as [string, string];
      let resolve!: (at: number) => void;
      const restored = new Promise<number>((r) => (resolve = r));
      const entry: Pending = { kind: i % 2 ? 'delete' : 'modify', restored, resolve };
      pending.set(key, entry);
      drifts.push(
        (async () => {
          if (entry.kind === 'delete') await cluster.admin.request('DELETE', policyPath(ns, name));
          else {
            // As kubectl edit would: a field of another manager's.
            await cluster.admin.request('PATCH', policyPath(ns, name), {
              query: { fieldManager: 'bench-drift' },
              body: { spec: { podSelector: { matchLabels: { drifted: String(i) } } } },
              contentType: 'application/merge-patch+json',
            });
          }
          const acked = performance.now();
          const at = await withTimeout(entry.restored, 60_000, `${key} not repaired within 60 s`);
          latencies.push(Math.max(0, at - acked));
          pending.delete(key);
        })(),
      );
    }
    await Promise.all(drifts);
    off();
    await idle(ctl);
    const after = await writesOf(ctl);
    const p = percentiles(latencies);
    return {
      namespaces: n,
      rate,
      drifts: total,
      latencyMs: rounded(p),
      p99OverFloor: floorMs ? round(p.p99 / floorMs) : undefined,
      writes: after.policyWrites - before.policyWrites,
    };
  } finally {
    await cluster.stop(ctl);
  }
}

/**
 * Where start-up went, from the controller's own log lines (epoch ms) and the spawn: serving its
 * probes (Node, modules, configuration, the access checks), then the caches synced (the lists).
 */
function startupOf(ctl: ControllerProcess) {
  const at = (msg: string) => {
    const line = ctl.logs().find((l) => l.msg === msg);
    return line ? round3(((line.time as number) - ctl.spawnedAt) / 1000) : undefined;
  };
  return { servingS: at('serving health probes'), syncedS: at('caches synced') };
}

/** The controller's resident set now and at its peak (the kernel's high-water mark), and V8 heap in use, in MB. */
async function memoryOf(
  ctl: ControllerProcess,
): Promise<{ rssMB: number; peakRssMB: number; heapMB: number }> {
  const mb = async (name: string) => Math.round((await sampleOf(ctl, name)) / 2 ** 20);
  const status = await readFile(`/proc/${ctl.child.pid}/status`, 'utf8');
  const peakKB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return {
    rssMB: await mb('process_resident_memory_bytes'),
    peakRssMB: Math.round(peakKB / 1024),
    heapMB: await mb('nodejs_heap_size_used_bytes'),
  };
}

/**
 * N labelled namespaces without policies; the controller starts; time until all 3N exist. With
 * `tenants`, two tenant policies per namespace (a tenth opening something) and the PolicyReport
 * CRD: one report per namespace, and the time from a tenant's opening to its report.
 */
export async function coldStart(n: number, tenants = false) {
  const cluster = await Cluster.start(undefined, tenants);
  let ctl: ControllerProcess | undefined;
  try {
    const nss = names('cold', n);
    const created = performance.now();
    await cluster.createNamespaces(nss, { isolation: 'strict' });
    if (tenants) await cluster.tenantPolicies(nss);
    const setupS = seconds(created);
    const watch = await cluster.watch();
    const started = performance.now();
    ctl = await cluster.controller();
    const readyS = (await readyAfter(ctl)) / 1000;
    const startup = startupOf(ctl);
    const converged = await watch.until(3 * n, 'all policies');
    await idle(ctl);
    const { policyWrites, requests } = await writesOf(ctl);
    const { rssMB, peakRssMB, heapMB } = await memoryOf(ctl);
    const cpuS = await cpuOf(ctl);
    const coldReports = await reportWrites(ctl);
    const events = await eventsIn(cluster);

    // Warm restart: everything in sync.
    ctl.child.kill('SIGTERM');
    await ctl.exited;
    ctl = await cluster.controller();
    const warmReadyS = (await readyAfter(ctl)) / 1000;
    const warmStartup = startupOf(ctl);
    // From the controller's own line, not from its metrics polled every 20 ms: those scrapes cost
    // it about a tenth of its CPU during the pass.
    const firstPass = await ctl.waitForLog(
      'every key reconciled once since leading',
      { controller: 'namespace-isolation' },
      120_000,
    );
    const warmDoneS = round3(((firstPass.time as number) - ctl.spawnedAt) / 1000);
    await idle(ctl);
    const warm = await writesOf(ctl);
    const warmMemory = await memoryOf(ctl);
    const warmCpuS = await cpuOf(ctl);
    const warmReports = await reportWrites(ctl);
    const opening = tenants ? await openingToReport(cluster, nss, Math.min(n, 200)) : undefined;
    // Stopped as the Deployment stops it, so that a profile of this run (--profile) is written.
    ctl.child.kill('SIGTERM');
    await ctl.exited;
    return {
      namespaces: n,
      tenantPolicies: tenants ? 2 * n : 0,
      setupS,
      cold: {
        readyS: round3(readyS),
        ...startup,
        convergedS: seconds(started, converged),
        policyWrites,
        expectedWrites: 3 * n,
        events,
        requests,
        cpuS: round3(cpuS),
        cpuMsPerWrite: round3((cpuS * 1000) / policyWrites),
        rssMB,
        peakRssMB,
        heapMB,
        reportWrites: coldReports,
      },
      warm: {
        readyS: round3(warmReadyS),
        ...warmStartup,
        doneS: warmDoneS,
        cpuS: round3(warmCpuS),
        policyWrites: warm.policyWrites,
        ...warmMemory,
        requests: warm.requests,
        reportWrites: warmReports,
      },
      ...(opening && { openingToReportMs: opening }),
    };
  } finally {
    await cluster.stop(ctl);
  }
}

/**
 * A tenant policy that lets every namespace in, added to `k` namespaces at 20 a second: the time
 * from its creation's acknowledgement to the event of its namespace's report saying fail.
 */
async function openingToReport(cluster: Cluster, nss: string[], k: number) {
  const path = resourcePath('PolicyReport');
  const list = await cluster.admin.list<Report>(path);
  const abort = new AbortController();
  const seen = new Map<string, (at: number) => void>();
  const events = await cluster.admin.watch<Report>(
    path,
    { resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 3600 },
    abort.signal,
  );
  const watching = (async () => {
    for await (const e of events) {
      const r = e.object as Report;
      if (r.metadata?.labels?.[VERDICT_LABEL] === 'fail') seen.get(r.metadata.namespace)?.(performance.now());
    }
  })().catch(() => undefined);
  // Namespaces that pass: every tenth one fails already.
  const targets = nss.filter((_, i) => i % 10 !== 0).slice(0, k);
  const delays: Promise<number>[] = [];
  const started = performance.now();
  for (const [i, ns] of targets.entries()) {
    const wait = started + i * 50 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const reported = new Promise<number>((resolve) => seen.set(ns, resolve));
    await cluster.tenantPolicy(ns, 'tenant-allow-all-namespaces', true, 443);
    const acked = performance.now();
    delays.push(reported.then((at) => Math.max(0, at - acked)));
  }
  const result = percentiles(await Promise.all(delays));
  abort.abort();
  await watching;
  return rounded(result);
}

interface Report {
  metadata: { namespace: string; labels?: Record<string, string> };
}

/**
 * `total` namespaces in sync; `n` of them unlabelled, then labelled again, in waves; time to
 * converge, writes and controller CPU per wave.
 */
export async function churn(n: number, waves: number, total = n) {
  const cluster = await Cluster.start();
  let ctl: ControllerProcess | undefined;
  try {
    const all = names('churn', total);
    const nss = all.slice(0, n);
    await cluster.createNamespaces(all, { isolation: 'strict' });
    const watch = await cluster.watch();
    ctl = await cluster.controller();
    await watch.until(3 * total, 'the namespaces in sync');
    await idle(ctl);
    const results = [];
    for (let w = 0; w < waves; w++) {
      for (const [value, expected] of [
        [null, 0],
        ['strict', 3 * n],
      ] as const) {
        const before = (await writesOf(ctl)).policyWrites;
        const cpuBefore = await cpuOf(ctl);
        const started = performance.now();
        await cluster.label(nss, value);
        const labelledS = seconds(started);
        await watch.until(3 * (total - n) + expected, value ? 'policies back' : 'policies removed');
        const convergedS = seconds(started);
        await idle(ctl);
        results.push({
          wave: w + 1,
          change: value ? 'label' : 'unlabel',
          labelledS,
          convergedS,
          writes: (await writesOf(ctl)).policyWrites - before,
          expectedWrites: 3 * n,
          cpuS: round3((await cpuOf(ctl)) - cpuBefore),
        });
      }
    }
    return { namespaces: total, churned: n, waves: results };
  } finally {
    await cluster.stop(ctl);
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
function rounded(p: ReturnType<typeof percentiles>) {
  return { n: p.n, p50: round(p.p50), p90: round(p.p90), p99: round(p.p99), max: round(p.max) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The API server away for `downS` seconds, `runs` times: from its return (ready again), a policy is
 * deleted at once; the time until the controller has put it back, and how much watch backoff the
 * return cut short.
 */
export async function recovery(runs: number, downS: number) {
  const cluster = await Cluster.start();
  let ctl: ControllerProcess | undefined;
  try {
    const nss = names('recovery', 10);
    await cluster.createNamespaces(nss, { isolation: 'strict' });
    ctl = await cluster.controller();
    const path = policyPath(nss[0]!, 'allow-dns');
    type Uid = { metadata: { uid: string } };
    const uid = () => cluster.admin.request<Uid>('GET', path).then((p) => p.metadata.uid);
    await eventually(uid, 'the policies in place');
    const repairs: number[] = [];
    const cutShort: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = await uid();
      const woken = ctl
        .logs()
        .filter((l) => l.msg === 'the API server answers again; watches restart now').length;
      await cluster.cp.restart(downS * 1000);
      const back = performance.now();
      await cluster.admin.request('DELETE', path);
      await pollUntil(
        async () => (await uid().catch(() => before)) !== before,
        10,
        'the policy back',
        60_000,
      );
      repairs.push(performance.now() - back);
      const line = ctl.logs().filter((l) => l.msg === 'the API server answers again; watches restart now')[
        woken
      ];
      cutShort.push(Math.max(0, ...((line?.cutShortMs as number[] | undefined) ?? [])));
    }
    return {
      runs,
      downS,
      repairedAfterBackMs: percentiles(repairs),
      backoffCutShortMs: percentiles(cutShort),
    };
  } finally {
    await cluster.stop(ctl);
  }
}

/** Leader handover with the default timings: the leader killed (SIGKILL) or stopped (SIGTERM), until the standby leads. */
export async function failover(runs: number) {
  const cluster = await Cluster.start();
  const leads = 'became leader; reconciling';
  const start = () =>
    cluster.controller(['--log-level', 'info', '--leader-elect', '--leader-election-namespace', 'default']);
  let leader = await start();
  const handovers: Record<'SIGKILL' | 'SIGTERM', number[]> = { SIGKILL: [], SIGTERM: [] };
  try {
    await leader.waitForLog(leads);
    for (let i = 0; i < runs; i++) {
      for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
        const standby = await start();
        await standby.waitForLog('another replica holds the lease; standing by');
        // At a random point of the standby's retry cycle, not right after its first attempt.
        await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 3_000));
        const sent = Date.now();
        leader.child.kill(signal);
        const led = await standby.waitForLog(leads, {}, 60_000);
        handovers[signal].push((led.time as number) - sent);
        await leader.exited;
        leader = standby;
      }
    }
    return { runs, killedMs: percentiles(handovers.SIGKILL), stoppedMs: percentiles(handovers.SIGTERM) };
  } finally {
    await cluster.stop(leader);
  }
}
