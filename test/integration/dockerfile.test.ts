// No Docker engine runs here, so the Dockerfile is checked against what it would see: the build
// context left by .dockerignore, the compiler's output, and the production dependencies.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../harness/gobuild.ts';

const run = promisify(execFile);
const node = join(repoRoot, 'node_modules', '.bin', 'node');
// Inside the repository, so that the compiled ESM finds package.json ("type": "module") and node_modules.
const outDir = join(repoRoot, '.cache', 'docker-dist');

interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

function dockerfile(text: string) {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: {
    name: string | undefined;
    base: string;
    copies: Copy[];
    run: string[];
    user?: string;
    entrypoint?: string[];
  }[] = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instruction === 'FROM') {
      const [base, , name] = rest;
      stages.push({ name, base: base!, copies: [], run: [] });
      continue;
    }
    const stage = stages.at(-1)!;
    if (instruction === 'COPY') {
      const from = /^--from=(\S+)/.exec(rest[0]!)?.[1];
      const paths = from ? rest.slice(1) : rest;
      stage.copies.push({ from, sources: paths.slice(0, -1), destination: paths.at(-1)! });
    } else if (instruction === 'RUN') stage.run.push(args);
    else if (instruction === 'USER') stage.user = args;
    else if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(args) as string[];
  }
  return stages;
}

/** A .dockerignore pattern as Docker reads it: Go's filepath.Match (`*` matches dotfiles too) plus `**`. */
function dockerPattern(pattern: string): RegExp {
  const body = pattern
    .replace(/\/$/, '')
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) =>
      part.startsWith('**')
        ? '(?:.*/)?'
        : part === '*'
          ? '[^/]*'
          : part === '?'
            ? '[^/]'
            : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

/** Docker's .dockerignore rules: the last matching pattern wins; a pattern matches a path or a parent. */
function inContext(patterns: string[], path: string): boolean {
  const parents = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = dockerPattern(negated ? raw.slice(1) : raw);
    if (parents.some((p) => pattern.test(p))) included = negated;
  }
  return included;
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(join(repoRoot, dir), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(repoRoot, join(e.parentPath, e.name)));
}

const stages = dockerfile(await readFile(join(repoRoot, 'Dockerfile'), 'utf8'));
const ignore = (await readFile(join(repoRoot, '.dockerignore'), 'utf8'))
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const runtime = stages.at(-1)!;

describe('Dockerfile', () => {
  beforeAll(async () => {
    await rm(outDir, { recursive: true, force: true });
    // The build stage's command, into a scratch folder.
    await run(node, [join(repoRoot, 'scripts/build.ts'), '--outdir', outDir], { cwd: repoRoot });
  });

  it('builds on Node 24 and runs on Node 24', () => {
    for (const stage of stages) expect(stage.base).toMatch(/^node:24[-.]/);
  });

  it('copies from the build context only files that exist and .dockerignore lets through', async () => {
    const copied = stages.flatMap((s) => s.copies.filter((c) => !c.from).flatMap((c) => c.sources));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      const all = source === 'src' ? await files('src') : [source];
      for (const f of all)
        expect(inContext(ignore, f), `${f} in the build context`).toBe(!f.endsWith('.test.ts'));
    }
    // What must stay out: dependencies, caches, the tests and the git history.
    for (const f of [
      'node_modules/pino/package.json',
      '.cache/bin/controlplane',
      'test/support/wait.ts',
      '.git/HEAD',
    ]) {
      expect(inContext(ignore, f), f).toBe(false);
    }
  });

  it('compiles to the entrypoint it runs, which starts with production dependencies only', async () => {
    const build = stages.find((s) => s.name === 'build')!;
    expect(build.run.at(-1)).toBe('node scripts/build.ts');
    expect(runtime.copies).toContainEqual({ from: 'build', sources: ['/app/dist'], destination: './dist' });
    expect(runtime.entrypoint).toEqual(['node', 'dist/main.js']);
    expect(existsSync(join(outDir, 'main.js'))).toBe(true);
    expect(existsSync(join(outDir, 'main.test.js'))).toBe(false);

    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imported = new Set<string>();
    for (const f of (await files(relative(repoRoot, outDir))).filter((f) => f.endsWith('.js'))) {
      // Without the bundled packages' JSDoc (`@param {import('net').Socket}`).
      const code = (await readFile(join(repoRoot, f), 'utf8')).replace(/^\s*(\*|\/\/).*$/gm, '');
      // Import statements start a line; a dynamic import() may be anywhere. Not " from '" in a string.
      const imports =
        /(?:^(?:import|export)\b[^;'"]*?\bfrom\s*|^import\s*|\bimport\s*\(\s*)['"]([^'".][^'"]*)['"]/gm;
      for (const [, spec] of code.matchAll(imports)) {
        if (!spec!.startsWith('node:'))
          imported.add(
            spec!
              .split('/')
              .slice(0, spec!.startsWith('@') ? 2 : 1)
              .join('/'),
          );
      }
    }
    for (const dep of imported)
      expect(Object.keys(pkg.dependencies), `${dep} is a production dependency`).toContain(dep);

    const { stdout } = await run(node, [join(outDir, 'main.js'), 'render', '--namespace', 'team-a']);
    expect(stdout).toContain('name: allow-dns');
  });

  it('runs as the non-root user the Deployment names', async () => {
    const deployment = parse(await readFile(join(repoRoot, 'manifests/base/deployment.yaml'), 'utf8')) as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    };
    const { runAsUser, runAsGroup } = deployment.spec.template.spec.securityContext;
    expect(runtime.user).toBe(`${runAsUser}:${runAsGroup}`);
    expect(runAsUser).toBeGreaterThan(0);
    expect(runtime.copies.map((c) => c.sources.join())).toContain('config/controller.yaml');
  });
});
