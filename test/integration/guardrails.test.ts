// The admission guardrails (manifests/components/guardrails, what `render guardrails` prints),
// proved on a control plane of their own with kube-controller-manager: real users with tokens in
// groups act through the real kubectl; the controller runs as its ServiceAccount with the shipped
// RBAC only; Deployments make ReplicaSets and Pods that admission judges.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkGuardrails, renderGuardrails } from '../../src/cli/index.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { NETWORK_POLICIES } from '../../src/kube/resources.ts';
import { bindingName, guardrails, OPT_OUT_ROLE } from '../../src/policy/guardrails.ts';
import {
  EXCEPTION_EXPIRES_LABEL,
  EXCEPTION_REASON_ANNOTATION,
  MANAGED_BY_LABEL,
} from '../../src/policy/labels.ts';
import { defaultPolicyConfig } from '../../src/policy/profiles.ts';
import { ControlPlane, repoRoot } from '../../harness/controlplane.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { fixtures, STRICT } from '../support/fixtures.ts';
import { uniqueName } from '../support/kube.ts';
import { kubectl } from '../support/kubectl.ts';
import { applyObject, kustomizeBuild } from '../support/manifests.ts';
import { controllerGroups, controllerUser } from '../support/users.ts';

const TENANT = 'tenant';
const PLATFORM = 'platform-admin';
const GUARDRAILS = join(repoRoot, 'manifests/components/guardrails/guardrails.yaml');
const GATE = bindingName('strict', 'default-deny-all');
type Controller = Awaited<ReturnType<typeof startTestController>>;

let cp: ControlPlane;
let dataDir: string;
let kube: ReturnType<typeof fixtures>;
let admin: KubeClient;
let ctl: Controller | undefined;
const startController = async () => (ctl = await startTestController(cp.userKubeconfig(controllerUser)));
const as = (user: string, args: string[], input?: string) => kubectl(cp.userKubeconfig(user), args, input);
const asAdmin = (args: string[], input?: string) => kubectl(cp.kubeconfig, args, input);
/** What the API server said when it refused, or '' when the command succeeded. */
const refusal = (run: Promise<string>) =>
  run.then(
    () => '',
    (err: Error) => err.message,
  );

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nic-guardrails-'));
  cp = await ControlPlane.start({
    dataDir,
    users: { [controllerUser]: controllerGroups, [TENANT]: ['tenants'], [PLATFORM]: ['platform-admins'] },
  });
  kube = fixtures(cp.kubeconfig);
  admin = kube.raw;
  // The controller's shipped RBAC, and the guardrails as committed.
  const rbac = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
  for (const o of await kustomizeBuild('manifests'))
    if (rbac.includes(o.kind)) await applyObject(admin, o, { dryRun: false, fieldManager: 'kubectl' });
  await asAdmin(['apply', '--server-side', '-f', '-'], await readFile(GUARDRAILS, 'utf8'));
  // Tenants and platform admins may patch namespaces (e.g. to label them); only platform admins
  // hold the opt-out permission.
  await asAdmin([
    'create',
    'clusterrole',
    'namespace-patcher',
    '--verb=get,list,patch,update',
    '--resource=namespaces',
  ]);
  for (const [name, role, group] of [
    ['tenants-patch', 'namespace-patcher', 'tenants'],
    ['platform-patch', 'namespace-patcher', 'platform-admins'],
    ['platform-edit', 'edit', 'platform-admins'],
    ['platform-opt-out', OPT_OUT_ROLE, 'platform-admins'],
  ]) {
    await asAdmin(['create', 'clusterrolebinding', name!, `--clusterrole=${role}`, `--group=${group}`]);
  }
  // The API server loads admission policies asynchronously: a Pod in a labelled namespace
  // without policies must be refused before any test relies on the gate.
  const probe = await kube.namespace('gate-probe', { isolation: 'strict' });
  await eventually(
    () =>
      refusal(
        asAdmin(['run', 'probe', '-n', probe, '--image=registry.example/probe:1', '--restart=Never']),
      ).then((message) => message.includes('no params found')),
    'the Pod gate to be in force',
  );
  await startController();
}, 240_000);

