// A GitOps tool and the controller, in every order a platform team meets: a real kubectl applying
// the output of `render` under `--field-manager=argocd-controller` once a second for 20 s, as a
// sync loop does, while the controller runs. Each order asserts the controller's NetworkPolicy
// writes in that namespace: 0 wherever the content already matches, never more than the fight
// budget wherever two writers disagree. The counts are printed for the README's table.
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { check, render } from '../../src/cli/index.ts';
import { readCluster } from '../../src/cli/live.ts';
import { FIXED } from '../../src/config.ts';
import { managers } from '../../src/kube/objects.ts';
import { FIELD_MANAGER, MANAGED_BY_LABEL } from '../../src/policy/labels.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { fightBudget } from '../../src/runtime/fight.ts';
import { startTestController, type TestControllerOptions } from '../support/controller.ts';
import { fixtures, STRICT } from '../support/fixtures.ts';
import { gitOpsTool, kubectl } from '../support/kubectl.ts';
import { eventually } from '../../harness/wait.ts';

const kubeconfig = inject('kubeconfig');
const { raw, namespace, policies, managedNames, events, inSync, close } = fixtures(kubeconfig);
afterAll(() => close());

const ARGO = 'argocd-controller';
const SYNCING_MS = 20_000;
/** What one policy's fight may cost in the 20 s: 2 writes at once, then 1, 3, 7 and 15 s after. */
const BUDGET = fightBudget(FIXED.fight, SYNCING_MS);
const rendered = (ns: string) => render(defaultPolicyConfig, ns, 'strict');
const namespaceYaml = (ns: string) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    isolation: strict\n---\n`;
const label = (ns: string, value: string | undefined) =>
  kubectl(kubeconfig, ['label', 'namespace', ns, value ? `isolation=${value}` : 'isolation-', '--overwrite']);

type Controller = Awaited<ReturnType<typeof startTestController>>;

/** A controller of its own for the tests of one describe block. */
function controllerFor(options?: TestControllerOptions): () => Controller {
  let ctl: Controller | undefined;
  beforeAll(async () => {
    ctl = await startTestController(kubeconfig, options);
  });
  afterAll(() => ctl?.stop());
  return () => ctl!;
}

/** The controller's NetworkPolicy writes in `ns` (creations, repairs, removals), optionally in [since, until] (epoch ms). */
function writesIn(ctl: Controller, ns: string, since = 0, until = Infinity): string[] {
  return writeLogs(ctl, ns, since, until).map(
    (l) =>
      `${l.msg === 'applied NetworkPolicy' ? (l.operation as string) : (l.mode as string)} ${l.policy as string}`,
  );
}

function writeLogs(ctl: Controller, ns: string, since: number, until: number) {
  return ctl.logs.filter(
    (l) =>
      (l.msg === 'applied NetworkPolicy' || l.msg === 'released NetworkPolicy') &&
      l.namespace === ns &&
      (l.time as number) >= since &&
      (l.time as number) <= until,
  );
}

/**
 * The writes a fight budget bounds: those within SYNCING_MS of the first write after `since`. The
 * syncs' last kubectl may return seconds after the deadline on a loaded machine; a write then
 * (the 7th falls 23 s after the first) is outside what the budget counts.
 */
function fightWrites(ctl: Controller, ns: string, since: number): string[] {
  const first = writeLogs(ctl, ns, since, Infinity)[0]?.time as number | undefined;
  return first === undefined ? [] : writesIn(ctl, ns, first, first + SYNCING_MS);
}

/** Waits until the controller's cache holds what the API server holds of `ns`'s policies, and it is idle. */
async function settled(ctl: Controller, ns: string): Promise<void> {
  const live = (await policies(ns))
    .filter((p) => p.metadata.labels?.[MANAGED_BY_LABEL])
    .map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`);
  await eventually(
    () =>
      ctl.policies
        .inNamespace(ns)
        .map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`)
        .sort()
        .join() === live.sort().join() && ctl.running.manager.idle(),
    `the controller to have seen ${ns}'s policies as they are`,
  );
}

const count = (list: string[], reason: string) => list.filter((r) => r === reason).length;

/** The PolicyLeftAlone Events of `ns`, and the policies they name, in order (a name twice is a repeat). */
async function leftAlone(ns: string) {
  const notes = (await events(ns)).filter((e) => e.reason === 'PolicyLeftAlone');
  const names = notes.flatMap((e) => STRICT.filter((p) => new RegExp(`[ ,]${p}[,:]`).test(e.note))).sort();
  return { notes, names };
}
const reasons = async (ns: string) => (await events(ns)).map((e) => e.reason);

