// Others writing against the controller, and bad input: a writer fighting over a policy, the
// controller's patch permission revoked mid-run, odd label values, a copied label, 63-character
// names, a bad configuration. (A namespace whose writes an admission policy refuses is in
// controller.test.ts.) Each states what the user sees and asserts it.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { networkPolicyPath } from '../../src/kube/resources.ts';
import { canonicalSpec } from '../../src/policy/compare.ts';
import { desiredPolicies } from '../../src/policy/desired.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/policy/labels.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures, type Policy, policiesPath } from '../support/fixtures.ts';
import { uniqueName } from '../support/kube.ts';
import { applyObject, kustomizeBuild, type ManifestObject } from '../support/manifests.ts';
import { configFile, ensureStopped, startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';

const kubeconfig = inject('kubeconfig');
const { raw, close } = fixtures(kubeconfig);
afterAll(() => close());

const { namespace, policies, managedNames, events, inSync } = fixtures(kubeconfig);
const npPath = policiesPath;
const desiredSpec = (name: string) =>
  canonicalSpec(
    desiredPolicies('x', 'strict', defaultPolicyConfig).find((p) => p.metadata.name === name)!.spec,
  );

describe('a writer fighting over a policy', () => {
  it('is repaired with backoff, named in a Warning Event and a metric, and costs the others nothing', async () => {
    const ctl = await startTestController(kubeconfig);
    try {
      const fought = await namespace('it-fight', { isolation: 'strict' });
      const other = await namespace('it-fight-other', { isolation: 'strict' });
      await inSync(fought);
      await inSync(other);
      const writes = async () =>
        ((await ctl.metric('namespace_isolation_policy_writes_total', {
          policy: 'default-deny-all',
          operation: 'apply',
        })) ?? 0) +
        ((await ctl.metric('namespace_isolation_policy_writes_total', {
          policy: 'default-deny-all',
          operation: 'replace',
        })) ?? 0);
      const before = await writes();

      // Another field manager applies different content every 200 ms for 15 s.
      let rounds = 0;
      const fightEnds = performance.now() + 15_000;
      const fight = (async () => {
        while (performance.now() < fightEnds) {
          await raw.request('PATCH', networkPolicyPath(fought, 'default-deny-all'), {
            query: { fieldManager: 'fighter', force: true },
            body: {
              apiVersion: 'networking.k8s.io/v1',
              kind: 'NetworkPolicy',
              metadata: { name: 'default-deny-all', namespace: fought },
              spec: { podSelector: { matchLabels: { round: String(++rounds) } }, policyTypes: ['Ingress'] },
            },
            contentType: 'application/apply-patch+yaml',
          });
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
      // Meanwhile, drift elsewhere is repaired as usual.
      await eventually(() => rounds >= 25, 'the fight under way');
      const { uid } = (await policies(other)).find((p) => p.metadata.name === 'allow-dns')!.metadata;
      const deleted = performance.now();
      await raw.request('DELETE', networkPolicyPath(other, 'allow-dns'));
      await eventually(
        async () =>
          (await policies(other)).find((p) => p.metadata.name === 'allow-dns' && p.metadata.uid !== uid),
        'the other namespace repaired during the fight',
      );
      const otherRepairedMs = performance.now() - deleted;
      await fight;

      const fightWrites = (await writes()) - before;
      console.info(
        `fighter: ${rounds} writes in 15 s; controller: ${fightWrites} repairs; other namespace repaired in ${Math.round(otherRepairedMs)} ms`,
      );
      // Two repairs at once, then each at least 1 s, 2 s, 4 s, 8 s … after the one before: the
      // gaps between the repairs the controller logged, not a count that depends on wall time.
      const repairs = ctl.logs
        .filter(
          (l) =>
            l.msg === 'applied NetworkPolicy' && l.namespace === fought && l.policy === 'default-deny-all',
        )
        .map((l) => l.time as number)
        .slice(-fightWrites);
      expect(repairs).toHaveLength(fightWrites);
      expect(fightWrites).toBeGreaterThanOrEqual(3);
      const gaps = repairs.slice(1).map((t, i) => t - repairs[i]!);
      gaps.slice(1).forEach((gap, i) => expect(gap, `gap ${i + 2}`).toBeGreaterThanOrEqual(1_000 * 2 ** i));
      expect(
        await ctl.metric('namespace_isolation_policy_fights_total', { policy: 'default-deny-all' }),
      ).toBe(1);
      const warning = (await events(fought)).find((e) => e.reason === 'PolicyFight');
      expect(warning).toMatchObject({
        type: 'Warning',
        note: expect.stringContaining('field manager "fighter"') as string,
      });
      expect(
        ctl.logs.some(
          (l) => l.msg === 'another writer keeps undoing our writes; they back off' && l.writer === 'fighter',
        ),
      ).toBe(true);

      // The fight over, the next repair (at most 16 s away) restores the policy for good.
      await eventually(
        async () => {
          const p = (await policies(fought)).find((q) => q.metadata.name === 'default-deny-all');
          return p && canonicalSpec(p.spec) === desiredSpec('default-deny-all');
        },
        'the fought policy restored once the fight stops',
        40_000,
      );
    } finally {
      await ctl.stop();
    }
  });
});

describe('the controller losing its patch permission mid-run', () => {
  it('counts and retries the refusals with backoff, logging each with the missing verb, and catches up once restored', async () => {
    const objects = await kustomizeBuild('manifests');
    const rbacKinds = [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
    ];
    const install = objects.filter((o) => rbacKinds.includes(o.kind));
    for (const obj of install) await applyObject(raw, obj, { dryRun: false, fieldManager: 'faults-test' });
    const role = install.find((o) => o.kind === 'ClusterRole')!;
    const rules = role.rules as { resources: string[]; verbs: string[] }[];
    const revoked: ManifestObject = {
      ...role,
      rules: rules.map((r) =>
        r.resources.includes('networkpolicies') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r,
      ),
    };
    const asController = new KubeClient(loadKubeConfig(inject('controllerKubeconfig')));
    const canPatch = async () =>
      (
        await asController.request<{ status: { allowed: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            body: {
              spec: {
                resourceAttributes: {
                  verb: 'patch',
                  group: 'networking.k8s.io',
                  resource: 'networkpolicies',
                },
              },
            },
          },
        )
      ).status.allowed;
    const ctl = startProcess(['--kubeconfig', inject('controllerKubeconfig'), '--log-level', 'info']);
    try {
      const drifted = await namespace('it-revoked', { isolation: 'strict' });
      await inSync(drifted);

      await applyObject(raw, revoked, { dryRun: false, fieldManager: 'faults-test' });
      await eventually(async () => !(await canPatch()), 'the permission to be gone');
      await raw.request('DELETE', networkPolicyPath(drifted, 'allow-dns'));
      const backlog = await namespace('it-revoked-new', { isolation: 'strict' });

      const failures = () =>
        ctl
          .logs()
          .filter((l) => l.msg === 'reconcile failed; retrying with backoff' && l.namespace === drifted);
      await eventually(() => failures().length >= 6, 'six refused repairs');
      for (const l of failures()) {
        expect(String((l.err as { message: string }).message)).toContain(
          'cannot patch resource "networkpolicies"',
        );
      }
      // Once per backoff step: the gaps between attempts grow.
      const times = failures().map((l) => l.time as number);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
      expect(
        await ctl.metric('controller_runtime_reconcile_errors_total{controller="namespace-isolation"}'),
      ).toBeGreaterThanOrEqual(failures().length);
      expect(await managedNames(backlog)).toEqual([]);

      // Refused attempts are not repairs that someone undid: no fight is declared.
      expect(await ctl.metric('namespace_isolation_policy_fights_total{policy="allow-dns"}')).toBe(0);
      const restored = performance.now();
      await applyObject(raw, role, { dryRun: false, fieldManager: 'faults-test' });
      await inSync(drifted);
      await inSync(backlog);
      console.info(
        `${failures().length} refusals; in sync ${Math.round(performance.now() - restored)} ms after the permission was restored`,
      );
    } finally {
      await applyObject(raw, role, { dryRun: false, fieldManager: 'faults-test' });
      await ensureStopped(ctl);
      await asController.close();
    }
  });
});

describe('bad input', () => {
  it('reports odd label values without matching them, and leaves them as they are', async () => {
    const ctl = await startTestController(kubeconfig);
    try {
      const cased = await namespace('it-odd', { isolation: 'Strict' });
      const empty = await namespace('it-odd', { isolation: '' });
      const unknown = await namespace('it-odd', { isolation: 'paranoid' });
      for (const [ns, value] of [
        [cased, 'Strict'],
        [empty, ''],
        [unknown, 'paranoid'],
      ] as const) {
        const warning = await eventually(
          async () => (await events(ns)).find((e) => e.reason === 'UnknownProfile'),
          `an UnknownProfile Event in ${ns}`,
        );
        expect(warning.type).toBe('Warning');
        expect(warning.note).toContain(`isolation=${value} names no profile; known: strict`);
        expect(await policies(ns)).toEqual([]);
      }
    } finally {
      await ctl.stop();
    }
  });

  it('leaves alone a policy that copies its label under a name it does not define, and says so', async () => {
    const ctl = await startTestController(kubeconfig);
    try {
      const ns = await namespace('it-copy', { isolation: 'strict' });
      const copy = await raw.request<Policy>('POST', npPath(ns), {
        body: {
          metadata: { name: 'team-copy', labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
          spec: { podSelector: { matchLabels: { app: 'web' } } },
        },
      });
      await inSync(ns, ['team-copy']);
      const warning = await eventually(
        async () => (await events(ns)).find((e) => e.reason === 'ForeignPolicy'),
        'a ForeignPolicy Event',
      );
      expect(warning).toMatchObject({
        type: 'Warning',
        note: expect.stringContaining('team-copy') as string,
      });
      // Unlabelled, the namespace loses our policies but keeps the copy, untouched.
      await raw.request('PATCH', `/api/v1/namespaces/${ns}`, {
        body: { metadata: { labels: { isolation: null } } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(async () => (await managedNames(ns)).join() === 'team-copy', 'only the copy left');
      const after = (await policies(ns)).find((p) => p.metadata.name === 'team-copy')!;
      expect(after.metadata.resourceVersion).toBe(copy.metadata.resourceVersion);
    } finally {
      await ctl.stop();
    }
  });

  it('serves namespaces with 63-character names, Events included', async () => {
    const ctl = await startTestController(kubeconfig);
    try {
      const name = `it-long-${uniqueName('x')}`.padEnd(63, 'n');
      expect(name).toHaveLength(63);
      await namespace('', { isolation: 'strict' }, name);
      await inSync(name);
      await eventually(
        async () => (await events(name)).some((e) => e.reason === 'PolicyApplied'),
        'PolicyApplied Events',
      );
    } finally {
      await ctl.stop();
    }
  });

  it('refuses each bad configuration with exit code 2 and the field named, writing nothing', async () => {
    const waiting = await namespace('it-badconfig', { isolation: 'strict' });
    const cases: [Record<string, unknown>, string][] = [
      [{ selectorLabel: 'not a label' }, 'selectorLabel: must be a valid label key (got "not a label")'],
      [
        { profiles: { strict: ['nope'] } },
        'profiles.strict.0: names policy nope, which is not defined under policies',
      ],
      [{ optOut: 'keep' }, 'optOut: '],
      [{ concurrency: 0 }, 'concurrency: '],
      [{ rateLimit: { qps: -1, burst: 1 } }, 'rateLimit.qps: '],
      [
        { leaderElection: { leaseDurationSeconds: 5, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 } },
        'leaderElection.renewDeadlineSeconds: must be less than leaseDurationSeconds (5)',
      ],
      [{ watchSilenceSeconds: 0 }, 'watchSilenceSeconds: '],
      [{ gracefulShutdownSeconds: 0 }, 'gracefulShutdownSeconds: '],
      [{ resyncPeriodSeconds: 'often' }, 'resyncPeriodSeconds: '],
      [{ policies: { 'Bad Name': { podSelector: {} } } }, 'policies.Bad Name: invalid name'],
    ];
    for (const [change, message] of cases) {
      const run = startProcess(['--config', await configFile(change), '--kubeconfig', kubeconfig]);
      expect(await run.exited, JSON.stringify(change)).toBe(2);
      expect(run.err()).toContain(message);
    }
    expect(await policies(waiting)).toEqual([]);
  });
});
