// Faults of the dataplane and of the controller, seen on the wire: kube-router losing its rules
// and coming back enforces again without a write from the controller; the controller gone,
// existing isolation stays enforced.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalNode } from '../../harness/node.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures } from '../support/fixtures.ts';
import { BLOCKED, type ProbePod, Wire } from '../../harness/wire.ts';

const kubeconfig = inject('nodeKubeconfig');
const node = LocalNode.attach(inject('nodeId'));
const kube = fixtures(kubeconfig);
const wire = new Wire(kubeconfig);
let ctl: Awaited<ReturnType<typeof startTestController>> | undefined;
let x1: ProbePod, x2: ProbePod, u1: ProbePod;

beforeAll(async () => {
  ctl = await startTestController(kubeconfig);
  const [x, u] = [await kube.namespace('f-x', { isolation: 'strict' }), await kube.namespace('f-u')];
  await kube.inSync(x);
  [x1, x2, u1] = (await wire.pods(
    { namespace: x, name: 'x1' },
    { namespace: x, name: 'x2' },
    { namespace: u, name: 'u1' },
  )) as [ProbePod, ProbePod, ProbePod];
  await wire.until(u1, x1, false);
});

afterAll(async () => {
  await ctl?.stop();
  await kube.close();
});

describe('faults, on the wire', () => {
  it('kube-router stopped and its rules flushed opens the namespace; restarted, it is enforced again without a write', async () => {
    await ctl!.idle();
    const before = ctl!.writes();
    await node.stopKubeRouter();
    await node.flushKubeRouter();
    await wire.until(u1, x1, true); // nothing enforces: the objects alone isolate nothing
    await node.startKubeRouter();
    await wire.until(u1, x1, false);
    await wire.until(x2, x1, true);
    expect(ctl!.writes()).toEqual(before);
  });

  it('the controller gone, existing isolation stays enforced', async () => {
    await ctl!.stop();
    ctl = undefined;
    for (let i = 0; i < 3; i++) expect(BLOCKED.has((await wire.connect(u1, x1)).outcome)).toBe(true);
    expect((await wire.connect(x2, x1)).outcome).toBe('connected');
  });
});