afterAll(async () => {
  await ctl?.stop();
  await kube?.close();
  await cp?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A namespace whose tenants have `edit` in it, once its policies are in place. */
async function tenantNamespace(labels: Record<string, string> = { isolation: 'strict' }): Promise<string> {
  const ns = await kube.namespace('guard', labels);
  await asAdmin(['create', 'rolebinding', 'tenants-edit', '-n', ns, '--clusterrole=edit', '--group=tenants']);
  if (labels.isolation) await kube.inSync(ns);
  return ns;
}

/** The names of `ns`'s policies that carry our label, sorted. */
const managed = (ns: string) => kube.managedNames(ns);

const pod = (name: string, namespace: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    // Passes Pod Security's restricted level, which the controller's namespace enforces.
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'registry.example/app:1',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });

const events = async (ns: string, reason: string) =>
  (await kube.events(ns)).filter((e) => e.reason === reason).map((e) => e.note);

describe('the committed guardrails', () => {
  it('are what render guardrails prints from the shipped configuration', async () => {
    const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as unknown);
    expect(docs(await readFile(GUARDRAILS, 'utf8'))).toEqual(docs(renderGuardrails(defaultPolicyConfig)));
  });
});

describe('the Pod gate', () => {
  it('admits no Pod of a Deployment applied with its labelled Namespace before all its policies exist (20 times)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const ns = uniqueName('gate');
      // Every Pod and policy of that namespace as created, by resourceVersion (one etcd: ordered).
      const added = { pods: [] as number[], policies: new Map<string, number>() };
      const abort = new AbortController();
      type Named = { metadata: { name: string; resourceVersion: string } };
      const record = async (path: string, onAdded: (o: Named) => void) => {
        const query = { fieldSelector: `metadata.namespace=${ns}` };
        const list = await admin.list(path, query);
        const stream = await admin.watch<Named>(
          path,
          { ...query, resourceVersion: list.metadata.resourceVersion },
          abort.signal,
        );
        // Wrapped, or awaiting record() would wait for the watch to end.
        return {
          done: (async () => {
            try {
              for await (const e of stream) if (e.type === 'ADDED') onAdded(e.object as Named);
            } catch (err) {
              if (!abort.signal.aborted) throw err;
            }
          })(),
        };
      };
      const watches = [
        await record('/api/v1/pods', (p) => added.pods.push(Number(p.metadata.resourceVersion))),
        await record(NETWORK_POLICIES, (p) =>
          added.policies.set(p.metadata.name, Number(p.metadata.resourceVersion)),
        ),
      ];
      const manifests = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { isolation: 'strict' } } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: ns },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'web' } },
            template: {
              metadata: { labels: { app: 'web' } },
              spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
            },
          },
        },
      ];
      const applied = performance.now();
      await asAdmin(['apply', '-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n'));
      await eventually(() => added.pods.length === 2, `${ns}: both Pods of the Deployment admitted`, 60_000);
      times.push(performance.now() - applied);
      abort.abort();
      await Promise.all(watches.map((w) => w.done));

      expect([...added.policies.keys()].sort()).toEqual(STRICT);
      const lastPolicy = Math.max(...added.policies.values());
      // On failure, what the controller did in that namespace says why.
      const story = () =>
        JSON.stringify(ctl!.logs.filter((l) => l.namespace === ns).map((l) => [l.msg, l.policy, l.err]));
      for (const rv of added.pods) {
        expect(
          rv,
          `${ns}: a Pod admitted before every policy ${JSON.stringify([...added.policies])}; ${story()}`,
        ).toBeGreaterThan(lastPolicy);
      }
    }
    times.sort((a, b) => a - b);
    console.log(
      `Namespace + Deployment applied → both Pods admitted: median ${Math.round(times[10]!)} ms, ` +
        `min ${Math.round(times[0]!)}, max ${Math.round(times[19]!)} (20 runs)`,
    );
  });

  it('fails closed while the controller is down; deleting the binding breaks glass; excluded namespaces are never gated', async () => {
    const enforced = await tenantNamespace();
    await ctl!.stop();
    ctl = undefined;
    let ns: string;
    try {
      ns = await whileDown(enforced);
    } finally {
      await startController();
    }
    await eventually(
      async () => (await managed(ns)).length === 3,
      'the policies once the controller is back',
    );
    await eventually(
      async () => (await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('q'), ns)))) === '',
      'Pods admitted',
    );
  });
});

