// The image as a container (podman, or Docker where one runs), the way the Deployment runs it: a
// read-only root filesystem, uid 1000, every capability dropped, no privilege escalation, and
// the host's network to reach the local control plane. It authenticates through an exec plugin
// (so client-node's bundled chunk runs too), becomes ready, converges a labelled namespace,
// serves /metrics, and exits 0 on SIGTERM well inside the grace period.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type Engine, engineRun, ensureImage } from '../../harness/image.ts';
import { VERSION as version } from '../../src/version.ts';
import { freePort } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { STRICT, fixtures } from '../support/fixtures.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { uniqueName } from '../support/kube.ts';

const kubeconfig = inject('kubeconfig');
const admin = new KubeClient(loadKubeConfig(kubeconfig));
const { namespace, managedNames } = fixtures(kubeconfig);
/** The Deployment's terminationGracePeriodSeconds: `stop` sends SIGKILL after it. */
const GRACE_SECONDS = 30;

/** The admin kubeconfig with its token handed over by an exec plugin: node inside the image. */
async function execKubeconfig(dir: string): Promise<string> {
  const config = parse(await readFile(kubeconfig, 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[];
  };
  for (const entry of config.users) {
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: entry.user.token },
    };
    entry.user = {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/usr/local/bin/node',
        args: ['-e', `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})`],
        interactiveMode: 'Never',
      },
    };
  }
  const path = join(dir, 'kubeconfig');
  await writeFile(path, stringify(config));
  // Readable by uid 1000 in the container.
  await chmod(path, 0o644);
  return path;
}

let engine: Engine;
let image: string;
let dir: string;
const container = uniqueName('nic-image-test');
let run: ChildProcess | undefined;
let output = '';
let exited: Promise<number | null>;

beforeAll(async () => {
  // Built before the first test by the prerequisites step: this only finds it.
  ({ engine, image } = await ensureImage());
  dir = await mkdtemp(join(tmpdir(), 'nic-image-'));
});

afterAll(async () => {
  if (run && run.exitCode === null) await engineRun(engine, ['rm', '-f', container]).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
  await admin.close();
});

describe('the image', () => {
  it('is labelled with the release and runs as uid 1000, with nothing but node to run', async () => {
    const [inspected] = JSON.parse(await engineRun(engine, ['image', 'inspect', image])) as {
      Config: { User: string; Labels: Record<string, string>; Entrypoint: string[] };
    }[];
    expect(inspected!.Config.User).toBe('1000:1000');
    const labels = inspected!.Config.Labels;
    expect(labels['org.opencontainers.image.version']).toBe(version);
    expect(labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\/github\.com\//);
    expect(inspected!.Config.Entrypoint).toEqual(['/usr/local/bin/node', 'dist/main.js']);
    // No shell to run: the image has node and its libraries, nothing else.
    await expect(
      engineRun(engine, ['run', '--rm', '--entrypoint', '/bin/sh', image, '-c', 'true']),
    ).rejects.toThrow();
    expect((await engineRun(engine, ['run', '--rm', image, '--version'])).trim()).toBe(
      `namespace-isolation-controller ${version}`,
    );
  });

  it('runs read-only as uid 1000 without capabilities: ready, converges, serves /metrics, exits 0 on SIGTERM', async () => {
    const leaseNamespace = await namespace('image-lease');
    const config = await execKubeconfig(dir);
    const [metricsPort, probePort] = [await freePort(), await freePort()];
    const [bin, ...pre] = engine.command;
    run = spawn(
      bin,
      [
        ...pre,
        'run',
        '--rm',
        '--name',
        container,
        '--network=host',
        '--read-only',
        '--user',
        '1000:1000',
        '--cap-drop=ALL',
        '--security-opt=no-new-privileges',
        '-v',
        `${config}:/etc/nic/kubeconfig:ro`,
        image,
        '--kubeconfig=/etc/nic/kubeconfig',
        '--config=/app/config/controller.yaml',
        '--leader-elect',
        `--leader-election-namespace=${leaseNamespace}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--health-probe-bind-address=127.0.0.1:${probePort}`,
      ],
      { env: engine.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    run.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    run.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((res) => run!.on('exit', res));

    await eventually(
      async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200,
      'the container to be ready',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${output.slice(-3000)}`);
    });

    const ns = await namespace('image', { isolation: 'strict' });
    await eventually(
      async () => (await managedNames(ns)).join() === STRICT.join(),
      `the container to create ${ns}'s policies`,
    );

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain(`namespace_isolation_build_info{version="${version}",node_version="v24.`);
    expect(metrics).toMatch(
      /^controller_runtime_reconcile_total\{controller="namespace-isolation",result="success"\} [1-9]/m,
    );

    // `stop` sends SIGTERM, then SIGKILL after the grace period: exit code 0 means it left by itself.
    await engineRun(engine, ['stop', '--time', String(GRACE_SECONDS), container]);
    expect(await exited, output.slice(-2000)).toBe(0);
    expect(output).toContain('"msg":"released the lease"');
    for (const name of [ns, leaseNamespace])
      await admin.request('DELETE', resourcePath('Namespace', undefined, name));
  }, 180_000);

  it('runs the command line too, for teams that allow only images: check --all, check -f', async () => {
    const config = await execKubeconfig(dir);
    const manifests = join(dir, 'manifests.yaml');
    await writeFile(
      manifests,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {isolation: strict}}\n',
    );
    await chmod(manifests, 0o644);
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const [bin, ...pre] = engine.command;
        const mounts = ['-v', `${config}:/kube/config:ro`, '-v', `${manifests}:/work/manifests.yaml:ro`];
        const child = spawn(bin, [...pre, 'run', '--rm', '--network=host', ...mounts, image, ...args], {
          env: engine.env,
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });
    // The shared cluster holds other tests' failing namespaces: exit 1 is a verdict, not an error.
    const all = await cli(['check', '--all', '-o', 'json', '--kubeconfig', '/kube/config']);
    expect(JSON.parse(all.out), all.out).toMatchObject({ kind: 'IsolationVerdicts' });
    expect([0, 1]).toContain(all.code);
    const files = await cli(['check', '-f', '/work/manifests.yaml']);
    expect(files.out).toContain('team-a     strict   pass');
    expect(files.code).toBe(0);
  }, 120_000);
});
