// What the tenant-policy guardrail adds to a NetworkPolicy create (`npm run bench -- --scenario
// admission`): on a fresh control plane, `samples` creates of a narrow tenant policy (admitted
// each time) in a `strict` namespace without the admission policy, then as many with it in `deny`
// mode, then with denyNamedOpenings (the policy's peer sanctioned, so that it compares peers and
// ports), one at a time, each timed from request to answer.
import {
  defaultPolicyConfig,
  defaultPolicySettings,
  expand,
  type PolicyConfig,
} from '../src/policy/profiles.ts';
import type { NetworkPolicySpec } from '../src/policy/types.ts';
import { tenantPolicyGuards } from '../src/policy/tenantpolicies.ts';
import { apply } from '../src/kube/apply.ts';
import { resourcePath } from '../src/kube/resources.ts';
import { eventually } from '../harness/wait.ts';
import { Cluster, percentiles } from './load.ts';

const DENY = {
  ...defaultPolicyConfig,
  guardrails: { ...defaultPolicyConfig.guardrails, tenantPolicies: { strict: 'deny' as const } },
};
const NAMED = expand({
  ...defaultPolicySettings,
  sanctioned: { strict: { ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] } },
  guardrails: {
    ...defaultPolicySettings.guardrails,
    tenantPolicies: { strict: 'deny' },
    denyNamedOpenings: { strict: true },
  },
});
const narrow = {
  podSelector: {},
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
};

export async function admissionLatency(samples: number) {
  const cluster = await Cluster.start(false);
  try {
    await cluster.createNamespaces(['tenant'], { isolation: 'strict' });
    const path = resourcePath('NetworkPolicy', 'tenant');
    const create = async (name: string) => {
      const sent = performance.now();
      await cluster.admin.send('POST', path, { body: { metadata: { name }, spec: narrow } });
      return performance.now() - sent;
    };
    const run = async (prefix: string) => {
      for (let i = 0; i < 20; i++) await create(`${prefix}-warm-${i}`);
      const ms: number[] = [];
      for (let i = 0; i < samples; i++) ms.push(await create(`${prefix}-${i}`));
      return percentiles(ms);
    };
    /** Installs `config`'s guards; in force once `refused` is (a dry run: nothing is created). */
    const install = async (config: PolicyConfig, refused: NetworkPolicySpec, what: string) => {
      for (const o of tenantPolicyGuards(config))
        await apply(cluster.admin, o, { fieldManager: 'bench', dryRun: false });
      await eventually(
        () =>
          cluster.admin
            .send('POST', path, {
              query: { dryRun: 'All' },
              body: { metadata: { name: 'x' }, spec: refused },
            })
            .then(
              () => false,
              () => true,
            ),
        what,
      );
    };
    const without = await run('without');
    await install(DENY, { podSelector: {}, ingress: [{}] }, 'the tenant-policy guard in force');
    const withGuard = await run('with');
    // In force once a peer it does not sanction is refused.
    const other = { from: [{ namespaceSelector: { matchLabels: { team: 'c' } } }] };
    await install(NAMED, { podSelector: {}, ingress: [other] }, 'denyNamedOpenings in force');
    const named = await run('named');
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      samples,
      withoutMs: { p50: r(without.p50), p99: r(without.p99) },
      withMs: { p50: r(withGuard.p50), p99: r(withGuard.p99) },
      addedMs: { p50: r(withGuard.p50 - without.p50), p99: r(withGuard.p99 - without.p99) },
      namedMs: { p50: r(named.p50), p99: r(named.p99) },
    };
  } finally {
    await cluster.stop();
  }
}
