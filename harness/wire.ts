// Connections between real Pods on the test node: probe Pods (the controller's own image running
// `probe serve`, an echo on TCP and UDP) in the namespaces a test makes, and attempts from one to
// another through `kubectl exec … probe connect`, the real kubectl through the real kubelet.
import { IMAGE } from './image.ts';
import { PROBE_COMMAND, PROBE_PORT, probePod as podOf } from '../src/probe/pods.ts';
import { eventually } from './wait.ts';
import type { Attempt, Protocol, Resolution } from '../src/probe/wire.ts';
import { type ChildProcess, spawn } from 'node:child_process';
import { ensureGoBinary, KUBECTL } from './gobuild.ts';
import { kubectl, kubectlRun } from './kubectl.ts';

export { PROBE_PORT };

/** Blocked: what a policy that says no looks like on the wire (kube-router rejects; a DROP times out). */
export const BLOCKED = new Set<Attempt['outcome']>(['refused', 'timeout']);

interface PodStatus {
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface ProbePod {
  namespace: string;
  name: string;
  ip: string;
  port: number;
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  port?: number;
}

/** A probe Pod of the controller's image, as built here (never pulled). */
export function probePod(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  port = PROBE_PORT,
) {
  return podOf({ namespace, name, labels, port, image: IMAGE, imagePullPolicy: 'Never' });
}

export class Wire {
  readonly kubeconfig: string;
  /** How long Pods may take to run (many at once take longer). */
  private readonly podTimeoutMs: number;
  private readonly traces = new Set<ChildProcess>();

  constructor(kubeconfig: string, options: { podTimeoutMs?: number } = {}) {
    this.kubeconfig = kubeconfig;
    this.podTimeoutMs = options.podTimeoutMs ?? 60_000;
  }

  private kubectl(args: string[], input = ''): Promise<string> {
    return kubectl(this.kubeconfig, args, input);
  }

  /** Creates probe Pods and waits for each to run with an address. */
  async pods(...pods: PodSpec[]): Promise<ProbePod[]> {
    await this.kubectl(
      ['apply', '--server-side', '-f', '-'],
      pods.map((p) => JSON.stringify(probePod(p.namespace, p.name, p.labels, p.port))).join('\n'),
    );
    return Promise.all(
      pods.map(async ({ namespace, name, port = PROBE_PORT }) => {
        const ip = await eventually(
          async () => {
            const pod = JSON.parse(
              await this.kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'json']),
            ) as PodStatus;
            const ready = pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
            return ready && pod.status.podIP;
          },
          `probe Pod ${namespace}/${name} to run`,
          this.podTimeoutMs,
        );
        return { namespace, name, ip, port };
      }),
    );
  }

  /** One attempt from `from` to `to` (a Pod, or HOST:PORT). */
  async connect(
    from: ProbePod,
    to: ProbePod | string,
    protocol: Protocol = 'tcp',
    timeoutMs = 1500,
    httpPath?: string,
  ): Promise<Attempt> {
    const target = typeof to === 'string' ? to : `${to.ip}:${to.port}`;
    const args = ['connect', target, `--timeout=${timeoutMs}`];
    if (protocol === 'udp') args.push('--udp');
    if (httpPath) args.push(`--http=${httpPath}`);
    return JSON.parse(await this.execProbe(from, args)) as Attempt;
  }

  /** A name resolved from inside `from`, through its resolv.conf (the kube-dns Service). */
  async resolve(from: ProbePod, name: string, protocol: Protocol = 'udp'): Promise<Resolution> {
    const args = ['resolve', name, '--timeout=1500', ...(protocol === 'tcp' ? ['--tcp'] : [])];
    return JSON.parse(await this.execProbe(from, args)) as Resolution;
  }

  /** kubectl's arguments to run `probe …` in `from`'s container (the image has no shell). */
  private probeArgs(from: ProbePod, args: string[]): string[] {
    return ['-n', from.namespace, 'exec', from.name, '--', ...PROBE_COMMAND, ...args];
  }

  /** The probe's JSON line; its exit code 1 (not through) is an answer, not an error. */
  private async execProbe(from: ProbePod, args: string[]): Promise<string> {
    const { code, stdout, stderr } = await kubectlRun(this.kubeconfig, this.probeArgs(from, args));
    if (code > 1 || !stdout.trim())
      throw new Error(`probe in ${from.namespace}/${from.name} (exit ${code}): ${stderr}`);
    return stdout.trim();
  }

  /**
   * Waits until a flow is through (`true`) or blocked (`false`) and returns the last attempt: the
   * dataplane applies a policy change a little after the API server has it.
   */
  async until(
    from: ProbePod,
    to: ProbePod | string,
    through: boolean,
    protocol: Protocol = 'tcp',
    timeoutMs = 30_000,
  ): Promise<Attempt> {
    const what = `${from.namespace}/${from.name} → ${typeof to === 'string' ? to : `${to.namespace}/${to.name}`} (${protocol}) to be ${through ? 'through' : 'blocked'}`;
    return eventually(
      async () => {
        const a = await this.connect(from, to, protocol);
        return (through ? a.outcome === 'connected' : BLOCKED.has(a.outcome)) && a;
      },
      what,
      timeoutMs,
    );
  }

  /**
   * From inside `from`, every 10 ms for `withinMs`, the flow's changes of outcome as they happen
   * (`probe connect --trace`), each stamped with the node's wall clock. Resolves with all of them
   * once the probe ends; `changed` hears each as it comes.
   */
  async trace(
    from: ProbePod,
    to: ProbePod,
    withinMs: number,
    changed: (a: Attempt & { at: number }) => void = () => undefined,
  ): Promise<(Attempt & { at: number })[]> {
    const binary = await ensureGoBinary(KUBECTL);
    const child = spawn(binary, [
      `--kubeconfig=${this.kubeconfig}`,
      ...this.probeArgs(from, [
        'connect',
        `${to.ip}:${to.port}`,
        '--trace',
        `--within=${withinMs}`,
        '--timeout=500',
      ]),
    ]);
    this.traces.add(child);
    child.on('exit', () => this.traces.delete(child));
    const seen: (Attempt & { at: number })[] = [];
    let rest = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim())) {
        const a = JSON.parse(line) as Attempt & { at: number };
        seen.push(a);
        changed(a);
      }
    });
    await new Promise((res) => child.on('exit', res));
    return seen;
  }

  /** Ends every trace still running (its probe in the Pod ends with kubectl exec's stream). */
  stopTraces(): void {
    for (const child of this.traces) child.kill('SIGTERM');
  }
}
