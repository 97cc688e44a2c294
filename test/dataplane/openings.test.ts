// Openings on the wire: allow-kube-apiserver lets a namespace's Pods reach the API server (its
// addresses read from the kubernetes EndpointSlice), a sanctioned opening lets exactly its peer
// and port through, and one sanctioned for some pods reaches those pods only; the verdict stays pass.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultPolicySettings } from '../../src/policy/profiles.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures, policiesPath } from '../support/fixtures.ts';
import type { NetworkPolicySpec } from '../../src/policy/types.ts';
import { REPORT_NAME } from '../../src/policy/compliance.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { type ProbePod, Wire } from '../../harness/wire.ts';

const kubeconfig = inject('nodeKubeconfig');
const kube = fixtures(kubeconfig);
const wire = new Wire(kubeconfig);
const API_SERVER = '10.96.0.1:443';
const STRICT = defaultPolicySettings.profiles.strict!;
let ctl: Awaited<ReturnType<typeof startTestController>>;

const verdictOf = (ns: string) => kube.verdict(ns);
const tenantPolicy = (ns: string, name: string, spec: NetworkPolicySpec) =>
  kube.raw.request('POST', policiesPath(ns), { body: { metadata: { name }, spec } });

beforeAll(async () => {
  ctl = await startTestController(kubeconfig, {
    config: {
      profiles: { strict: STRICT, 'strict-api': [...STRICT, 'allow-kube-apiserver'] },
      sanctioned: {
        strict: {
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }],
              ports: [{ protocol: 'TCP', port: 9090 }],
            },
          ],
          // Only the web pods take ingress from the edge, on 8080.
          pods: {
            web: {
              podSelector: { matchLabels: { app: 'web' } },
              ingress: [
                {
                  from: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }],
                  ports: [{ protocol: 'TCP', port: 8080 }],
                },
              ],
            },
          },
        },
      },
    },
  });
});

afterAll(async () => {
  await ctl?.stop();
  await kube.close();
});

describe('openings, on the wire', () => {
  it('allow-kube-apiserver: the API server is reachable from the profile that lists it, and only from it', async () => {
    const [api, strict] = [
      await kube.namespace('o-api', { isolation: 'strict-api' }),
      await kube.namespace('o-strict', { isolation: 'strict' }),
    ];
    await kube.inSync(api, ['allow-kube-apiserver']);
    await kube.inSync(strict, ['allow-sanctioned', 'allow-sanctioned-web']);
    const [p1, s1] = (await wire.pods({ namespace: api, name: 'p1' }, { namespace: strict, name: 's1' })) as [
      ProbePod,
      ProbePod,
    ];
    await wire.until(p1, API_SERVER, true);
    await wire.until(s1, API_SERVER, false);
    await eventually(async () => (await verdictOf(api)) === 'pass', `${api}'s verdict to be pass`);
  });

  it('a sanctioned opening lets exactly its peer and its port through', async () => {
    const [target, monitoring, other] = [
      await kube.namespace('o-sanctioned', { isolation: 'strict' }),
      await kube.namespace('o-monitoring', { purpose: 'monitoring' }),
      await kube.namespace('o-other'),
    ];
    await kube.inSync(target, ['allow-sanctioned', 'allow-sanctioned-web']);
    const [web, metrics, m1, o1] = (await wire.pods(
      { namespace: target, name: 'web' },
      { namespace: target, name: 'metrics', port: 9090 },
      { namespace: monitoring, name: 'm1' },
      { namespace: other, name: 'o1' },
    )) as [ProbePod, ProbePod, ProbePod, ProbePod];
    await wire.until(m1, metrics, true); // its peer, its port, TCP
    await wire.until(m1, metrics, false, 'udp'); // its port, but not its protocol
    await wire.until(m1, web, false); // its peer, another port
    await wire.until(o1, metrics, false); // its port, another peer
    expect((await wire.connect(o1, m1)).outcome).toBe('connected'); // the control
    await eventually(async () => (await verdictOf(target)) === 'pass', `${target}'s verdict to be pass`);
  });

  it('an opening sanctioned for some pods lets its peer reach those pods only', async () => {
    const [target, edge] = [
      await kube.namespace('o-pods', { isolation: 'strict' }),
      await kube.namespace('o-edge', { purpose: 'edge' }),
    ];
    await kube.inSync(target, ['allow-sanctioned', 'allow-sanctioned-web']);
    const [web, api, e1] = (await wire.pods(
      { namespace: target, name: 'web', labels: { app: 'web' }, port: 8080 },
      { namespace: target, name: 'api', labels: { app: 'api' }, port: 8080 },
      { namespace: edge, name: 'e1' },
    )) as [ProbePod, ProbePod, ProbePod];
    await wire.until(e1, web, true); // its peer, its pods, its port
    await wire.until(e1, api, false); // its peer and port, other pods
    expect((await wire.connect(web, api)).outcome).toBe('connected'); // the control: api listens
    // A tenant's copy of that opening is within it for the web pods, an opening for the others.
    const fromEdge = [
      { from: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }], ports: [{ port: 8080 }] },
    ];
    await tenantPolicy(target, 'tenant-web', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: fromEdge,
    });
    await tenantPolicy(target, 'tenant-api', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: fromEdge,
    });
    await eventually(async () => (await verdictOf(target)) === 'warn', `${target}'s verdict to be warn`);
    const report = await kube.raw.request<{ results: { rule: string; result: string }[] }>(
      'GET',
      resourcePath('PolicyReport', target, REPORT_NAME),
    );
    expect(report.results.filter((r) => r.result !== 'pass').map((r) => r.rule)).toEqual(['tenant-api']);
    expect(report.results.map((r) => r.rule)).not.toContain('tenant-web');
  });
});
