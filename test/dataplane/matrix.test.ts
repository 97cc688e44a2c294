// Each shipped profile on the wire: which flows its namespaces let through, TCP and UDP, with real
// Pods on a real node and kube-router enforcing what the controller wrote. The table below is the
// specification; the run prints the table it measured (docs/dataplane.md holds the last one), and
// the compliance verdict of each namespace must agree: pass, with these flows and no others.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures } from '../support/fixtures.ts';
import { type ProbePod, Wire } from '../../harness/wire.ts';

const kubeconfig = inject('nodeKubeconfig');
const kube = fixtures(kubeconfig);
const wire = new Wire(kubeconfig);
let ctl: Awaited<ReturnType<typeof startTestController>>;
/** The API server, as Pods reach it: the kubernetes Service. */
const API_SERVER = '10.96.0.1:443';

type Flow =
  | 'same namespace'
  | 'from another namespace of the profile'
  | 'from an unlabelled namespace'
  | 'to another namespace of the profile'
  | 'to an unlabelled namespace'
  | 'to kube-system, not DNS'
  | 'to the API server'
  | 'DNS';

/** What each profile promises: true = through. */
const PROMISES: Record<string, Record<Flow, boolean>> = {
  strict: {
    'same namespace': true,
    'from another namespace of the profile': false,
    'from an unlabelled namespace': false,
    'to another namespace of the profile': false,
    'to an unlabelled namespace': false,
    'to kube-system, not DNS': false,
    'to the API server': false,
    DNS: true,
  },
  'same-namespace-only': {
    'same namespace': true,
    'from another namespace of the profile': false,
    'from an unlabelled namespace': false,
    'to another namespace of the profile': false, // that namespace's ingress says no
    'to an unlabelled namespace': true,
    'to kube-system, not DNS': true,
    'to the API server': true,
    DNS: true,
  },
  'default-deny-ingress': {
    'same namespace': false,
    'from another namespace of the profile': false,
    'from an unlabelled namespace': false,
    'to another namespace of the profile': false,
    'to an unlabelled namespace': true,
    'to kube-system, not DNS': true,
    'to the API server': true,
    DNS: true,
  },
};

const measured: string[] = [];
let sys: ProbePod;

beforeAll(async () => {
  ctl = await startTestController(kubeconfig);
  [sys] = (await wire.pods({ namespace: 'kube-system', name: 'matrix-system' })) as [ProbePod];
});

afterAll(async () => {
  await ctl?.stop();
  await kube.close();
  const profiles = Object.keys(PROMISES);
  console.log(
    [
      '| flow | ' + profiles.join(' | ') + ' |',
      `|---|${profiles.map(() => '---').join('|')}|`,
      ...measured,
    ].join('\n'),
  );
});

const verdictOf = (ns: string) => kube.verdict(ns);

const results = new Map<string, Map<Flow, string>>();

describe.each(Object.keys(PROMISES))('profile %s, on the wire', (profile) => {
  let x1: ProbePod, x2: ProbePod, y1: ProbePod, u1: ProbePod;
  const promised = PROMISES[profile]!;
  const seen = new Map<Flow, string>();
  results.set(profile, seen);

  beforeAll(async () => {
    const short = profile
      .split('-')
      .map((w) => w[0])
      .join('');
    const [x, y, u] = [
      await kube.namespace(`m-${short}-x`, { isolation: profile }),
      await kube.namespace(`m-${short}-y`, { isolation: profile }),
      await kube.namespace(`m-${short}-u`),
    ];
    for (const ns of [x, y])
      await eventually(async () => (await kube.managedNames(ns)).length > 0, `${ns}'s policies`);
    [x1, x2, y1, u1] = (await wire.pods(
      { namespace: x, name: 'x1' },
      { namespace: x, name: 'x2' },
      { namespace: y, name: 'y1' },
      { namespace: u, name: 'u1' },
    )) as [ProbePod, ProbePod, ProbePod, ProbePod];
  });

  it.each(['tcp', 'udp'] as const)('lets through exactly what it promises, over %s', async (protocol) => {
    const flows: [Flow, ProbePod, ProbePod | string][] = [
      ['same namespace', x2, x1],
      ['from another namespace of the profile', y1, x1],
      ['from an unlabelled namespace', u1, x1],
      ['to another namespace of the profile', x1, y1],
      ['to an unlabelled namespace', x1, u1],
      ['to kube-system, not DNS', x1, sys],
    ];
    if (protocol === 'tcp') flows.push(['to the API server', x1, API_SERVER]);
    for (const [flow, from, to] of flows) {
      const a = await wire.until(from, to, promised[flow], protocol);
      const mark = promised[flow] ? 'through' : a.outcome;
      seen.set(flow, seen.has(flow) ? `${seen.get(flow)}, ${protocol} ${mark}` : `${protocol} ${mark}`);
    }
    // The control: an unlabelled namespace's Pod reaches kube-system as before.
    expect((await wire.connect(u1, sys, protocol)).outcome).toBe('connected');
  });

  it('resolves names over UDP and TCP, and its verdict is pass', async () => {
    for (const protocol of ['udp', 'tcp'] as const) {
      const r = await eventually(async () => {
        const answer = await wire.resolve(x1, 'kubernetes.default', protocol);
        return answer.outcome === 'resolved' && answer;
      }, `kubernetes.default from ${x1.namespace} over ${protocol}`);
      expect(r.addresses).toEqual(['10.96.0.1']);
    }
    expect(promised.DNS).toBe(true);
    seen.set('DNS', 'udp and tcp resolve');
    for (const ns of [x1.namespace, y1.namespace])
      await eventually(async () => (await verdictOf(ns)) === 'pass', `${ns}'s verdict to be pass`);
    const row = (flow: Flow) =>
      `| ${flow} | ${Object.keys(PROMISES)
        .map((p) => results.get(p)?.get(flow) ?? '')
        .join(' | ')} |`;
    if (profile === 'default-deny-ingress') measured.push(...(Object.keys(promised) as Flow[]).map(row));
  });
});
