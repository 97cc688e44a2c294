// The benchmark's smoke run (N = 50), so that `npm run bench` keeps working: it starts control
// planes of its own. Write counts are asserted exactly; times never are (they belong to the benchmark).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../harness/gobuild.ts';
import { tempDir } from '../../harness/tmp.ts';

interface Smoke {
  machine: { cores: number; node: string; kubernetes: string };
  results: {
    drift: { drifts: number; writes: number; latencyMs: { n: number } };
    cold: { cold: { policyWrites: number }; warm: { policyWrites: number } }[];
    churn: { waves: { change: string; writes: number }[] }[];
  };
  problems: string[];
}

it('runs every scenario at N = 50 with exactly the writes each needs', { timeout: 300_000 }, async () => {
  const out = join(await tempDir('nic-bench'), 'smoke.json');
  const bench = spawn(
    join(repoRoot, 'node_modules', '.bin', 'node'),
    [join(repoRoot, 'bench', 'run.ts'), '--smoke', '--out', out],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  bench.stdout.on('data', (d: Buffer) => (output += d.toString()));
  bench.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => bench.on('exit', resolve));
  expect(code, output).toBe(0);

  const smoke = JSON.parse(await readFile(out, 'utf8')) as Smoke;
  expect(smoke.problems).toEqual([]);
  expect(smoke.machine.kubernetes).toMatch(/^v1\.\d+\.\d+$/);
  const { drift, cold, churn } = smoke.results;
  expect(drift.drifts).toBe(20);
  expect(drift.latencyMs.n).toBe(20);
  expect(drift.writes).toBe(20);
  expect(cold.map((r) => [r.cold.policyWrites, r.warm.policyWrites])).toEqual([[150, 0]]);
  expect(churn.map((c) => c.waves.map((w) => [w.change, w.writes]))).toEqual([
    [
      ['unlabel', 150],
      ['label', 150],
    ],
  ]);
  // The table a reader sees.
  expect(output).toContain(
    '| cold start, 50 namespaces: policy writes; Events | 150; 50 | 150; ≤ 50 | yes |',
  );
});
