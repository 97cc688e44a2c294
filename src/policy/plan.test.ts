import { describe, expect, it } from 'vitest';
import { decide, desiredPolicies } from './desired.ts';
import { carriesOut, plan } from './plan.ts';
import { defaultPolicyConfig as config, defaultPolicySettings, expand } from './profiles.ts';
import type { NamespaceView, NetworkPolicy } from './types.ts';

const ns = (labels: Record<string, string>): NamespaceView => ({
  name: 'team-a',
  labels,
  annotations: {},
  terminating: false,
});
const byName = (ps: NetworkPolicy[]) => new Map(ps.map((p) => [p.metadata.name, p]));
const strict = desiredPolicies('team-a', 'strict', config);
/** Every policy here was written by the controller, unless a test says otherwise. */
const ours = () => true;
const kinds = (p: ReturnType<typeof plan>) => p.changes.map((c) => `${c.kind} ${c.policy}`);

describe('plan', () => {
  it('applies every policy of a newly selected namespace, its gate policy last', () => {
    expect(
      kinds(plan(ns({ isolation: 'strict' }), new Map<string, NetworkPolicy>(), config, 'delete', ours)),
    ).toEqual(['apply allow-dns', 'apply allow-same-namespace', 'apply default-deny-all']);
    const gated = { ...config, guardrails: { ...config.guardrails, gatePolicies: { strict: 'allow-dns' } } };
    expect(
      kinds(plan(ns({ isolation: 'strict' }), new Map<string, NetworkPolicy>(), gated, 'delete', ours)),
    ).toEqual(['apply default-deny-all', 'apply allow-same-namespace', 'apply allow-dns']);
  });

  it('plans nothing when everything is in place', () => {
    expect(plan(ns({ isolation: 'strict' }), byName(strict), config, 'delete', ours).changes).toEqual([]);
  });

  it('re-applies only the policy that drifted, saying how', () => {
    const edited = structuredClone(strict);
    edited[1]!.spec.egress = [];
    const p = plan(ns({ isolation: 'strict' }), byName(edited), config, 'delete', ours);
    expect(p.changes).toMatchObject([{ kind: 'apply', policy: 'allow-dns', drift: 'modified' }]);
  });

  it('on a profile change applies the new policies and deletes the old ones, even in orphan mode', () => {
    const p = plan(ns({ isolation: 'default-deny-ingress' }), byName(strict), config, 'orphan', ours);
    expect(kinds(p)).toEqual([
      'apply default-deny-ingress',
      'delete default-deny-all',
      'delete allow-dns',
      'delete allow-same-namespace',
    ]);
  });

  it('releases every policy of an unselected namespace the configured way', () => {
    expect(kinds(plan(ns({}), byName(strict), config, 'orphan', ours))).toEqual([
      'orphan default-deny-all',
      'orphan allow-dns',
      'orphan allow-same-namespace',
    ]);
  });

  it('changes nothing for an unknown profile value, an empty one included', () => {
    for (const value of ['Strict', '', 'stricter']) {
      const p = plan(ns({ isolation: value }), byName(strict), config, 'delete', ours);
      expect(p.decision).toEqual({ kind: 'unknown-profile', value });
      expect(p.changes).toEqual([]);
    }
  });

  it('never changes or removes a policy carrying our label under a name it does not define', () => {
    const copied = {
      ...structuredClone(strict[0]!),
      metadata: { ...strict[0]!.metadata, name: 'team-copy' },
    };
    for (const labels of [{ isolation: 'strict' }, {}] as Record<string, string>[]) {
      const p = plan(ns(labels), byName([...strict, copied]), config, 'delete', ours);
      expect(p.foreign).toEqual(['team-copy']);
      expect(kinds(p).filter((k) => k.includes('team-copy'))).toEqual([]);
    }
  });

  it('installs an opening sanctioned for some pods as a policy of its own, and deletes it once it is no longer sanctioned', () => {
    const settings = {
      ...defaultPolicySettings,
      sanctioned: {
        strict: {
          pods: {
            web: {
              podSelector: { matchLabels: { app: 'web' } },
              ingress: [{ from: [{ namespaceSelector: { matchLabels: { purpose: 'edge' } } }] }],
            },
          },
        },
      },
    };
    const sanctioned = expand(settings);
    const fresh = plan(
      ns({ isolation: 'strict' }),
      new Map<string, NetworkPolicy>(),
      sanctioned,
      'delete',
      ours,
    );
    expect(kinds(fresh)).toEqual([
      'apply allow-dns',
      'apply allow-same-namespace',
      'apply allow-sanctioned-web',
      'apply default-deny-all',
    ]);
    const web = fresh.changes.find((c) => c.policy === 'allow-sanctioned-web')!;
    expect(web.kind === 'apply' && web.desired.spec.podSelector).toEqual({ matchLabels: { app: 'web' } });
    const installed = desiredPolicies('team-a', 'strict', sanctioned);
    const removed = plan(
      ns({ isolation: 'strict' }),
      byName(installed),
      expand(defaultPolicySettings),
      'orphan',
      ours,
    );
    expect(kinds(removed)).toEqual(['delete allow-sanctioned-web']);
    expect(removed.foreign).toEqual([]);
  });

  it('never removes or orphans a policy that only others wrote, and reports it instead', () => {
    const gitops = (p: NetworkPolicy) => p.metadata.name !== 'allow-dns';
    for (const mode of ['delete', 'orphan'] as const) {
      const p = plan(ns({}), byName(strict), config, mode, gitops);
      expect(kinds(p)).toEqual([`${mode} default-deny-all`, `${mode} allow-same-namespace`]);
      expect(p.notWritten).toEqual(['allow-dns']);
    }
    const changed = plan(ns({ isolation: 'default-deny-ingress' }), byName(strict), config, 'delete', gitops);
    expect(kinds(changed)).toEqual([
      'apply default-deny-ingress',
      'delete default-deny-all',
      'delete allow-same-namespace',
    ]);
    expect(changed.notWritten).toEqual(['allow-dns']);
  });

  it('adopts matching policies that only others wrote without a write once the namespace is selected', () => {
    const p = plan(ns({ isolation: 'strict' }), byName(strict), config, 'delete', () => false);
    expect(p.changes).toEqual([]);
    expect(p.notWritten).toEqual([]);
  });

  describe('a terminating namespace', () => {
    const terminating = (labels: Record<string, string>): NamespaceView => ({
      ...ns(labels),
      terminating: true,
    });

    it('gets an edited policy repaired, since the API server still accepts updates there', () => {
      const edited = structuredClone(strict);
      edited[0]!.spec.ingress = [{}];
      expect(
        kinds(plan(terminating({ isolation: 'strict' }), byName(edited), config, 'delete', ours)),
      ).toEqual(['apply default-deny-all']);
    });

    it('never gets a deleted policy created again, nor anything removed', () => {
      expect(
        kinds(plan(terminating({ isolation: 'strict' }), byName(strict.slice(1)), config, 'delete', ours)),
      ).toEqual([]);
      expect(
        kinds(
          plan(terminating({ isolation: 'default-deny-ingress' }), byName(strict), config, 'delete', ours),
        ),
      ).toEqual([]);
      expect(kinds(plan(terminating({}), byName(strict), config, 'delete', ours))).toEqual([]);
    });
  });

  describe('a rollout (what is wanted changed) tells updates from repairs', () => {
    const before = decide(ns({ isolation: 'strict' }), config);
    const wider = {
      ...config,
      policies: { ...config.policies, 'allow-dns': { podSelector: {}, policyTypes: ['Egress' as const] } },
    };

    it('updates a policy still as the earlier configuration had it, and creates one it did not have', () => {
      const p = plan(ns({ isolation: 'strict' }), byName(strict), wider, 'delete', ours);
      expect(p.changes.map((c) => carriesOut(c, before))).toEqual([true]);
      const moved = plan(ns({ isolation: 'default-deny-ingress' }), byName(strict), config, 'delete', ours);
      expect(moved.changes.map((c) => `${c.policy} ${carriesOut(c, before)}`)).toEqual([
        'default-deny-ingress true',
        'default-deny-all false',
        'allow-dns false',
        'allow-same-namespace false',
      ]);
    });

    it('repairs a policy someone edited or deleted meanwhile', () => {
      const edited = structuredClone(strict);
      edited[1]!.spec.egress = [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }];
      expect(
        plan(ns({ isolation: 'strict' }), byName(edited), wider, 'delete', ours).changes.map((c) =>
          carriesOut(c, before),
        ),
      ).toEqual([false]);
      const deleted = byName(strict.filter((p) => p.metadata.name !== 'allow-dns'));
      expect(
        plan(ns({ isolation: 'strict' }), deleted, wider, 'delete', ours).changes.map((c) =>
          carriesOut(c, before),
        ),
      ).toEqual([false]);
    });
  });
});