describe.concurrent('GitOps orders, opt-out deleting (the default)', () => {
  const controller = controllerFor();

  it('label first, rendered copies second: created once, then 0 writes however often Git syncs', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-label-first', { isolation: 'strict' });
    await inSync(ns);
    // The policies can be seen before the controller has logged its last apply: count from there.
    await eventually(() => writesIn(ctl, ns).length === STRICT.length, 'the three applies logged');
    const started = Date.now();
    const syncs = await gitOpsTool(kubeconfig, () => rendered(ns), { fieldManager: ARGO }).syncUntil(
      performance.now() + SYNCING_MS,
    );
    await settled(ctl, ns);
    console.info(
      `label first: ${syncs} syncs; writes ${writesIn(ctl, ns).length}, during the syncs ${writesIn(ctl, ns, started).length}`,
    );
    expect(writesIn(ctl, ns).sort()).toEqual(STRICT.map((p) => `apply ${p}`));
    expect(writesIn(ctl, ns, started)).toEqual([]);
  });

  it('rendered copies first, label second: left alone and reported once, then adopted with 0 writes', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-policies-first');
    const tool = gitOpsTool(kubeconfig, () => rendered(ns), { fieldManager: ARGO });
    const labelAt = performance.now() + SYNCING_MS / 2;
    const syncing = tool.syncUntil(performance.now() + SYNCING_MS);
    // Half the time unselected (the create/delete loop of old), then labelled by another application.
    await eventually(() => performance.now() > labelAt, 'half the syncing time');
    expect((await managedNames(ns)).sort()).toEqual(STRICT);
    // `check` reads by the same rules: nothing to change, and says why the copies stay.
    const checked = check(await readCluster(raw, ns), defaultPolicyConfig, 'delete', ns);
    expect(checked.outOfCompliance).toBe(0);
    expect(checked.report).toContain(
      `namespace ${ns}: ${STRICT.join(', ')} left alone: they carry our label, but only others ever wrote them`,
    );
    await label(ns, 'strict');
    const syncs = await syncing;
    await settled(ctl, ns);
    console.info(`policies first: ${syncs} syncs; writes ${writesIn(ctl, ns).length}`);
    expect(writesIn(ctl, ns)).toEqual([]);
    // Reported once each, however often Git synced; kubectl applies the copies one by one, so
    // they may come in up to three Events, each naming the new ones and the writer.
    const left = await leftAlone(ns);
    expect(left.names).toEqual(STRICT);
    expect(
      left.notes.every(
        (n) => n.type === 'Normal' && n.note.includes(`written only by field manager "${ARGO}"`),
      ),
    ).toBe(true);
    expect(
      ctl.logs.filter(
        (l) => l.namespace === ns && (l.msg as string).startsWith('policies carry our label but only others'),
      ),
    ).toHaveLength(left.notes.length);
    // Adopted as Git wrote them: the controller owns no field, so Git's own changes never conflict.
    for (const p of await policies(ns)) expect(managers(p)).toEqual([ARGO]);
  });

  it('namespace and copies in one apply: at most the 3 creations, no conflict for Git', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = `go-together-${Math.random().toString(16).slice(2, 10)}`;
    const syncs = await gitOpsTool(kubeconfig, () => namespaceYaml(ns) + rendered(ns), {
      fieldManager: ARGO,
    }).syncUntil(performance.now() + SYNCING_MS);
    await settled(ctl, ns);
    console.info(`together: ${syncs} syncs; writes ${writesIn(ctl, ns).length}`);
    expect(writesIn(ctl, ns).length).toBeLessThanOrEqual(3);
    expect(writesIn(ctl, ns).every((w) => w.startsWith('apply '))).toBe(true);
    expect((await managedNames(ns)).sort()).toEqual(STRICT);
  });

  it('opt-out with the copies still in Git: our policies removed once, Git’s copies then left alone', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-opt-out', { isolation: 'strict' });
    await inSync(ns);
    const tool = gitOpsTool(kubeconfig, () => rendered(ns), { fieldManager: ARGO });
    const optOutAt = performance.now() + 3_000;
    const syncing = tool.syncUntil(performance.now() + SYNCING_MS);
    await eventually(() => performance.now() > optOutAt, 'a few syncs');
    await label(ns, undefined);
    const syncs = await syncing;
    await settled(ctl, ns);
    const writes = writesIn(ctl, ns);
    console.info(`opt-out, copies in Git: ${syncs} syncs; writes ${writes.length} (${writes.join(', ')})`);
    // 3 creations, 3 removals of what the controller wrote; the copies Git re-creates are Git's alone.
    expect(writes.filter((w) => w.startsWith('apply ')).sort()).toEqual(STRICT.map((p) => `apply ${p}`));
    expect(writes.filter((w) => w.startsWith('delete ')).sort()).toEqual(STRICT.map((p) => `delete ${p}`));
    expect(writes).toHaveLength(6);
    expect((await leftAlone(ns)).names).toEqual(STRICT);
    expect(count(await reasons(ns), 'PolicyFight')).toBe(0);
    for (const p of await policies(ns)) expect(managers(p)).toEqual([ARGO]);
  });

  it('a GitOps tool forcing different content: repairs back off within the fight budget, with a Warning naming it', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-force', { isolation: 'strict' });
    await inSync(ns);
    // Git holds a default-deny-all that lets everything in, and takes the fields over at each sync.
    const manifest = JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-all', namespace: ns },
      spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] },
    });
    const started = Date.now();
    const syncs = await gitOpsTool(kubeconfig, () => manifest, {
      fieldManager: ARGO,
      forceConflicts: true,
    }).syncUntil(performance.now() + SYNCING_MS);
    const during = fightWrites(ctl, ns, started);
    console.info(
      `forcing conflicts: ${syncs} syncs; repairs during the syncs ${during.length} (budget ${BUDGET})`,
    );
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(during.length).toBeLessThanOrEqual(BUDGET);
    expect(during.every((w) => w.endsWith(' default-deny-all'))).toBe(true);
    const fight = (await events(ns)).filter((e) => e.reason === 'PolicyFight');
    expect(fight).toHaveLength(1);
    expect(fight[0]!.type).toBe('Warning');
    expect(fight[0]!.note).toContain(
      `field manager "${ARGO}" after 2 repairs within a minute; repairs now wait 1 s after the one before`,
    );
    expect(
      await ctl.metric('namespace_isolation_policy_fights_total', { policy: 'default-deny-all' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('a writer applying the copies as the controller itself, in an unselected namespace: removals back off within the budget', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-impostor');
    const started = Date.now();
    const syncs = await gitOpsTool(kubeconfig, () => rendered(ns), { fieldManager: FIELD_MANAGER }).syncUntil(
      performance.now() + SYNCING_MS,
    );
    const writes = fightWrites(ctl, ns, started);
    console.info(`impostor: ${syncs} syncs; removals ${writes.length} (budget ${3 * BUDGET})`);
    for (const policy of STRICT) {
      const removals = writes.filter((w) => w === `delete ${policy}`).length;
      expect(removals, policy).toBeGreaterThanOrEqual(3);
      expect(removals, policy).toBeLessThanOrEqual(BUDGET);
    }
    const fights = (await events(ns)).filter((e) => e.reason === 'PolicyFight');
    expect(fights.map((e) => e.note.split(' ')[1]).sort()).toEqual(STRICT);
    expect(fights[0]!.note).toContain(
      'given back our labels again by another writer after 2 removals within a minute; removals now wait 1 s after the one before',
    );
  });
});

