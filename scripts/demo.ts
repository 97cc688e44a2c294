// `npm run demo`: a real node with its control plane where one can start here (as root; otherwise
// a control plane alone, saying why), the controller (src/main.ts) against it, and the story: a
// connection from team-a to team-b gets through; label a namespace, see its policies appear and
// the same connection refused while DNS still resolves; break the policies, see each repaired
// (with the measured repair time), remove the label, see the cleanup; then stop everything.
// `--repairs N` adds N timed deletions and prints the median repair time.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PinoPretty } from 'pino-pretty';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { networkPolicyPath, resourcePath } from '../src/kube/resources.ts';
import { installCrds } from '../harness/crds.ts';
import { REPORT_NAME, VERDICT_LABEL } from '../src/policy/compliance.ts';
import { ControlPlane, repoRoot } from '../harness/controlplane.ts';
import { MissingPrerequisiteError } from '../harness/gobuild.ts';
import { LocalNode } from '../harness/node.ts';
import { eventually } from '../harness/wait.ts';
import { type ProbePod, Wire } from '../harness/wire.ts';

const say = (text: string) => process.stdout.write(`\n\x1b[1m▶ ${text}\x1b[0m\n`);
type Policy = { metadata: { name: string; labels?: Record<string, string> } };

const dataDir = await mkdtemp(join(tmpdir(), 'nic-demo-'));
let cp: { kubeconfig: string; stop(): Promise<void> };
/** Set when the story runs on a real node: the connections are shown too. */
let wire: Wire | undefined;
try {
  say(
    'starting a real node: its control plane, kubelet, containerd, kube-router, CoreDNS (minutes to build the first time)',
  );
  const node = await LocalNode.start().catch((err: unknown) => {
    if (!(err instanceof MissingPrerequisiteError)) throw err;
    say(
      `no real node here (${err.message}): a local control plane alone (etcd + kube-apiserver), no packets`,
    );
    return undefined;
  });
  if (node) wire = new Wire(node.kubeconfig);
  cp = node ?? (await ControlPlane.start({ dataDir }));
  await installCrds(cp.kubeconfig); // the PolicyReport CRD, as a policy engine would have installed it
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof MissingPrerequisiteError ? 3 : 1);
}
const admin = new KubeClient(loadKubeConfig(cp.kubeconfig));

