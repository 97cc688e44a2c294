// kubectl-isolation, the single executable (npm run build:cli; provided before the tests like the
// other tools): no Node.js or node_modules of its own to find, the subcommands and exit codes of
// the command line, against the shared control plane; found by the real kubectl as its plugin, and
// installed by the real krew from the manifest and archive the build makes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { ensureGoBinary, KREW, KUBECTL } from '../../harness/gobuild.ts';
import { kubectl } from '../../harness/kubectl.ts';
import { ARM64_SYSROOT, ensureCli } from '../../harness/prerequisites.ts';
import { isolationVerdicts } from '../../src/cli/schema.ts';
import { VERSION } from '../../src/version.ts';

const kubeconfig = inject('kubeconfig');
let binary: string;
let dir: string;

/** Runs `program` from the test's empty folder, with only `env`. */
function run(program: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(program, args, { cwd: dir, env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** The executable with no PATH: it needs nothing but itself. */
const cli = (args: string[]) => run(binary, args, { HOME: dir });

beforeAll(async () => {
  binary = await ensureCli();
  dir = await mkdtemp(join(tmpdir(), 'nic-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('kubectl-isolation, one executable', () => {
  it('says its version, and its usage when run without a command (never the controller)', async () => {
    expect(await cli(['version'])).toMatchObject({
      code: 0,
      stdout: `namespace-isolation-controller ${VERSION}\n`,
    });
    const bare = await cli([]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^usage: /);
  });

  it('judges manifests with check -f: exit 1 on a fail; a missing file is exit 2 saying so', async () => {
    const file = join(dir, 'team.yaml');
    await writeFile(
      file,
      [
        'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {isolation: strict}}',
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-all, namespace: team-a}\nspec: {podSelector: {}, ingress: [{}]}',
      ].join('\n---\n'),
    );
    const found = await cli(['check', '-f', file]);
    expect(found.stdout).toContain(
      'team-a     strict   fail     allow-all: opens ingress to all pods from everyone',
    );
    expect(found.code).toBe(1);
    const missing = await cli(['check', '-f', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('check -f: ENOENT: no such file or directory');
  });

  it('is found by the real kubectl as its plugin `kubectl isolation`, on PATH', async () => {
    const all = await run(
      await ensureGoBinary(KUBECTL),
      ['isolation', 'check', '--all', '--kubeconfig', kubeconfig],
      {
        HOME: dir,
        PATH: dirname(binary),
      },
    );
    expect(all.stdout).toMatch(/^NAMESPACE +PROFILE +VERDICT +REASONS\n/);
    expect([0, 1]).toContain(all.code);
  });

  it('installs with the real krew from its manifest and archive, offline, and runs as `kubectl isolation`', async () => {
    const out = dirname(binary);
    const archive = 'kubectl-isolation-linux-amd64.tar.gz';
    const root = join(dir, 'krew');
    const installed = await run(
      await ensureGoBinary(KREW),
      ['install', `--manifest=${join(out, 'isolation.yaml')}`, `--archive=${join(out, archive)}`],
      { KREW_ROOT: root, HOME: dir },
    );
    expect(installed.stderr).toContain('Installed plugin: isolation');
    expect(installed.code).toBe(0);
    const kubectl = await ensureGoBinary(KUBECTL);
    const version = await run(kubectl, ['isolation', 'version'], { HOME: dir, PATH: join(root, 'bin') });
    expect(version.stdout).toBe(`namespace-isolation-controller ${VERSION}\n`);
    const all = await run(kubectl, ['isolation', 'check', '--all', '--kubeconfig', kubeconfig], {
      HOME: dir,
      PATH: join(root, 'bin'),
    });
    expect(all.stdout).toMatch(/^NAMESPACE +PROFILE +VERDICT +REASONS\n/);
  });

  it('is cross-built for linux-arm64: krew installs that archive for an arm64 machine, and it runs there (qemu)', async () => {
    const out = dirname(binary);
    const root = join(dir, 'krew-arm64');
    // krew's own override of the machine it installs for (KREW_OS, KREW_ARCH), as its tests use it.
    const installed = await run(
      await ensureGoBinary(KREW),
      [
        'install',
        `--manifest=${join(out, 'isolation.yaml')}`,
        `--archive=${join(out, 'kubectl-isolation-linux-arm64.tar.gz')}`,
      ],
      { KREW_ROOT: root, HOME: dir, KREW_ARCH: 'arm64' },
    );
    expect(installed.stderr).toContain('Installed plugin: isolation');
    const executable = join(root, 'bin', 'kubectl-isolation');
    const arm = (args: string[]) =>
      run('/usr/bin/qemu-aarch64', ['-L', ARM64_SYSROOT, executable, ...args], { HOME: dir });
    expect((await readFile(executable)).subarray(18, 20).readUInt16LE()).toBe(183); // ELF e_machine: AArch64
    expect(await arm(['version'])).toMatchObject({
      code: 0,
      stdout: `namespace-isolation-controller ${VERSION}\n`,
    });
    const file = join(dir, 'arm.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {isolation: strict}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-all, namespace: team-a}\nspec: {podSelector: {}, ingress: [{}]}\n',
    );
    const [onArm, here] = await Promise.all([arm(['check', '-f', file]), cli(['check', '-f', file])]);
    expect(onArm.code).toBe(1);
    expect(onArm.stdout).toContain(
      'team-a     strict   fail     allow-all: opens ingress to all pods from everyone',
    );
    expect(onArm.stdout).toBe(here.stdout);
  });

  it('completes in the real bash from its own flag table: source <(kubectl-isolation completion bash)', async () => {
    const script = [
      `source <("${binary}" completion bash)`,
      `COMP_WORDS=("${binary}" check --pr); COMP_CWORD=2; _kubectl_isolation; echo "\${COMPREPLY[*]}"`,
      `COMP_WORDS=("${binary}" check -o ""); COMP_CWORD=3; _kubectl_isolation; echo "\${COMPREPLY[*]}"`,
    ].join('\n');
    const r = await run('/bin/bash', ['-c', script], { HOME: dir, PATH: '/usr/bin:/bin' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('--profile --probe\ntable json yaml\n');
    // kubectl's own completion of `kubectl isolation …`, through kubectl_complete-isolation on PATH.
    const kubectl = await run(await ensureGoBinary(KUBECTL), ['__complete', 'isolation', 'check', '--pr'], {
      HOME: dir,
      PATH: `${dirname(binary)}:/usr/bin:/bin`,
    });
    expect(kubectl.stdout).toBe('--profile\n--probe\n:4\n');
  });

  it('checks a live cluster with --kubeconfig, as the bundled controller does', async () => {
    const all = await cli(['check', '--all', '-o', 'json', '--kubeconfig', kubeconfig]);
    expect(all.stderr).toBe('');
    expect(JSON.parse(all.stdout)).toMatchObject({ kind: 'IsolationVerdicts' });
    expect([0, 1]).toContain(all.code);
    // kubectl's --context: the one named, or exit 2 naming those there are.
    const current = (parse(await readFile(kubeconfig, 'utf8')) as { 'current-context': string })[
      'current-context'
    ];
    const named = await cli([
      'check',
      '--all',
      '-o',
      'json',
      '--kubeconfig',
      kubeconfig,
      '--context',
      current,
    ]);
    expect(JSON.parse(named.stdout)).toMatchObject({ kind: 'IsolationVerdicts' });
    const absent = await cli(['check', '--all', '--kubeconfig', kubeconfig, '--context', 'nowhere']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(
      `--context nowhere: kubeconfig ${kubeconfig} defines no such context (defined: ${current})`,
    );
  });

  it('prints one namespace as the documented schema says, -o json or -o yaml: verdict, openings and the diff', async () => {
    // No controller runs here: the profile's policies are missing, a tenant's allow-all is there.
    const ns = `it-cli-doc-${Date.now().toString(36)}`;
    await kubectl(
      kubeconfig,
      ['apply', '-f', '-'],
      [
        `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {isolation: strict}}`,
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-all, namespace: ${ns}}\nspec: {podSelector: {}, ingress: [{}]}`,
      ].join('\n---\n'),
    );
    try {
      const args = ['check', '--namespace', ns, '--kubeconfig', kubeconfig];
      const json = await cli([...args, '-o', 'json']);
      const yaml = await cli([...args, '-o', 'yaml']);
      expect([json.code, yaml.code, json.stderr, yaml.stderr]).toEqual([1, 1, '', '']);
      const doc = isolationVerdicts.parse(JSON.parse(json.stdout));
      expect(isolationVerdicts.parse(parse(yaml.stdout))).toEqual(doc);
      expect(doc.source).toBe('cluster');
      const [one, ...others] = doc.namespaces;
      expect(others).toEqual([]);
      expect(one).toMatchObject({ namespace: ns, profile: 'strict', verdict: 'fail' });
      expect(one!.results.find((r) => r.policy === 'allow-all')!.openings[0]).toMatchObject({
        reach: { kind: 'everyone' },
        severity: 'fail',
      });
      // In the order the controller writes them: the gate policy last.
      expect(one!.changes.map((c) => [c.policy, c.change])).toEqual([
        ['allow-dns', 'create'],
        ['allow-same-namespace', 'create'],
        ['default-deny-all', 'create'],
      ]);
      expect(one!.changes[2]!.diff).toContain(`+++ controller/${ns}/default-deny-all`);
      expect(one!.changes[2]!.diff).toContain('+  name: default-deny-all');
      // Not for the plain check, which compares every namespace and the guardrails.
      const plain = await cli(['check', '-o', 'json', '--kubeconfig', kubeconfig]);
      expect(plain.code).toBe(2);
      expect(plain.stderr).toContain('--output json: with check --all, --namespace, -f or --probe');
    } finally {
      await kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
    }
  });
});