describe('GitOps orders, opt-out orphaning', () => {
  const controller = controllerFor({ config: { optOut: 'orphan' } });

  it('opt-out with the copies still in Git: let go of once, then Git’s copies are left alone', async ({
    expect,
  }) => {
    const ctl = controller();
    const ns = await namespace('go-orphan', { isolation: 'strict' });
    await inSync(ns);
    const tool = gitOpsTool(kubeconfig, () => rendered(ns), { fieldManager: ARGO });
    await tool.sync();
    const started = Date.now();
    await label(ns, undefined);
    const syncs = await tool.syncUntil(performance.now() + SYNCING_MS);
    await settled(ctl, ns);
    const writes = writesIn(ctl, ns, started);
    console.info(`opt-out orphaning, copies in Git: ${syncs} syncs; writes ${writes.length}`);
    // Orphaning drops our labels and our field manager's entries: Git's next sync makes the policy
    // Git's alone, which is left in place.
    expect(writes.sort()).toEqual(STRICT.map((p) => `orphan ${p}`));
    expect((await leftAlone(ns)).names).toEqual(STRICT);
    expect(count(await reasons(ns), 'PolicyFight')).toBe(0);
    for (const p of await policies(ns)) expect(managers(p)).toEqual([ARGO]);
  });
});
