// Changes on the wire: a tenant's opening, the label going and coming back, a managed policy
// deleted by hand. Real Pods on a real node, kube-router enforcing what the controller writes; the
// compliance verdict must say what the packets do.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resourcePath } from '../../src/kube/resources.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures, policiesPath } from '../support/fixtures.ts';
import { type ProbePod, Wire } from '../../harness/wire.ts';

const kubeconfig = inject('nodeKubeconfig');
const kube = fixtures(kubeconfig);
const wire = new Wire(kubeconfig);
let ctl: Awaited<ReturnType<typeof startTestController>>;
let a1: ProbePod, b1: ProbePod, o1: ProbePod;

const label = (ns: string, value: string | null) =>
  kube.raw.request('PATCH', resourcePath('Namespace', undefined, ns), {
    body: { metadata: { labels: { isolation: value } } },
    contentType: 'application/merge-patch+json',
  });
const verdictOf = (ns: string) => kube.verdict(ns);

beforeAll(async () => {
  ctl = await startTestController(kubeconfig);
  const [a, b, open] = [
    await kube.namespace('wire-a', { isolation: 'strict' }),
    await kube.namespace('wire-b', { isolation: 'strict' }),
    await kube.namespace('wire-open'),
  ];
  for (const ns of [a, b]) await kube.inSync(ns);
  [a1, b1, o1] = (await wire.pods(
    { namespace: a, name: 'a1' },
    { namespace: b, name: 'b1' },
    { namespace: open, name: 'o1' },
  )) as [ProbePod, ProbePod, ProbePod];
});

afterAll(async () => {
  await ctl?.stop();
  await kube.close();
});

describe('changes, on the wire', () => {
  it('a tenant allow-all re-opens the namespace on the wire and fails it; deleted, closed again and passing', async () => {
    await eventually(async () => (await verdictOf(a1.namespace)) === 'pass', 'the verdict pass');
    await kube.raw.request('POST', policiesPath(a1.namespace), {
      body: { metadata: { name: 'allow-all' }, spec: { podSelector: {}, ingress: [{}] } },
    });
    // From an unlabelled namespace (a strict one's own egress would still say no).
    await wire.until(o1, a1, true);
    await eventually(async () => (await verdictOf(a1.namespace)) === 'fail', 'the verdict fail');
    await kube.raw.request('DELETE', `${policiesPath(a1.namespace)}/allow-all`);
    await wire.until(o1, a1, false);
    await eventually(async () => (await verdictOf(a1.namespace)) === 'pass', 'the verdict pass again');
  });

  it('opens when the label goes and closes when it comes back; a policy deleted by hand is repaired and closes again', async () => {
    const ns = b1.namespace;
    await label(ns, null);
    await wire.until(a1, b1, false); // a's own egress still says no
    await wire.until(o1, b1, true);
    await label(ns, 'strict');
    await wire.until(o1, b1, false);
    await kube.raw.request('DELETE', `${policiesPath(ns)}/default-deny-all`);
    await eventually(async () => (await kube.managedNames(ns)).includes('default-deny-all'), 'the repair');
    await wire.until(o1, b1, false);
    expect((await wire.connect(o1, b1)).outcome).toBe('refused');
  });
});
