// check --probe on the real node, as a platform engineer runs it: kube-router enforcing, exit 0;
// kube-router stopped and its rules flushed (a dataplane that ignores NetworkPolicy), exit 1 naming
// each refused flow that got through; restarted, exit 0 again; frozen (its sync hung, its rules
// stale), exit 1. It could not run (image, admission, RBAC): exit 2 saying why.
// Interrupted, it deletes what it made; what an interrupted run left, the next run removes.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { resourcePath } from '../../src/kube/resources.ts';
import { PROBE_EXPIRES_ANNOTATION, PROBE_LABEL } from '../../src/cli/dataplane.ts';
import type { Row } from '../../src/probe/checks.ts';
import { LocalNode } from '../../harness/node.ts';
import { startProcess } from '../../harness/process.ts';
import { eventually } from '../../harness/wait.ts';
import { startTestController } from '../support/controller.ts';
import { PROBE_USER } from './global-setup.ts';

const kubeconfig = inject('nodeKubeconfig');
const BINDINGS = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';
const node = LocalNode.attach(inject('nodeId'));
const admin = new KubeClient(loadKubeConfig(kubeconfig));
let ctl: Awaited<ReturnType<typeof startTestController>> | undefined;

interface Report {
  profile: string;
  enforced: boolean;
  exitCode: number;
  summary: string;
  checks: Row[];
}

function checkProbe(args: string[] = []) {
  const p = startProcess(['check', '--probe', '--kubeconfig', kubeconfig, ...args]);
  const done = p.exited.then((code) => ({ code, out: p.out(), err: p.err() }));
  return { ...p, done };
}
const json = async (args: string[] = []) => {
  const { code, out, err } = await checkProbe(['-o', 'json', ...args]).done;
  if (!out.startsWith('{')) throw new Error(`exit ${code}: ${err}`);
  return { code, report: JSON.parse(out) as Report, err };
};
const probeNamespaces = async () =>
  (
    await admin.list<{ metadata: { name: string; deletionTimestamp?: string } }>(resourcePath('Namespace'), {
      labelSelector: PROBE_LABEL,
    })
  ).items;
/** Deleted: gone, or on the way (the namespace controller empties it). */
const allDeleted = async () => (await probeNamespaces()).every((n) => n.metadata.deletionTimestamp);

beforeAll(async () => {
  ctl = await startTestController(kubeconfig);
});

afterAll(async () => {
  await ctl?.stop();
  await admin.close();
});

