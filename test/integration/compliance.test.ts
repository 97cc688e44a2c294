// Compliance: the tenants' own policies evaluated against the profile, said in a PolicyReport, a
// gauge, an Event and `check`. Against the shared control plane (which has the PolicyReport CRD,
// as a cluster with a policy engine does), and one without the CRD.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { jsonReport } from '../../src/cli/verdicts.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { REPORT_NAME, VERDICT_LABEL } from '../../src/policy/compliance.ts';
import { ControlPlane } from '../../harness/controlplane.ts';
import { startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { type Event, fixtures, policiesPath } from '../support/fixtures.ts';

interface Report {
  metadata: { labels: Record<string, string>; resourceVersion: string };
  summary: Record<string, number>;
  results: { rule: string; result: string; message: string; properties: Record<string, string> }[];
}

const kubeconfig = inject('kubeconfig');
const kube = fixtures(kubeconfig);
const admin = kube.raw;
const SANCTIONED = {
  strict: {
    ingress: [
      { from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }], ports: [{ port: 9090 }] },
    ],
  },
};
let ctl: Awaited<ReturnType<typeof startTestController>>;

const reportPath = (ns: string) => resourcePath('PolicyReport', ns, REPORT_NAME);
const report = (ns: string) => admin.request<Report>('GET', reportPath(ns)).catch(() => undefined);
const verdictOf = (ns: string) => kube.verdict(ns);
const reportWrites = () => ctl.client.sent.get('PATCH policyreports') ?? 0;
const eventsOf = async (ns: string, reason: string) =>
  (await kube.events(ns)).filter((e: Event) => e.reason === reason);
const tenantPolicy = (ns: string, name: string, spec: unknown) =>
  admin.request('POST', policiesPath(ns), { body: { metadata: { name }, spec } });
const waitVerdict = (ns: string, verdict: string) =>
  eventually(async () => (await verdictOf(ns)) === verdict, `${ns}'s report to say ${verdict}`);

beforeAll(async () => {
  ctl = await startTestController(kubeconfig, { config: { sanctioned: SANCTIONED } });
});
afterAll(async () => {
  await ctl.stop();
  await kube.close();
});