say('starting the controller');
const controller = spawn(
  join(repoRoot, 'node_modules', '.bin', 'node'),
  [
    join(repoRoot, 'src', 'main.ts'),
    '--kubeconfig',
    cp.kubeconfig,
    '--metrics-bind-address',
    '127.0.0.1:0',
    '--health-probe-bind-address',
    '127.0.0.1:0',
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
// However the demo ends, its controller ends with it (Ctrl-C reaches both through the process group).
process.on('exit', () => controller.kill('SIGTERM'));
// The controller's log is shown readable; its JSON is also read for the addresses it serves on.
const serving: Record<string, string> = {};
createInterface({ input: controller.stdout }).on('line', (line) => {
  const entry = JSON.parse(line) as { msg: string; address?: string };
  if (entry.address) serving[entry.msg] = entry.address;
});
controller.stdout.pipe(
  PinoPretty({
    colorize: true,
    singleLine: true,
    ignore: 'pid,hostname,reconcileID',
    translateTime: 'HH:MM:ss.l',
  }),
);

let failed = false;
try {
  await demo();
} catch (err) {
  failed = true;
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  say('stopping the controller and the control plane');
  controller.kill('SIGTERM');
  await new Promise((resolve) => controller.once('exit', resolve));
  await admin.close();
  await cp.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

async function demo() {
  for (const name of ['team-a', 'team-b', 'team-c']) {
    await admin.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
  }
  say('created namespaces team-a, team-b, team-c');
  let pods: [ProbePod, ProbePod] | undefined;
  if (wire) {
    pods = (await wire.pods(
      { namespace: 'team-a', name: 'web' },
      { namespace: 'team-b', name: 'client' },
    )) as [ProbePod, ProbePod];
    const [web, client] = pods;
    say(`a Pod in team-b connects to a Pod in team-a (${web.ip}:${web.port}), before any policy`);
    console.log(`   ${show(await wire.until(client, web, true))}`);
  }
  say('labelling team-a isolation=strict');
  const started = performance.now();
  await label('team-a', 'strict');
  await eventually(async () => (await policies('team-a')).length === 3, 'three policies in team-a');
  say(`team-a has its policies after ${ms(performance.now() - started)}:`);
  for (const p of await policies('team-a')) {
    console.log(
      `   ${p.metadata.name.padEnd(22)} profile=${p.metadata.labels?.['namespace-isolation-controller/profile']}`,
    );
  }
  console.log(
    `   team-b: ${(await policies('team-b')).length} policies, team-c: ${(await policies('team-c')).length}`,
  );
  if (wire && pods) {
    const [web, client] = pods;
    say('the same connection from team-b, now that team-a is isolated (kube-router enforces the policies)');
    console.log(`   ${show(await wire.until(client, web, false))}`);
    const dns = await eventually(async () => {
      const r = await wire.resolve(web, 'kubernetes.default');
      return r.outcome === 'resolved' && r;
    }, 'DNS from team-a');
    console.log(
      `   and from team-a, DNS still resolves: kubernetes.default → ${dns.answered} = ${dns.addresses.join(', ')}`,
    );
  }

  say('deleting allow-dns in team-a');
  console.log(
    `   repaired in ${ms(await timeRepair('allow-dns', () => admin.request('DELETE', path('allow-dns'))))}`,
  );

  say('editing default-deny-all in team-a to deny only ingress');
  const edit = () =>
    admin.request('PATCH', path('default-deny-all'), {
      body: { spec: { policyTypes: ['Ingress'] } },
      contentType: 'application/merge-patch+json',
    });
  console.log(`   repaired in ${ms(await timeRepair('default-deny-all', edit))}`);

  const repairs = Number(process.argv[process.argv.indexOf('--repairs') + 1] ?? 0) || 0;
  if (process.argv.includes('--repairs') && repairs > 0) {
    say(`deleting a policy of team-a ${repairs} times, one after another`);
    const times: number[] = [];
    const strict = ['default-deny-all', 'allow-dns', 'allow-same-namespace'];
    for (let i = 0; i < repairs; i++) {
      const name = strict[i % strict.length]!;
      times.push(await timeRepair(name, () => admin.request('DELETE', path(name))));
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    console.log(`   repair time: median ${ms(at(0.5))}, p90 ${ms(at(0.9))}, max ${ms(times.at(-1)!)}`);
  }

  say("the controller's metrics (excerpt of /metrics) and readiness");
  const metrics = await (await fetch(`http://${serving['serving metrics']}/metrics`)).text();
  for (const line of metrics.split('\n')) {
    if (
      /^(namespace_isolation_(drift_repairs_total|policy_writes_total)\{policy="(allow-dns|default-deny-all)".*\} [1-9]|namespace_isolation_drift_repair_duration_seconds_(sum|count)|controller_runtime_reconcile_total.*success)/.test(
        line,
      )
    ) {
      console.log(`   ${line}`);
    }
  }
  const ready = await fetch(`http://${serving['serving health probes']}/readyz?verbose`);
  console.log(`   /readyz: ${ready.status} ${(await ready.text()).trim().replaceAll('\n', ', ')}`);

  say("a tenant's own policy in team-a letting everyone in (ingress: [{}])");
  await admin.request('POST', resourcePath('NetworkPolicy', 'team-a'), {
    body: { metadata: { name: 'tenant-allow-all' }, spec: { podSelector: {}, ingress: [{}] } },
  });
  const report = () =>
    admin.request<{
      metadata: { labels: Record<string, string> };
      results: { rule: string; result: string; message: string }[];
    }>('GET', resourcePath('PolicyReport', 'team-a', REPORT_NAME));
  const verdict = async (want: string) =>
    eventually(
      async () => ((await report()).metadata.labels[VERDICT_LABEL] === want ? report() : undefined),
      `verdict ${want}`,
    );
  for (const r of (await verdict('fail')).results)
    console.log(`   PolicyReport: ${r.result} ${r.rule}: ${r.message}`);
  await admin.request('DELETE', resourcePath('NetworkPolicy', 'team-a', 'tenant-allow-all'));
  await verdict('pass');
  console.log('   deleted it: the report says pass again (kubectl -n team-a get policyreport)');

  say('removing the isolation label from team-a');
  await label('team-a', null);
  await eventually(async () => (await policies('team-a')).length === 0, 'the policies to be removed');
  console.log('   team-a has no managed policies left');
}

function path(name: string) {
  return networkPolicyPath('team-a', name);
}

async function label(ns: string, value: string | null) {
  await admin.request('PATCH', `/api/v1/namespaces/${ns}`, {
    body: { metadata: { labels: { isolation: value } } },
    contentType: 'application/merge-patch+json',
  });
}

async function policies(ns: string): Promise<Policy[]> {
  return (
    await admin.list<Policy>(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`, {
      labelSelector: 'app.kubernetes.io/managed-by=namespace-isolation-controller',
    })
  ).items;
}

/**
 * From the drift (its acknowledgement or its watch event, whichever this process sees last) to
 * the watch event of the restored policy.
 */
async function timeRepair(name: string, drift: () => Promise<unknown>): Promise<number> {
  const list = await admin.list<Policy>(`/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies`);
  const abort = new AbortController();
  let driftSeen = 0;
  const events = await admin.watch<Policy>(
    '/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies',
    { resourceVersion: list.metadata.resourceVersion, fieldSelector: `metadata.name=${name}` },
    abort.signal,
  );
  const repaired = (async () => {
    for await (const e of events) {
      if (!driftSeen)
        driftSeen = performance.now(); // the drift itself
      else if (e.type === 'ADDED' || e.type === 'MODIFIED') return performance.now();
    }
    throw new Error(`watch on ${name} ended before the repair`);
  })();
  await drift();
  const acknowledged = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const at = await Promise.race([
    repaired,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} not repaired in 30 s`)), 30_000);
    }),
  ]);
  clearTimeout(timer);
  abort.abort();
  return at - Math.max(acknowledged, driftSeen);
}

function show(a: { target: string; protocol: string; outcome: string; ms: number }): string {
  return `${a.protocol} ${a.target}: ${a.outcome} (${a.ms} ms)`;
}

function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}
