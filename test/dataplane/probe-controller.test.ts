// The controller's own dataplane probe (`probe` in its configuration), on the real node, in the two
// namespaces manifests/components/dataplane-probe makes: every check enforced while kube-router
// runs; kube-router stopped and its rules flushed, the gauge goes to 0 (the alert's expression
// true) at the next run, with a Warning Event, its ClusterPolicyReport, every managed namespace's
// PolicyReport and check --all saying so; restarted, back to 1. No probe Pod is left behind.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROBE_NAMESPACES } from '../../src/configschema.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { PROBE_LABEL } from '../../src/probe/run.ts';
import { readCluster } from '../../src/cli/live.ts';
import { verdicts } from '../../src/cli/verdicts.ts';
import { DATAPLANE_REPORT, type PolicyReport, REPORT_NAME } from '../../src/policy/compliance.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { type ClusterPolicyReport, findingOf } from '../../src/probe/report.ts';
import { repoRoot } from '../../harness/gobuild.ts';
import { LocalNode } from '../../harness/node.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures } from '../support/fixtures.ts';
import { applyObject, manifestObjects } from '../support/manifests.ts';

const kubeconfig = inject('nodeKubeconfig');
const node = LocalNode.attach(inject('nodeId'));
const kube = fixtures(kubeconfig);
const INTERVAL_MS = 15_000;
const { isolated, other } = PROBE_NAMESPACES;
// As in a Pod: the kubernetes Service's address, so that the API server is probed too.
const serviceHost = process.env.KUBERNETES_SERVICE_HOST;
let ctl: Awaited<ReturnType<typeof startTestController>> | undefined;
let team: string;
const clusterReport = () =>
  kube.raw.get<ClusterPolicyReport>(resourcePath('ClusterPolicyReport', undefined, DATAPLANE_REPORT));
/** The rules of `team`'s PolicyReport. */
const teamRules = async () =>
  ((await kube.raw.get<PolicyReport>(resourcePath('PolicyReport', team, REPORT_NAME)))?.results ?? []).map(
    (r) => `${r.rule} ${r.result}`,
  );

beforeAll(async () => {
  const text = await readFile(join(repoRoot, 'manifests/components/dataplane-probe/probe.yaml'), 'utf8');
  for (const obj of manifestObjects(text))
    await applyObject(kube.raw, obj, { dryRun: false, fieldManager: 'kubectl' });
  team = await kube.namespace('pc-team', { isolation: 'strict' });
  process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  ctl = await startTestController(kubeconfig, {
    config: { probe: { intervalMinutes: INTERVAL_MS / 60_000 } },
  });
});