describe('compliance reports', () => {
  it('a tenant policy allowing everything fails the namespace in the report, the metric, an Event; deleting it passes it again', async () => {
    const ns = await kube.namespace('it-comply', { isolation: 'strict' });
    await kube.inSync(ns, ['allow-sanctioned']);
    const first = await eventually(report.bind(null, ns), `${ns}'s report`);
    expect(first.metadata.labels[VERDICT_LABEL]).toBe('pass');
    expect(first.summary).toMatchObject({ pass: 4, fail: 0, warn: 0 });
    expect(first.results.map((r) => `${r.rule} ${r.result}`)).toEqual([
      'default-deny-all pass',
      'allow-dns pass',
      'allow-same-namespace pass',
      'allow-sanctioned pass',
    ]);
    // A first pass is no news: no Event.
    expect(await eventsOf(ns, 'IsolationCompliant')).toEqual([]);
    const failing = () =>
      ctl.metric('namespace_isolation_namespaces_by_verdict', { profile: 'strict', verdict: 'fail' });
    const before = (await failing()) ?? 0;

    await tenantPolicy(ns, 'allow-all', { podSelector: {}, ingress: [{}] });
    await waitVerdict(ns, 'fail');
    const failed = (await report(ns))!;
    expect(failed.summary).toMatchObject({ pass: 4, fail: 1 });
    expect(failed.results[4]).toMatchObject({
      rule: 'allow-all',
      result: 'fail',
      message:
        'opens ingress to all pods from everyone (every pod of every namespace and every address) on all ports (admission only warns: guardrails.tenantPolicies is warn)',
      properties: { managed: 'false', admission: 'warn' },
    });
    expect(await failing()).toBe(before + 1);
    const [event] = await eventually(async () => {
      const found = await eventsOf(ns, 'IsolationFailing');
      return found.length ? found : undefined;
    }, 'the IsolationFailing Event');
    expect(event!.type).toBe('Warning');
    expect(event!.note).toMatch(/^isolation verdict fail \(was pass\): allow-all: opens ingress/);

    await admin.request('DELETE', resourcePath('NetworkPolicy', ns, 'allow-all'));
    await waitVerdict(ns, 'pass');
    expect(await failing()).toBe(before);
    await eventually(
      async () => (await eventsOf(ns, 'IsolationCompliant')).length === 1,
      'the IsolationCompliant Event',
    );
  });

  it('writes a report only when its content changes: nothing in steady state, nor after a restart', async () => {
    const ns = await kube.namespace('it-comply-steady', { isolation: 'strict' });
    await kube.inSync(ns, ['allow-sanctioned']);
    await eventually(report.bind(null, ns), `${ns}'s report`);
    await ctl.idle();
    const written = reportWrites();
    // Every namespace reconciled again, by both controllers: no write.
    for (const queue of ['namespace-isolation', 'namespace-isolation-compliance'])
      ctl.running.manager.queue(queue)!.add(ns);
    // A tenant policy that only narrows: reassessed, still pass, nothing to write.
    await tenantPolicy(ns, 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
    await ctl.idle();
    expect(reportWrites()).toBe(written);

    await ctl.stop();
    ctl = await startTestController(kubeconfig, { config: { sanctioned: SANCTIONED } });
    await ctl.idle();
    expect(reportWrites()).toBe(0);
  });

  it('an opening to named namespaces warns and lists them; a sanctioned one passes; a label change re-evaluates', async () => {
    const ns = await kube.namespace('it-comply-warn', { isolation: 'strict' });
    const monitoring = await kube.namespace('it-comply-mon', { purpose: 'monitoring' });
    const partner = await kube.namespace('it-comply-partner');
    await kube.inSync(ns, ['allow-sanctioned']);
    await tenantPolicy(ns, 'from-monitoring', {
      podSelector: {},
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { purpose: 'monitoring' } } }],
          ports: [{ port: 9090 }],
        },
      ],
    });
    await tenantPolicy(ns, 'from-partners', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { partner: 'yes' } } }], ports: [{ port: 443 }] },
      ],
    });
    await eventually(async () => (await report(ns))?.summary.pass === 4, `${ns}'s report`);
    await ctl.idle();
    // The monitoring one is sanctioned; the partner one selects no namespace yet: nothing open.
    expect(await verdictOf(ns)).toBe('pass');
    expect((await report(ns))!.results.map((r) => r.rule)).not.toContain('from-monitoring');

    // A namespace gains the label the partner policy selects: the verdict follows.
    await admin.request('PATCH', resourcePath('Namespace', undefined, partner), {
      body: { metadata: { labels: { partner: 'yes' } } },
      contentType: 'application/merge-patch+json',
    });
    await waitVerdict(ns, 'warn');
    expect((await report(ns))!.results.at(-1)).toMatchObject({
      rule: 'from-partners',
      result: 'warn',
      message: `opens ingress to pods app=api from namespace ${partner} on TCP 443`,
    });
    expect(monitoring).toBeDefined();
  });

  it('a policy of ours that failed to apply fails the namespace with the API server message', async () => {
    const ns = await kube.namespace('it-comply-refused');
    const lift = await kube.refusePolicies(ns, ['allow-dns'], 'DNS egress is decided by the network team');
    await admin.request('PATCH', resourcePath('Namespace', undefined, ns), {
      body: { metadata: { labels: { isolation: 'strict' } } },
      contentType: 'application/merge-patch+json',
    });
    await waitVerdict(ns, 'fail');
    const results = (await report(ns))!.results;
    expect(results.find((r) => r.rule === 'allow-dns')).toMatchObject({ result: 'fail' });
    expect(results.find((r) => r.rule === 'allow-dns')!.message).toMatch(
      /^failed to apply: .*DNS egress is decided by the network team/,
    );
    // The gate policy waits for it: missing, and said so.
    expect(results.find((r) => r.rule === 'default-deny-all')).toMatchObject({
      result: 'fail',
      message: 'missing',
    });
    await lift();
    await waitVerdict(ns, 'pass');
  });

  it('removes the report when the namespace is no longer managed', async () => {
    const ns = await kube.namespace('it-comply-optout', { isolation: 'strict' });
    await eventually(report.bind(null, ns), `${ns}'s report`);
    await admin.request('PATCH', resourcePath('Namespace', undefined, ns), {
      body: { metadata: { labels: { isolation: null } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(async () => (await report(ns)) === undefined, `${ns}'s report to go`);
    // The namespace controller removes the policies on its own schedule, not the report's.
    await eventually(async () => (await kube.managedNames(ns)).length === 0, `${ns}'s policies to go`);
  });

  it('does not judge a namespace being deleted: no verdict change, no Event into it, while it is emptied', async () => {
    const ns = await kube.namespace('it-comply-deleting', { isolation: 'strict' });
    await waitVerdict(ns, 'pass');
    // A finalizer holds the namespace Terminating after its policies are gone, as a slow one does.
    const configMaps = `/api/v1/namespaces/${ns}/configmaps`;
    await admin.request('POST', configMaps, {
      body: { metadata: { name: 'held', finalizers: ['it.example/hold'] } },
    });
    const failedEvents = async () => (await ctl.metric('namespace_isolation_events_failed_total')) ?? 0;
    const before = await failedEvents();
    await admin.request('DELETE', resourcePath('Namespace', undefined, ns));
    try {
      await eventually(
        async () => (await admin.list(policiesPath(ns))).items.length === 0,
        `${ns}'s policies to be deleted by the namespace controller`,
      );
      await ctl.idle();
      const changes = ctl.logs.filter(
        (l) => l.msg === 'namespace isolation verdict changed' && l.namespace === ns,
      );
      expect(changes).toEqual([]);
      expect(await failedEvents()).toBe(before);
    } finally {
      await admin.request('PATCH', `${configMaps}/held`, {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      });
    }
  });
});

describe('without the PolicyReport CRD', () => {
  let cp: ControlPlane;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nic-no-crd-'));
    cp = await ControlPlane.start({ dataDir, controllers: '' });
  });
  afterAll(async () => {
    await cp.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs unchanged: policies converge, the verdict is still measured, and it says once why there are no reports', async () => {
    const bare = await startTestController(cp.kubeconfig);
    const local = fixtures(cp.kubeconfig);
    try {
      const ns = await local.namespace('it-no-crd', { isolation: 'strict' });
      await local.inSync(ns);
      await local.raw.request('POST', policiesPath(ns), {
        body: { metadata: { name: 'allow-all' }, spec: { podSelector: {}, ingress: [{}] } },
      });
      await eventually(
        async () =>
          (await bare.metric('namespace_isolation_namespaces_by_verdict', {
            profile: 'strict',
            verdict: 'fail',
          })) === 1,
        'the fail verdict in the gauge',
      );
      await eventually(
        async () => (await local.events(ns)).some((e) => e.reason === 'IsolationFailing'),
        'the Event',
      );
      expect(bare.logs.filter((l) => String(l.msg).startsWith('not writing PolicyReports'))).toHaveLength(1);
      expect(bare.logs.filter((l) => l.level === 50)).toEqual([]);
      expect(bare.client.sent.get('PATCH policyreports') ?? 0).toBe(0);

      // check, with the platform engineer's credentials: the table, and what is open in one namespace.
      const cli = async (args: string[]) => {
        const p = startProcess([...args, '--kubeconfig', cp.kubeconfig]);
        return { code: await p.exited, out: p.out(), err: p.err() };
      };
      const other = await local.namespace('it-no-crd-ok', { isolation: 'strict' });
      await local.inSync(other);
      const all = await cli(['check', '--all']);
      expect(all.code).toBe(1);
      expect(
        all.out
          .split('\n')
          .filter((l) => l.startsWith('it-no-crd'))
          .map((l) => l.split(/ +/).slice(0, 4).join(' '))
          .sort(),
      ).toEqual([`${ns} strict fail allow-all:`, `${other} strict pass`]);
      expect(all.out).toContain('2 managed namespaces: 1 pass, 0 warn, 1 fail');
      // The same, for jq: one object per namespace, each opening structured and as text.
      const json = await cli(['check', '--all', '-o', 'json']);
      expect(json.code, json.err).toBe(1);
      const report = JSON.parse(json.out) as ReturnType<typeof jsonReport>;
      const failing = report.namespaces.find((n) => n.namespace === ns)!;
      expect(failing.verdict).toBe('fail');
      expect(failing.reasons).toEqual([
        expect.stringMatching(/^allow-all: opens ingress to all pods from everyone/),
      ]);
      const opening = failing.results.find((r) => r.policy === 'allow-all')!.openings[0]!;
      expect(opening).toMatchObject({ direction: 'ingress', reach: { kind: 'everyone' }, severity: 'fail' });
      expect(opening.text).toMatch(/^ingress to all pods from everyone/);
      expect(report.namespaces.find((n) => n.namespace === other)!.verdict).toBe('pass');
      const one = await cli(['check', '--namespace', ns]);
      expect(one.code).toBe(1);
      expect(one.out).toContain(
        [
          `namespace ${ns} (profile strict): isolation verdict fail`,
          '  pass  default-deny-all: present, as the profile defines it',
          '  pass  allow-dns: present, as the profile defines it',
          '  pass  allow-same-namespace: present, as the profile defines it',
          '  fail  allow-all (not ours): opens',
          '          ingress to all pods from everyone (every pod of every namespace and every address) on all ports',
        ].join('\n'),
      );
      await local.raw.request('DELETE', resourcePath('NetworkPolicy', ns, 'allow-all'));
      expect((await cli(['check', '--all'])).code).toBe(0);
    } finally {
      await bare.stop();
      await local.close();
    }
  });
});
