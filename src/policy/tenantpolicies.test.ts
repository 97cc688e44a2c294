import { describe, expect, it } from 'vitest';
import { defaultPolicyConfig as config, type PolicyConfig } from './profiles.ts';
import { judgedDirections, openingsRefused, refusalMessage, tenantPolicyGuards } from './tenantpolicies.ts';
import type { NetworkPolicySpec } from './types.ts';

const all = { podSelector: {} };
const ingress = (from?: NetworkPolicySpec['ingress']): NetworkPolicySpec => ({ ...all, ingress: from });

describe('tenant policies at admission', () => {
  it('judges the directions each shipped profile isolates', () => {
    expect(judgedDirections(config, 'strict')).toEqual(['ingress', 'egress']);
    expect(judgedDirections(config, 'same-namespace-only')).toEqual(['ingress']);
    expect(judgedDirections(config, 'default-deny-ingress')).toEqual(['ingress']);
  });

  it('leaves a direction the profile itself opens to everyone to the report', () => {
    const open: PolicyConfig = {
      ...config,
      profiles: { ...config.profiles, web: ['default-deny-all', 'from-anywhere'] },
      policies: {
        ...config.policies,
        'from-anywhere': { ...all, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 443 }] }] },
      },
    };
    expect(judgedDirections(open, 'web')).toEqual(['egress']);
  });

  it('names each rule and peer that opens to everyone, every namespace or every address', () => {
    expect(openingsRefused(ingress([{}]), 'team-a', config, 'strict')).toEqual([
      'spec.ingress[0]: no from opens namespace team-a to everyone',
    ]);
    const spec: NetworkPolicySpec = {
      ...all,
      ingress: [
        { from: [{ podSelector: {} }, { namespaceSelector: {} }] },
        { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } }] },
      ],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { ipBlock: { cidr: '::/0' } }] }],
    };
    expect(openingsRefused(spec, 'team-a', config, 'strict')).toEqual([
      'spec.ingress[0].from[1]: namespaceSelector {} opens namespace team-a to every namespace',
      'spec.ingress[1].from[0]: namespaceSelector {} opens namespace team-a to every namespace',
      'spec.egress[0].to[1]: ipBlock ::/0 lets namespace team-a reach every address',
    ]);
    // Egress is open in default-deny-ingress: nothing there is refused.
    expect(openingsRefused(spec, 'team-a', config, 'default-deny-ingress')).toHaveLength(2);
  });

  it('reads policyTypes as the API does: rules of a direction not listed do nothing', () => {
    const egressOnly: NetworkPolicySpec = { ...all, policyTypes: ['Egress'], ingress: [{}] };
    expect(openingsRefused(egressOnly, 'team-a', config, 'strict')).toEqual([]);
    const impliedEgress: NetworkPolicySpec = { ...all, egress: [{}] };
    expect(openingsRefused(impliedEgress, 'team-a', config, 'strict')).toEqual([
      'spec.egress[0]: no to lets namespace team-a reach everyone',
    ]);
  });

  it('admits what is narrower: named namespaces, blocks, pods of its own namespace', () => {
    const narrow: NetworkPolicySpec = {
      ...all,
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { ipBlock: { cidr: '0.0.0.0/1' } }] },
      ],
    };
    expect(openingsRefused(narrow, 'team-a', config, 'strict')).toEqual([]);
  });

  it('says what was refused, why, and what to do', () => {
    expect(
      refusalMessage('allow-all', ['spec.ingress[0]: no from opens namespace team-a to everyone'], 'strict'),
    ).toBe(
      'NetworkPolicy allow-all: spec.ingress[0]: no from opens namespace team-a to everyone; profile strict forbids it. Ask for an exception or a sanctioned opening (docs/guardrails.md#openings)',
    );
  });

  it('binds each profile as its mode says: warn unless set, none when off', () => {
    const modes = (c: PolicyConfig) =>
      Object.fromEntries(
        tenantPolicyGuards(c)
          .filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')
          .map((o) => [o.metadata.name, (o.spec as { validationActions: string[] }).validationActions]),
      );
    expect(modes(config)).toEqual({
      'namespace-isolation-default-deny-ingress-tenant-policies': ['Warn'],
      'namespace-isolation-same-namespace-only-tenant-policies': ['Warn'],
      'namespace-isolation-strict-tenant-policies': ['Warn'],
    });
    const set = {
      ...config,
      guardrails: {
        ...config.guardrails,
        tenantPolicies: { strict: 'deny', 'default-deny-ingress': 'off', 'same-namespace-only': 'audit' },
      },
    } as PolicyConfig;
    expect(modes(set)).toEqual({
      'namespace-isolation-same-namespace-only-tenant-policies': ['Audit'],
      'namespace-isolation-strict-tenant-policies': ['Deny'],
    });
  });
});
