// Summarises a V8 CPU profile (`npm run bench -- --profile DIR` writes one per controller process):
// the functions with the most self time, and self time by where the code comes from.
//
//   node bench/profile.ts DIR/CPU.*.cpuprofile [--top 25]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const profile = JSON.parse(await readFile(positionals[0]!, 'utf8')) as Profile;

// Self time per node: each sample's delta goes to the node it hit.
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

/** Where a function comes from: our source file, a package, Node itself, or V8's own work. */
function origin(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const ours = /\/(?:dist|src)\/(.+)$/.exec(url);
  return ours ? ours[1]!.replace(/\.js$/, '') : url;
}

const total = [...self.values()].reduce((a, b) => a + b, 0);
const fns = new Map<string, number>();
const origins = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = origin(url, functionName);
  const fn = `${functionName || '(anonymous)'} ${url ? `${where}:${lineNumber + 1}` : ''}`.trim();
  fns.set(fn, (fns.get(fn) ?? 0) + us);
  origins.set(where, (origins.get(where) ?? 0) + us);
}

const top = Number(values.top);
const table = (title: string, m: Map<string, number>) => {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\n| ${title} | self ms | share |\n| --- | --- | --- |\n`);
  for (const [k, us] of rows)
    process.stdout.write(`| \`${k}\` | ${Math.round(us / 1000)} | ${((100 * us) / total).toFixed(1)}% |\n`);
};
process.stdout.write(
  `sampled ${Math.round(total / 1000)} ms over ${Math.round((profile.endTime - profile.startTime) / 1000)} ms\n`,
);
table('where (self time)', origins);
table('function (self time)', fns);
