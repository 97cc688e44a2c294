// Summarises a V8 CPU profile (`npm run bench -- --profile DIR` writes one per controller process):
// the controller's busy time by owner, and the functions with the most self time. A sample's
// owner is the nearest frame on its stack that is a package or our own code (Node's internals
// and native frames are charged to whoever called them). In the bundle, each line is mapped back
// to its module by the `// src/...` and `// node_modules/...` markers esbuild writes.
//
//   node bench/profile.ts DIR/CPU.*.cpuprofile [--top 15]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** For a bundle: the module each line belongs to, from esbuild's path comments. */
const bundles = new Map<string, { line: number; module: string }[]>();
function bundleModule(url: string, line: number): string | undefined {
  if (!url.endsWith('/dist/main.js')) return undefined;
  let marks = bundles.get(url);
  if (!marks) {
    marks = [];
    readFileSync(fileURLToPath(url), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = /^\/\/ ((?:src|node_modules)\/.+)$/.exec(text);
        if (m) marks!.push({ line: i, module: m[1]! });
      });
    bundles.set(url, marks);
  }
  let found: string | undefined;
  for (const m of marks) if (m.line <= line) found = m.module;
  return found;
}

/** Our module (`kube/client`), a package (`undici`), or undefined for Node's own and V8's. */
function owner(frame: ProfileNode['callFrame']): string | undefined {
  const path = bundleModule(frame.url, frame.lineNumber) ?? frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1];
  // src/ in the bundle's markers or run from source; dist/ as tsc compiled it before the bundle.
  const ours = /(?:^|\/)(?:src|dist)\/(.+?)\.[jt]s$/.exec(path);
  return ours?.[1];
}

let busy = 0;
const owners = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of self) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') continue;
  busy += us;
  let key: string | undefined;
  for (let cur: number | undefined = id; cur !== undefined && !key; cur = parent.get(cur)) {
    const o = owner(byId.get(cur)!.callFrame);
    if (o) key = o.includes('/') && !o.startsWith('@') ? `${o} ${byId.get(cur)!.callFrame.functionName}` : o;
  }
  key ??= frame.functionName.startsWith('(') ? frame.functionName : '(Node, from no code of ours)';
  owners.set(key, (owners.get(key) ?? 0) + us);
  const fn = `${frame.functionName || '(anonymous)'}${owner(frame) ? ` (${owner(frame)})` : ''}`;
  functions.set(fn, (functions.get(fn) ?? 0) + us);
}

const table = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n| ${title} | ms | share of busy |\n| --- | --- | --- |\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(`| \`${k}\` | ${Math.round(us / 1000)} | ${((100 * us) / busy).toFixed(1)}% |\n`);
};
process.stdout.write(`busy (not idle): ${Math.round(busy / 1000)} ms\n`);
table('owner (the package, or our function, nearest the sample)', owners);
table('function (self time)', functions);
