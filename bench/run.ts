// `npm run bench`: the benchmark against fresh local control planes. Prints a Markdown table and
// writes every figure, with the machine, to bench/results/<time>.json.
//
//   npm run bench                                   every scenario at full size
//   npm run bench -- --scenario drift,cold          some of them
//   npm run bench -- --sizes 100,1000 --drift-n 500 --rate 20 --duration 30 --churn 500/5000
//   npm run bench -- --smoke                        N = 50, checks the write counts (CI)
//   npm run bench -- --guardrails                   with the admission guardrails installed
//   npm run bench -- --scenario admission           what the tenant-policy guard adds to a create
//   npm run bench -- --profile /tmp/prof            a CPU profile (.cpuprofile) of each controller process
//   npm run bench -- --paged-lists                  initial lists in pages rather than streamed
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MissingPrerequisiteError, repoRoot } from '../harness/gobuild.ts';
import { configFile } from '../harness/process.ts';
import { benchOptions, Cluster, deploymentNodeOptions, log } from './load.ts';
import { churn, coldStart, drift, failover, floor, recovery } from './scenarios.ts';
import { admissionLatency } from './admission.ts';
import { wireLatency } from './wire.ts';

const SCENARIOS = [
  'floor',
  'drift',
  'cold',
  'churn',
  'memory',
  'recovery',
  'failover',
  'wire',
  'admission',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const o = parseArgs({
  options: {
    scenario: { type: 'string', default: SCENARIOS.join(',') },
    sizes: { type: 'string', default: '1000,5000,10000' },
    'drift-n': { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '30' },
    // Namespaces relabelled / namespaces in all: every one of 1,000, and a tenth of 10,000.
    churn: { type: 'string', default: '1000/1000,1000/10000' },
    waves: { type: 'string', default: '2' },
    'memory-sizes': { type: 'string', default: '1000,5000' },
    'failover-runs': { type: 'string', default: '3' },
    'wire-n': { type: 'string', default: '100' },
    'admission-samples': { type: 'string', default: '1000' },
    'recovery-runs': { type: 'string', default: '3' },
    'floor-samples': { type: 'string', default: '200' },
    smoke: { type: 'boolean', default: false },
    guardrails: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'paged-lists': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
}).values;

const smoke = o.smoke;
benchOptions.guardrails = o.guardrails;
// CPU profiles of every controller process the run starts, written when each exits.
if (o.profile) benchOptions.nodeOptions = `--cpu-prof --cpu-prof-dir=${o.profile}`;
// The initial lists in pages of 500, as before streaming lists (or where a server refuses them).
if (o['paged-lists']) benchOptions.controllerArgs = ['--config', await configFile({ streamingLists: false })];
const list = (s: string) => s.split(',').map(Number);
const wanted = new Set((smoke ? 'floor,drift,cold,churn' : o.scenario).split(',') as Scenario[]);
for (const s of wanted)
  if (!SCENARIOS.includes(s)) throw new Error(`--scenario: unknown ${s}; known: ${SCENARIOS.join(', ')}`);
const size = {
  cold: smoke ? [50] : list(o.sizes),
  driftN: smoke ? 50 : Number(o['drift-n']),
  rate: smoke ? 10 : Number(o.rate),
  duration: smoke ? 2 : Number(o.duration),
  churn: (smoke ? '50/50' : o.churn).split(',').map((c) => c.split('/').map(Number) as [number, number]),
  waves: smoke ? 1 : Number(o.waves),
  memory: list(o['memory-sizes']),
  failoverRuns: Number(o['failover-runs']),
  wire: Number(o['wire-n']),
  admission: Number(o['admission-samples']),
  recoveryRuns: Number(o['recovery-runs']),
  floorSamples: smoke ? 20 : Number(o['floor-samples']),
};

// The controller runs compiled, as it ships.
log('building the controller (npm run build)');
const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed; see above');
const probe = await Cluster.start();
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  kubernetes: await probe.kubernetesVersion(),
  controllerNodeOptions: await deploymentNodeOptions(),
};
await probe.stop();
log(`machine: ${JSON.stringify(machine)}`);

const results: Record<string, unknown> = {};
const rows: string[][] = [];
const problems: string[] = [];
const row = (what: string, figure: string, target = '', met?: boolean) =>
  rows.push([what, figure, target, met === undefined ? '' : met ? 'yes' : '**no**']);
const exact = (what: string, got: number, want: number) => {
  if (got !== want) problems.push(`${what}: ${got} writes, expected exactly ${want}`);
  return got === want;
};

let floorMs: number | undefined;
if (wanted.has('floor')) {
  log('floor: the API server alone');
  const r = await floor(size.floorSamples);
  results.floor = r;
  floorMs = r.floorMs;
  row(
    'floor: server-side apply round trip (p50 / p99)',
    `${r.applyRoundTripMs.p50} / ${r.applyRoundTripMs.p99} ms`,
  );
  row('floor: write to its watch event (p50 / p99)', `${r.writeToEventMs.p50} / ${r.writeToEventMs.p99} ms`);
}
if (wanted.has('drift')) {
  log(`drift: ${size.driftN} namespaces, ${size.rate}/s for ${size.duration} s`);
  const r = await drift(size.driftN, size.rate, size.duration, floorMs);
  results.drift = r;
  const l = r.latencyMs;
  const met = l.p99 <= 100 && (r.p99OverFloor === undefined || r.p99OverFloor <= 3);
  row(
    `drift repair, ${r.drifts} drifts in ${size.driftN} namespaces at ${size.rate}/s (p50 / p90 / p99 / max)`,
    `${l.p50} / ${l.p90} / ${l.p99} / ${l.max} ms${r.p99OverFloor === undefined ? '' : `; p99 = ${r.p99OverFloor}× floor`}`,
    'p99 ≤ 100 ms and ≤ 3× floor',
    met,
  );
  row(
    `drift repair: writes for ${r.drifts} drifts`,
    `${r.writes}`,
    `${r.drifts}`,
    exact('drift', r.writes, r.drifts),
  );
}
if (wanted.has('cold')) {
  const runs = [];
  for (const n of size.cold) {
    log(`cold start and warm restart: ${n} namespaces`);
    const r = await coldStart(n);
    runs.push(r);
    const c = r.cold;
    row(
      `cold start, ${n} namespaces: ready / all ${3 * n} policies`,
      `${c.readyS} s / ${c.convergedS} s`,
      n === 5000 ? '≤ 60 s' : '',
      n === 5000 ? c.convergedS <= 60 : undefined,
    );
    row(
      `cold start, ${n} namespaces: policy writes; Events`,
      `${c.policyWrites}; ${c.events}`,
      `${3 * n}; ≤ ${n}`,
      exact(`cold ${n}`, c.policyWrites, 3 * n) && c.events <= n,
    );
    row(
      `cold start, ${n} namespaces: controller CPU; per policy written`,
      `${c.cpuS} s; ${c.cpuMsPerWrite} ms`,
      '≤ 0.7 ms per write',
      c.cpuMsPerWrite <= 0.7,
    );
    row(
      `cold start, ${n} namespaces: RSS after sync (peak) / heap used`,
      `${c.rssMB} (${c.peakRssMB}) / ${c.heapMB} MB`,
    );
    const w = r.warm;
    row(
      `warm restart, ${n} namespaces: ready / every namespace checked; writes; CPU`,
      `${w.readyS} s / ${w.doneS} s; ${w.policyWrites} writes; ${w.cpuS} s`,
      '0 writes, ready ≤ 10 s',
      exact(`warm ${n}`, w.policyWrites, 0) && w.readyS <= 10,
    );
    row(
      `warm restart, ${n} namespaces: RSS after sync (peak) / heap used`,
      `${w.rssMB} (${w.peakRssMB}) / ${w.heapMB} MB`,
    );
  }
  results.cold = runs;
}
if (wanted.has('churn')) {
  const runs = [];
  for (const [n, total] of size.churn) {
    log(`label churn: ${n} of ${total} namespaces, ${size.waves} waves`);
    const r = await churn(n, size.waves, total);
    runs.push(r);
    for (const w of r.waves) {
      row(
        `label churn, ${n} of ${total} namespaces, wave ${w.wave} ${w.change}: converged; writes; CPU`,
        `${w.convergedS} s (labels written in ${w.labelledS} s); ${w.writes}; ${w.cpuS} s`,
        `${w.expectedWrites} writes`,
        exact(`churn ${n}/${total} wave ${w.wave} ${w.change}`, w.writes, w.expectedWrites),
      );
    }
  }
  results.churn = runs;
}
if (wanted.has('memory') && !smoke) {
  const runs = [];
  for (const n of size.memory) {
    log(`memory and compliance: ${n} namespaces with 2 tenant policies each, a tenth opening something`);
    const r = await coldStart(n, true);
    runs.push(r);
    row(
      `memory after sync, ${n} namespaces + ${2 * n} tenant policies (all NetworkPolicies cached): RSS / heap used, after the cold start's ${3 * n} writes; after a warm restart`,
      `${r.cold.rssMB} MB / ${r.cold.heapMB} MB; ${r.warm.rssMB} MB / ${r.warm.heapMB} MB`,
      n === 5000 ? 'RSS ≤ 150 MB' : '',
      n === 5000 ? Math.max(r.cold.rssMB, r.warm.rssMB) <= 150 : undefined,
    );
    row(
      `compliance, ${n} namespaces: PolicyReport writes at cold start; at a warm restart`,
      `${r.cold.reportWrites}; ${r.warm.reportWrites}`,
      `${n}; 0`,
      exact(`reports cold ${n}`, r.cold.reportWrites, n) &&
        exact(`reports warm ${n}`, r.warm.reportWrites, 0),
    );
    const o = r.openingToReportMs!;
    row(
      `compliance, ${n} namespaces: a tenant's opening to its report saying fail, ${o.n} openings at 20/s (p50 / p99 / max)`,
      `${o.p50} / ${o.p99} / ${o.max} ms`,
      'p99 ≤ 1 s',
      o.p99 <= 1000,
    );
  }
  results.memory = runs;
}
if (wanted.has('recovery') && !smoke) {
  log(`recovery: the API server away for 20 s, ${size.recoveryRuns} times`);
  const r = await recovery(size.recoveryRuns, 20);
  results.recovery = r;
  const { p50, max } = r.repairedAfterBackMs;
  row(
    `recovery: API server away ${r.downS} s, drift made as it returns: repaired after its return (median / max of ${r.runs})`,
    `${(p50 / 1000).toFixed(2)} / ${(max / 1000).toFixed(2)} s (backoff cut short by up to ${(r.backoffCutShortMs.max / 1000).toFixed(1)} s)`,
    '≤ 2 s',
    max <= 2000,
  );
}
if (wanted.has('failover') && !smoke) {
  log(`failover: ${size.failoverRuns} runs of each`);
  const r = await failover(size.failoverRuns);
  results.failover = r;
  const secs = (ms: number) => (ms / 1000).toFixed(1);
  row(
    'leader failover (default timings), leader killed: median (max)',
    `${secs(r.killedMs.p50)} s (${secs(r.killedMs.max)} s)`,
  );
  row(
    'leader failover, leader stopped (SIGTERM): median (max)',
    `${secs(r.stoppedMs.p50)} s (${secs(r.stoppedMs.max)} s)`,
  );
}

if (wanted.has('wire') && !smoke) {
  log(`wire: ${size.wire} namespaces on a real node`);
  try {
    const r = await wireLatency(size.wire, log);
    results.wire = r;
    const split = (x: {
      total: { p50: number; p99: number };
      controller: { p50: number; p99: number };
      dataplane: { p50: number; p99: number };
    }) =>
      `${x.total.p50} / ${x.total.p99} ms (controller ${x.controller.p50} / ${x.controller.p99}, dataplane ${x.dataplane.p50} / ${x.dataplane.p99})`;
    row(
      `wire: label → first refused connection, ${size.wire} namespaces (p50 / p99)`,
      split(r.labelToRefusedMs),
    );
    const d = r.deleteToRefusedAgainMs;
    row(
      'wire: default-deny-ingress deleted → repaired (controller, p50 / p99); opened on the wire',
      `${d.controller.p50} / ${d.controller.p99} ms; in ${d.openedOnTheWire} of ${size.wire}` +
        (d.openedOnTheWire ? ` (refused again after ${d.total.p50} / ${d.total.p99} ms)` : ''),
    );
  } catch (err) {
    if (!(err instanceof MissingPrerequisiteError)) throw err;
    row('wire: not measured', err.message);
  }
}

if (wanted.has('admission') && !smoke) {
  log(`admission: ${size.admission} NetworkPolicy creates without, then with the tenant-policy guard`);
  const r = await admissionLatency(size.admission);
  results.admission = r;
  row(
    `admission: NetworkPolicy create, ${r.samples} each, without / with the tenant-policy guard (p50 / p99)`,
    `${r.withoutMs.p50} / ${r.withoutMs.p99} ms; ${r.withMs.p50} / ${r.withMs.p99} ms (added ${r.addedMs.p50} / ${r.addedMs.p99})`,
  );
  row(
    'admission: the same create with denyNamedOpenings, its peer sanctioned (p50 / p99)',
    `${r.namedMs.p50} / ${r.namedMs.p99} ms`,
  );
}

const table = [['what', 'figure', 'target', 'met'], ['---', '---', '---', '---'], ...rows]
  .map((r) => `| ${r.join(' | ')} |`)
  .join('\n');
process.stdout.write(`\n${table}\n\n`);

const at = new Date().toISOString().replace(/[:.]/g, '-');
const out = o.out ?? join(repoRoot, 'bench', 'results', `${smoke ? 'smoke-' : ''}${at}.json`);
await mkdir(join(out, '..'), { recursive: true });
await writeFile(
  out,
  `${JSON.stringify({ at: new Date().toISOString(), machine, smoke, guardrails: o.guardrails, pagedLists: o['paged-lists'], results, problems }, null, 2)}\n`,
);
log(`figures written to ${out}`);
if (problems.length) {
  process.stderr.write(`write counts off:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