/** With the controller stopped: what admission refuses and what not, and the break-glass. */
async function whileDown(enforced: string): Promise<string> {
  const ns = uniqueName('guard-down');
  await asAdmin(['create', 'namespace', ns]);
  await asAdmin(['label', 'namespace', ns, 'isolation=strict']);
  const refused = await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('p'), ns)));
  expect(refused).toContain(GATE);
  expect(refused).toContain('no params found');
  // A namespace enforced before keeps running Pods.
  expect(await refusal(as(TENANT, ['create', '-f', '-'], pod('p', enforced)))).toBe('');
  // A policy of the gate's name not written by the controller does not open the gate.
  await asAdmin(
    ['create', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-all' },
      spec: { podSelector: {} },
    }),
  );
  expect(await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('p'), ns)))).toMatch(
    new RegExp(
      `namespace ${ns}: pods wait for NetworkPolicy default-deny-all from namespace-isolation-controller`,
    ),
  );
  await asAdmin(['delete', 'networkpolicy', '-n', ns, 'default-deny-all']);
  // Excluded namespaces and the controller's own are never gated, whatever their labels.
  for (const exempt of ['kube-public', 'namespace-isolation-controller']) {
    await asAdmin(['label', 'namespace', exempt, 'isolation=strict', '--overwrite']);
    expect(await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('p'), exempt)))).toBe('');
  }
  // Breaking glass: delete the profile's binding, and Pods start without their policies.
  await asAdmin(['delete', 'validatingadmissionpolicybinding', GATE]);
  await eventually(
    async () => (await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('p'), ns)))) === '',
    'the gate lifted',
  );
  await asAdmin(['apply', '--server-side', '-f', '-'], await readFile(GUARDRAILS, 'utf8'));
  await eventually(
    async () => (await refusal(asAdmin(['create', '-f', '-'], pod(uniqueName('q'), ns)))).includes(GATE),
    'the gate back',
  );

  return ns;
}

describe('tamper protection and the guarded opt-out', () => {
  it("refuses a tenant's edits of managed policies and its opt-out, even with patch on namespaces", async () => {
    const ns = await tenantNamespace();
    const np = (name: string, labels: Record<string, string> = {}) =>
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace: ns, labels },
        spec: { podSelector: {}, ingress: [{}] },
      });
    const refusedFor = /is refused for tenant|may not be deleted|may not be created with the label/;
    expect(await refusal(as(TENANT, ['delete', 'networkpolicy', '-n', ns, 'allow-dns']))).toMatch(refusedFor);
    expect(
      await refusal(
        as(TENANT, [
          'patch',
          'networkpolicy',
          '-n',
          ns,
          'default-deny-all',
          '--type=merge',
          '-p',
          '{"spec":{"ingress":[{}]}}',
        ]),
      ),
    ).toMatch(refusedFor);
    expect(
      await refusal(as(TENANT, ['label', 'networkpolicy', '-n', ns, 'allow-dns', `${MANAGED_BY_LABEL}-`])),
    ).toMatch(refusedFor);
    expect(
      await refusal(
        as(
          TENANT,
          ['create', '-f', '-'],
          np('impostor', { [MANAGED_BY_LABEL]: 'namespace-isolation-controller' }),
        ),
      ),
    ).toMatch(refusedFor);
    // Its own policies are its own business.
    expect(await refusal(as(TENANT, ['create', '-f', '-'], np('mine')))).toBe('');
    expect(await refusal(as(TENANT, ['delete', 'networkpolicy', '-n', ns, 'mine']))).toBe('');

    const optOut = await refusal(as(TENANT, ['label', 'namespace', ns, 'isolation-']));
    expect(optOut).toContain(
      `namespace ${ns}: changing label isolation from strict to nothing would lift its network isolation`,
    );
    expect(optOut).toContain(OPT_OUT_ROLE);
    expect(
      await refusal(as(TENANT, ['label', 'namespace', ns, 'isolation=nothing-known', '--overwrite'])),
    ).toContain('would lift its network isolation');
    // Adding the label stays open.
    const other = await tenantNamespace({});
    expect(await refusal(as(TENANT, ['label', 'namespace', other, 'isolation=strict']))).toBe('');
    expect(await managed(ns)).toEqual(STRICT);
  });

  it('lets a platform admin change and opt out, and the controller repair and remove under the guardrails', async () => {
    const ns = await tenantNamespace();
    const before = ctl!.writes();
    expect(await refusal(as(PLATFORM, ['delete', 'networkpolicy', '-n', ns, 'allow-dns']))).toBe('');
    await eventually(async () => (await managed(ns)).length === 3, 'allow-dns repaired by the controller');
    expect(await refusal(as(PLATFORM, ['label', 'namespace', ns, 'isolation-']))).toBe('');
    await eventually(async () => (await managed(ns)).length === 0, 'the policies removed by the controller');
    const after = ctl!.writes();
    expect(after.patch - before.patch).toBe(1);
    expect(after.delete - before.delete).toBe(3);
    expect(ctl!.logs.filter((l) => l.namespace === ns && l.msg === 'reconcile failed')).toEqual([]);
  });

  it('lets a namespace be deleted: the namespace controller (its own ServiceAccount) removes the managed policies', async () => {
    const ns = await tenantNamespace();
    await asAdmin(['delete', 'namespace', ns, '--wait=true', '--timeout=60s']);
    expect(await refusal(asAdmin(['get', 'namespace', ns]))).toContain('NotFound');
  });
});