afterAll(async () => {
  await ctl?.stop();
  if (serviceHost === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
  else process.env.KUBERNETES_SERVICE_HOST = serviceHost;
  await kube.close();
});

const CHECKS = [
  'same-namespace-tcp',
  'same-namespace-udp',
  'isolated-to-other-tcp',
  'isolated-to-other-udp',
  'dns',
  'api-server',
  'other-to-isolated-tcp',
  'other-to-isolated-udp',
];
const gauges = async () =>
  Object.fromEntries(
    await Promise.all(
      CHECKS.map(async (check) => [
        check,
        await ctl!.metric('namespace_isolation_dataplane_enforced', { check }),
      ]),
    ),
  ) as Record<string, number | undefined>;
const runs = async (result: string) =>
  (await ctl!.metric('namespace_isolation_dataplane_probe_runs_total', { result })) ?? 0;
const reasons = async () => (await kube.events(isolated)).map((e) => e.reason);

describe("the controller's dataplane probe, on a real node", () => {
  it('kube-router enforcing: every check 1, a DataplaneEnforced Event', async () => {
    await eventually(async () => (await runs('enforced')) >= 1, 'a run judged enforced', 120_000);
    expect(await gauges()).toEqual(Object.fromEntries(CHECKS.map((c) => [c, 1])));
    expect(await runs('error')).toBe(0);
    await eventually(
      async () => (await reasons()).includes('DataplaneEnforced'),
      'the DataplaneEnforced Event',
    );
    expect(await ctl!.metric('namespace_isolation_dataplane_probe_interval_seconds')).toBe(15);
    const report = await eventually(clusterReport, 'the ClusterPolicyReport');
    expect(findingOf(report)).toMatchObject({ result: 'enforced', failed: [] });
    expect(report.results.map((r) => r.rule)).toEqual(expect.arrayContaining(CHECKS));
    expect(report.summary).toMatchObject({ fail: 0, error: 0 });
    await eventually(async () => (await teamRules()).length === 3, "the team's PolicyReport");
    expect((await teamRules()).every((r) => r.endsWith(' pass'))).toBe(true);
  });

  it('costs 4 Pods a run, and says how many requests', async () => {
    const judged = async () =>
      (await runs('enforced')) + (await runs('not-enforced')) + (await runs('error'));
    const before = await judged();
    await eventually(async () => (await judged()) > before, 'a run to end', 60_000);
    const at = new Map(ctl!.client.sent);
    await eventually(async () => (await judged()) > before + 1, 'the next run to end', 60_000);
    const sent = [...ctl!.client.sent]
      .map(([k, n]) => [k, n - (at.get(k) ?? 0)] as const)
      .filter(([, n]) => n > 0);
    console.info(`one probe run: ${sent.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    expect(Object.fromEntries(sent)['POST pods']).toBe(4);
  });

  it('kube-router stopped and flushed: 0 at the next run, with a Warning; restarted: 1 again', async () => {
    await node.stopKubeRouter();
    try {
      await node.flushKubeRouter();
      const judged = (await runs('enforced')) + (await runs('not-enforced'));
      await eventually(async () => (await runs('not-enforced')) >= 1, 'a run judged not enforced', 180_000);
      // The run under way at the flush may still have judged enforced; the one after it did not.
      expect((await runs('enforced')) + (await runs('not-enforced')) - judged).toBeLessThanOrEqual(2);
      const g = await gauges();
      // The alert's expression, count(namespace_isolation_dataplane_enforced == 0) > 0:
      expect(Object.values(g).filter((v) => v === 0).length).toBeGreaterThan(0);
      expect(g).toMatchObject({
        'other-to-isolated-tcp': 0,
        'other-to-isolated-udp': 0,
        'isolated-to-other-tcp': 0,
        'api-server': 0,
        'same-namespace-tcp': 1,
        dns: 1,
      });
      // Its ClusterPolicyReport, every managed namespace's PolicyReport, and check --all say so.
      const report = await eventually(
        async () => ((r) => (findingOf(r)?.result === 'not-enforced' ? r : undefined))(await clusterReport()),
        'the ClusterPolicyReport to say not-enforced',
      );
      expect(findingOf(report)!.failed).toEqual(
        expect.arrayContaining(['other-to-isolated-tcp', 'api-server']),
      );
      await eventually(
        async () => (await teamRules()).includes('dataplane fail'),
        "the team's PolicyReport to fail its dataplane result",
      );
      const found = await verdicts(kube.raw, await readCluster(kube.raw), defaultPolicyConfig);
      expect(found.assessments.find((a) => a.namespace === team)?.verdict).toBe('pass');
      expect(found.dataplane).toMatchObject({ result: 'not-enforced' });
      expect(found.report).toMatch(
        /^NOT ENFORCED: the dataplane probe found NetworkPolicies not enforced at /m,
      );
      await eventually(async () => (await reasons()).includes('DataplaneNotEnforced'), 'the Warning Event');
      const warning = (await kube.events(isolated)).find((e) => e.reason === 'DataplaneNotEnforced')!;
      expect(warning.type).toBe('Warning');
      expect(warning.note).toContain(
        'other namespace → isolated (TCP): got through, but the profile refuses it',
      );
    } finally {
      await node.startKubeRouter();
    }
    const before = await runs('enforced');
    await eventually(async () => (await runs('enforced')) > before, 'a run judged enforced again', 180_000);
    expect(await gauges()).toEqual(Object.fromEntries(CHECKS.map((c) => [c, 1])));
    expect(await runs('error')).toBe(0);
    expect(findingOf(await clusterReport())?.result).toBe('enforced');
    await eventually(
      async () => !(await teamRules()).some((r) => r.startsWith('dataplane')),
      "the team's PolicyReport without its dataplane result",
    );
    expect((await verdicts(kube.raw, await readCluster(kube.raw), defaultPolicyConfig)).report).not.toContain(
      'NOT ENFORCED',
    );
  });

  it('a quota refusing its Pods: the run could not judge, says quota, and the gauges keep the last judgement', async () => {
    const quota = `/api/v1/namespaces/${isolated}/resourcequotas`;
    await kube.raw.send('POST', quota, {
      body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } },
    });
    try {
      const before = await runs('error');
      await eventually(async () => (await runs('error')) > before, 'a run that could not judge', 60_000);
      await eventually(async () => (await reasons()).includes('DataplaneProbeFailed'), 'the Warning Event');
      const failed = (await kube.events(isolated)).find((e) => e.reason === 'DataplaneProbeFailed')!;
      expect(failed.note).toMatch(/could not run: quota: .*exceeded quota: no-pods/);
      const report = await eventually(
        async () => ((r) => (findingOf(r)?.result === 'error' ? r : undefined))(await clusterReport()),
        'the ClusterPolicyReport to say error',
      );
      expect(report.results).toMatchObject([{ rule: 'probe', result: 'error' }]);
      // An error says nothing of the wire: the gauges and the PolicyReports keep the last judgement.
      expect(await gauges()).toEqual(Object.fromEntries(CHECKS.map((c) => [c, 1])));
      expect((await teamRules()).some((r) => r.startsWith('dataplane'))).toBe(false);
    } finally {
      await kube.raw.send('DELETE', `${quota}/no-pods`);
    }
    const enforced = await runs('enforced');
    await eventually(async () => (await runs('enforced')) > enforced, 'a run judged enforced again', 60_000);
  });

  it('leaves no probe Pod behind once stopped', async () => {
    await ctl!.stop();
    ctl = undefined;
    for (const ns of [isolated, other]) {
      const pods = await kube.raw.list<{ metadata: { deletionTimestamp?: string } }>(
        resourcePath('Pod', ns),
        {
          labelSelector: PROBE_LABEL,
        },
      );
      expect(pods.items.filter((p) => !p.metadata.deletionTimestamp)).toEqual([]);
    }
  });
});