describe('check --probe on a real node', () => {
  it('kube-router enforcing: exit 0, every check of strict as promised, nothing left behind', async () => {
    const { code, report } = await json();
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(code).toBe(0);
    expect(report.enforced).toBe(true);
    const want = Object.fromEntries(report.checks.map((c) => [c.id, c.want]));
    expect(want).toMatchObject({
      'same-namespace-tcp': 'allowed',
      'other-to-isolated-udp': 'refused',
      'isolated-to-other-tcp': 'refused',
      dns: 'allowed',
      'api-server': 'refused',
      'control-api-server': 'allowed',
    });
    expect(report.checks).toHaveLength(12);
    expect(await allDeleted()).toBe(true);
  });

  it('default-deny-ingress: egress stays open, ingress is refused even within the namespace', async () => {
    const { code, report } = await json(['--profile', 'default-deny-ingress']);
    expect(code).toBe(0);
    const got = Object.fromEntries(report.checks.map((c) => [c.id, `${c.want} ${c.got}`]));
    expect(got['same-namespace-tcp']).toMatch(/^refused (refused|timeout)$/);
    expect(got['isolated-to-other-tcp']).toBe('allowed connected');
  });

  it('kube-router stopped and its rules flushed: exit 1 naming each refused flow that got through; restarted: exit 0', async () => {
    await node.stopKubeRouter();
    try {
      await node.flushKubeRouter();
      const { code, out } = await checkProbe().done;
      expect(code).toBe(1);
      const failed = out
        .split('\n')
        .filter((l) => l.endsWith('FAILED'))
        .map((l) => l.split(/\s{2,}/)[0]);
      expect(failed.sort()).toEqual([
        'isolated → other namespace (TCP)',
        'isolated → other namespace (UDP)',
        'other namespace → isolated (TCP)',
        'other namespace → isolated (UDP)',
        'the API server (10.96.0.1:443)',
      ]);
      expect(out).toContain('NOT ENFORCED as profile strict promises: ');
      expect(out).toContain('other namespace → isolated (TCP): got through, but the profile refuses it');
    } finally {
      await node.startKubeRouter();
    }
    expect((await checkProbe().done).code).toBe(0);
  });

  it('kube-router hung (frozen): its rules stale for every Pod since, exit 1; going on again: exit 0', async () => {
    await node.freezeKubeRouter(true);
    try {
      const { code, report } = await json();
      console.info(`frozen: ${report.summary}`);
      expect(code).toBe(1);
      // Its rules are still there, for the Pods it knew: the new ones are in no rule and no set.
      const failed = report.checks.filter((c) => !c.ok).map((c) => c.id);
      expect(failed).toEqual(expect.arrayContaining(['other-to-isolated-tcp', 'other-to-isolated-udp']));
      expect(report.checks.filter((c) => c.control && !c.ok)).toEqual([]);
    } finally {
      await node.freezeKubeRouter(false);
    }
    expect((await checkProbe().done).code).toBe(0);
  });

  it('could not run: admission refusing its Pods is exit 2, naming the policy, nothing left behind', async () => {
    const name = 'refuse-probe-pods';
    const vap = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
          ],
          namespaceSelector: { matchExpressions: [{ key: PROBE_LABEL, operator: 'Exists' }] },
        },
        validations: [{ expression: 'false', message: 'no probe Pods on this cluster' }],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'] },
    };
    const write = (o: { kind: string; metadata: { name: string } }) =>
      admin.send('PATCH', resourcePath(o.kind, undefined, o.metadata.name), {
        query: { fieldManager: 'test', force: true },
        body: o,
        contentType: 'application/apply-patch+yaml',
      });
    await write(vap);
    await write(binding);
    try {
      // In force once a dry-run Pod in a namespace like the probe's is refused.
      const ns = `probe-vap-${Date.now().toString(36)}`;
      await admin.send('POST', resourcePath('Namespace'), {
        body: { metadata: { name: ns, labels: { [PROBE_LABEL]: 'x' } } },
      });
      const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
      await eventually(
        () =>
          admin.send('POST', resourcePath('Pod', ns), { query: { dryRun: 'All' }, body: pod }).then(
            () => false,
            () => true,
          ),
        'the admission policy in force',
      );
      await admin.send('DELETE', resourcePath('Namespace', undefined, ns));
      const { code, err } = await checkProbe().done;
      expect(code).toBe(2);
      expect(err).toMatch(/check --probe: could not run: admission: .*no probe Pods on this cluster/);
      expect(await allDeleted()).toBe(true);
    } finally {
      await admin.send('DELETE', resourcePath('ValidatingAdmissionPolicyBinding', undefined, name));
      await admin.send('DELETE', resourcePath('ValidatingAdmissionPolicy', undefined, name));
    }
  });

  it('could not run: credentials that may not create Pods are exit 2, saying RBAC, nothing left behind', async () => {
    const role = 'probe-without-pods';
    const rules = [
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'create', 'delete'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['deletecollection'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get'] },
    ];
    await admin.send('POST', resourcePath('ClusterRole'), { body: { metadata: { name: role }, rules } });
    await admin.send('POST', BINDINGS, {
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'User', name: PROBE_USER, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    });
    try {
      const p = startProcess(['check', '--probe', '--kubeconfig', inject('probeUserKubeconfig')]);
      const code = await p.exited;
      expect(code).toBe(2);
      expect(p.err()).toMatch(
        /check --probe: could not run: RBAC: your credentials may not create pods: .*cannot create resource "pods"/,
      );
      expect(await allDeleted()).toBe(true);
    } finally {
      await admin.send('DELETE', `${BINDINGS}/${role}`);
      await admin.send('DELETE', resourcePath('ClusterRole', undefined, role));
    }
  });

  it('could not run: an image that cannot be pulled is exit 2, saying so', async () => {
    const { code, err } = await checkProbe(['--image', 'localhost/nic/absent:1']).done;
    expect(code).toBe(2);
    expect(err).toMatch(
      /check --probe: could not run: image pull: localhost\/nic\/absent:1: (ErrImagePull|ImagePullBackOff)/,
    );
    expect(await allDeleted()).toBe(true);
  });

  it('Ctrl-C deletes what it made; the next run removes what an interrupted one left', async () => {
    const leftover = 'nic-probe-leftover-other';
    await admin.send('POST', resourcePath('Namespace'), {
      body: {
        metadata: {
          name: leftover,
          labels: { [PROBE_LABEL]: 'leftover' },
          annotations: { [PROBE_EXPIRES_ANNOTATION]: new Date(Date.now() - 1000).toISOString() },
        },
      },
    });
    const run = checkProbe();
    await eventually(() => run.err().includes('servers ready'), 'the run to have its servers', 120_000);
    expect(run.err()).toContain(`removed ${leftover}, left by an interrupted run`);
    run.child.kill('SIGINT');
    const { code, err } = await run.done;
    expect(code).toBe(130);
    expect(err).toContain('could not run: interrupted');
    expect(err).toMatch(/deleted nic-probe-\w+-isolated, nic-probe-\w+-other/);
    expect(await allDeleted()).toBe(true);
  });
});