describe('time-boxed exceptions', () => {
  /** The exception label for `seconds` from now, in the form the label holds. */
  const until = (seconds: number) =>
    new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace('.000', '');

  it('are granted only by platform admins, within the maximum, and lift enforcement until they expire', async () => {
    const ns = await tenantNamespace();
    await asAdmin(['annotate', 'namespace', ns, `${EXCEPTION_REASON_ANNOTATION}=INC-1234: debugging egress`]);
    expect(
      await refusal(as(TENANT, ['label', 'namespace', ns, `${EXCEPTION_EXPIRES_LABEL}=${until(3600)}`])),
    ).toContain('may not grant isolation exceptions');
    expect(
      await refusal(
        as(PLATFORM, ['label', 'namespace', ns, `${EXCEPTION_EXPIRES_LABEL}=${until(8 * 24 * 3600)}`]),
      ),
    ).toContain('an exception must end in the future and within 168 hours');
    expect(
      await refusal(as(PLATFORM, ['label', 'namespace', ns, `${EXCEPTION_EXPIRES_LABEL}=tomorrow`])),
    ).toContain('is not a UTC time in the form YYYYMMDDThhmmssZ');

    const expires = until(12);
    expect(
      await refusal(as(PLATFORM, ['label', 'namespace', ns, `${EXCEPTION_EXPIRES_LABEL}=${expires}`])),
    ).toBe('');
    await eventually(
      async () => (await events(ns, 'IsolationException')).length === 1,
      'the IsolationException Event',
    );
    expect((await events(ns, 'IsolationException'))[0]).toContain('(INC-1234: debugging egress)');
    expect(await ctl!.metric('namespace_isolation_exceptions_active')).toBe(1);
    // In force: a deleted policy stays deleted, and the gate policy, taken out of our hands by a
    // platform admin (our label removed), does not hold Pods back.
    await as(PLATFORM, ['delete', 'networkpolicy', '-n', ns, 'allow-same-namespace']);
    await as(PLATFORM, ['label', 'networkpolicy', '-n', ns, 'default-deny-all', `${MANAGED_BY_LABEL}-`]);
    await eventually(() => !ctl!.policies.get(`${ns}/allow-same-namespace`), 'the deletion seen');
    await ctl!.idle();
    expect(await managed(ns)).toEqual(['allow-dns']);
    expect(await refusal(as(TENANT, ['create', '-f', '-'], pod(uniqueName('p'), ns)))).toBe('');

    // At the expiry, enforcement comes back by itself: a requeue at that time, not the 10-minute resync.
    await eventually(
      async () => (await managed(ns)).length === 3,
      'the policy back after the expiry',
      30_000,
    );
    const ended = ctl!.logs.find((l) => l.namespace === ns && l.msg === 'exception ended: enforced again');
    const expiryMs = Date.parse(
      expires.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    expect(ended?.time as number).toBeGreaterThanOrEqual(expiryMs);
    expect(await events(ns, 'IsolationExceptionExpired')).toHaveLength(1);
    expect(await ctl!.metric('namespace_isolation_exceptions_active')).toBe(0);
  });

  it('once ended, hold Pods back by themselves: the controller down, the gate policy missing or not ours', async () => {
    const [missing, notOurs] = [await tenantNamespace(), await tenantNamespace()];
    const expires = until(10);
    for (const ns of [missing, notOurs]) {
      await asAdmin([
        'annotate',
        'namespace',
        ns,
        `${EXCEPTION_REASON_ANNOTATION}=INC-1235: the gate after the end`,
      ]);
      await as(PLATFORM, ['label', 'namespace', ns, `${EXCEPTION_EXPIRES_LABEL}=${expires}`]);
    }
    await ctl!.stop();
    ctl = undefined;
    try {
      await as(PLATFORM, ['delete', 'networkpolicy', '-n', missing, 'default-deny-all']);
      await as(PLATFORM, [
        'label',
        'networkpolicy',
        '-n',
        notOurs,
        'default-deny-all',
        `${MANAGED_BY_LABEL}-`,
      ]);
      // In force, a gate policy that is not ours lets Pods through; a missing one never does.
      expect(await refusal(as(TENANT, ['create', '-f', '-'], pod(uniqueName('p'), notOurs)))).toBe('');
      expect(await refusal(as(TENANT, ['create', '-f', '-'], pod(uniqueName('p'), missing)))).toContain(
        'no params found',
      );
      // Ended, with its label still there and nothing restoring the policies: both hold.
      const expiryMs = Date.parse(
        expires.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
      );
      await eventually(() => Date.now() > expiryMs + 1000, 'the exception to end', 30_000);
      expect(await refusal(as(TENANT, ['create', '-f', '-'], pod(uniqueName('p'), missing)))).toContain(
        'no params found',
      );
      expect(await refusal(as(TENANT, ['create', '-f', '-'], pod(uniqueName('p'), notOurs)))).toContain(
        `pods wait for NetworkPolicy default-deny-all from namespace-isolation-controller`,
      );
    } finally {
      await startController();
    }
  });
});

describe('check', () => {
  it('says so when the credentials may not read them', async () => {
    const tenant = new KubeClient(loadKubeConfig(cp.userKubeconfig(TENANT)));
    try {
      expect(await checkGuardrails(tenant, defaultPolicyConfig)).toEqual({
        problems: 0,
        report: `guardrails: not checked, your credentials may not read ClusterRole ${OPT_OUT_ROLE}\n`,
      });
    } finally {
      await tenant.close();
    }
  });

  it('reports the guardrails in place, then a binding missing and one that differs', async () => {
    expect(await checkGuardrails(admin, defaultPolicyConfig)).toEqual({
      problems: 0,
      report: 'guardrails: all 15 objects in place\n',
    });
    await asAdmin(['delete', 'validatingadmissionpolicybinding', GATE]);
    // Changed under the field manager the restore below applies with, so that it takes the list back.
    const optOut = guardrails(defaultPolicyConfig).find(
      (o) =>
        o.kind === 'ValidatingAdmissionPolicyBinding' &&
        o.metadata.name === 'namespace-isolation-guarded-opt-out',
    )!;
    await asAdmin(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ ...optOut, spec: { ...(optOut.spec as object), validationActions: ['Warn'] } }),
    );
    try {
      expect(await checkGuardrails(admin, defaultPolicyConfig)).toEqual({
        problems: 2,
        report:
          `guardrails: ValidatingAdmissionPolicyBinding ${GATE} is missing\n` +
          'guardrails: ValidatingAdmissionPolicyBinding namespace-isolation-guarded-opt-out differs from the configuration (render guardrails prints it)\n',
      });
    } finally {
      await asAdmin(['apply', '--server-side', '-f', '-'], await readFile(GUARDRAILS, 'utf8'));
    }
  });
});
