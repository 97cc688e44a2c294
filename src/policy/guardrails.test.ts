import { describe, expect, it } from 'vitest';
import { bindingName, guardrails, type KubeObject } from './guardrails.ts';
import { defaultPolicyConfig, type PolicyConfig } from './profiles.ts';

const bindings = (objects: KubeObject[]) =>
  objects.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding') as (KubeObject & {
    spec: {
      policyName: string;
      paramRef?: { name: string; parameterNotFoundAction: string };
      matchResources?: { namespaceSelector: { matchExpressions: { key: string; values?: string[] }[] } };
    };
  })[];

describe('guardrails', () => {
  it('gates each profile on its first policy, in its own namespaces, denying when it is missing', () => {
    const gates = bindings(guardrails(defaultPolicyConfig)).filter((b) => b.spec.paramRef);
    expect(gates.map((b) => [b.metadata.name, b.spec.paramRef])).toEqual([
      [
        'namespace-isolation-default-deny-ingress-pods-wait-for-default-deny-ingress',
        { name: 'default-deny-ingress', parameterNotFoundAction: 'Deny' },
      ],
      [
        'namespace-isolation-same-namespace-only-pods-wait-for-deny-from-other-namespaces',
        { name: 'deny-from-other-namespaces', parameterNotFoundAction: 'Deny' },
      ],
      [
        'namespace-isolation-strict-pods-wait-for-default-deny-all',
        { name: 'default-deny-all', parameterNotFoundAction: 'Deny' },
      ],
    ]);
    const strict = gates.at(-1)!.spec.matchResources!.namespaceSelector.matchExpressions;
    expect(strict).toContainEqual({ key: 'isolation', operator: 'In', values: ['strict'] });
    // Never gated: the excluded namespaces and the controller's own.
    expect(strict).toContainEqual({
      key: 'kubernetes.io/metadata.name',
      operator: 'NotIn',
      values: ['kube-node-lease', 'kube-public', 'kube-system', 'namespace-isolation-controller'],
    });
  });

  it('follows the configuration: gate policies, the selector label, the ServiceAccount, the maximum', () => {
    const config: PolicyConfig = {
      ...defaultPolicyConfig,
      selectorLabel: 'tenancy',
      profiles: { Locked_Down: ['default-deny-all', 'allow-dns'] },
      guardrails: {
        serviceAccount: { namespace: 'ops', name: 'isolation' },
        gatePolicies: { Locked_Down: 'allow-dns' },
        maxExceptionHours: 24,
        tenantPolicies: {},
        denyNamedOpenings: {},
      },
    };
    const objects = guardrails(config);
    expect(bindings(objects).map((b) => b.metadata.name)).toEqual([
      bindingName('Locked_Down', 'allow-dns'),
      'namespace-isolation-guarded-opt-out',
      'namespace-isolation-managed-policies',
      'namespace-isolation-locked-down-tenant-policies',
    ]);
    expect(bindingName('Locked_Down', 'allow-dns')).toBe(
      'namespace-isolation-locked-down-pods-wait-for-allow-dns',
    );
    const text = JSON.stringify(objects);
    expect(text).toContain("'system:serviceaccount:ops:isolation'");
    expect(text).toContain("duration('24h')");
    expect(text).toContain("variables.was in ['Locked_Down']");
    expect(text).not.toContain("'isolation'");
  });
});
