// The configuration's rules across fields: profiles name defined policies, gate policies belong to
// their profile, sanctioned openings only where the profile isolates, the leader election's
// timings in client-go's order. config.ts checks each field on its own, then asks these.
import type { ConfigFields } from './configschema.ts';
import { policyTypes } from './policy/grants.ts';
import { bindingName } from './policy/guardrails.ts';
import {
  BUILT_IN_POLICIES,
  DNS_POLICY,
  isSanctionedPolicy,
  SANCTIONED_POLICY,
  sanctionedPolicies,
} from './policy/presets.ts';
import type { SanctionedPods, SanctionedRules } from './policy/types.ts';
import { expand } from './policy/profiles.ts';

/** A problem across fields: where, what is there, and what to do. */
export interface Problem {
  path: (string | number)[];
  input: unknown;
  message: string;
}

/** Every rule across fields that `c`, valid field by field, breaks. */
export function crossFieldProblems(c: ConfigFields): Problem[] {
  const problems: Problem[] = [];
  const profiles = Object.keys(c.profiles).join(', ');
  const builtIn = (name: string) =>
    BUILT_IN_POLICIES.includes(name) && !(name === DNS_POLICY && c.dns.preset === 'custom');
  for (const name of Object.keys(c.policies)) {
    if (!builtIn(name) && isSanctionedPolicy(name))
      problems.push({
        path: ['policies', name],
        input: name,
        message: `${SANCTIONED_POLICY}-… names the policies of sanctioned openings (sanctioned.<profile>.pods); give yours another name`,
      });
    if (!builtIn(name)) continue;
    problems.push({
      path: ['policies', name],
      input: name,
      message:
        name === DNS_POLICY
          ? `is built from dns.preset (${c.dns.preset}); remove it, or set dns.preset: custom to write it yourself`
          : `is a built-in policy; list it in a profile as it is, or give yours another name`,
    });
  }
  for (const [profile, names] of Object.entries(c.profiles)) {
    names.forEach((name, i) => {
      const from =
        name === SANCTIONED_POLICY
          ? `sanctioned.${profile}`
          : `sanctioned.${profile}.pods.${name.slice(SANCTIONED_POLICY.length + 1)}`;
      const problem = isSanctionedPolicy(name)
        ? Object.hasOwn(sanctionedPolicies(c.sanctioned[profile] ?? {}), name)
          ? undefined
          : `is made from ${from}, which is not set`
        : Object.hasOwn(c.policies, name) || builtIn(name)
          ? undefined
          : `names policy ${name}, which is not defined under policies (defined: ${Object.keys(c.policies).join(', ')}; built in: ${BUILT_IN_POLICIES.filter(builtIn).join(', ')})`;
      if (problem) problems.push({ path: ['profiles', profile, i], input: name, message: problem });
    });
  }
  for (const [profile, gate] of Object.entries(c.guardrails.gatePolicies)) {
    const problem = !Object.hasOwn(c.profiles, profile)
      ? `names no profile (defined: ${profiles})`
      : !c.profiles[profile]!.includes(gate)
        ? `must be one of profile ${profile}'s policies (${c.profiles[profile]!.join(', ')}): pods wait for the gate policy, so it must be one the controller puts there`
        : undefined;
    if (problem) {
      problems.push({ path: ['guardrails', 'gatePolicies', profile], input: gate, message: problem });
    }
  }
  for (const field of ['tenantPolicies', 'denyNamedOpenings'] as const)
    for (const [profile, value] of Object.entries(c.guardrails[field])) {
      if (!Object.hasOwn(c.profiles, profile))
        problems.push({
          path: ['guardrails', field, profile],
          input: value,
          message: `names no profile (defined: ${profiles})`,
        });
    }
  // Each profile's Pod gate binding is named after it, lowercased: two may not meet.
  const bindings = new Map<string, string>();
  for (const profile of Object.keys(c.profiles)) {
    const name = bindingName(profile, 'x');
    const other = bindings.get(name);
    if (other !== undefined) {
      problems.push({
        path: ['profiles', profile],
        input: profile,
        message: `differs from profile ${other} only in case or "_" and "-": their admission guardrails would share a name; rename one`,
      });
    }
    bindings.set(name, profile);
  }
  const { policies: withBuiltIns } = expand({ ...c, sanctioned: {} });
  for (const [profile, rules] of Object.entries(c.sanctioned)) {
    if (!Object.hasOwn(c.profiles, profile)) {
      problems.push({
        path: ['sanctioned', profile],
        input: profile,
        message: `names no profile (defined: ${profiles})`,
      });
      continue;
    }
    // Installed as a policy, a rule isolates its direction: only where the profile already does.
    const specs = c.profiles[profile]!.map((n) => withBuiltIns[n]);
    const groups: [(string | number)[], Omit<SanctionedRules, 'pods'>][] = [
      [['sanctioned', profile], rules],
      ...Object.entries(rules.pods ?? {}).map(([name, pods]): [(string | number)[], SanctionedPods] => [
        ['sanctioned', profile, 'pods', name],
        pods,
      ]),
    ];
    for (const [path, group] of groups)
      for (const direction of ['ingress', 'egress'] as const) {
        if (!group[direction]?.length || specs.some((s) => s && policyTypes(s).includes(direction))) continue;
        problems.push({
          path: [...path, direction],
          input: group[direction],
          message: `profile ${profile} does not isolate ${direction}: as a policy, these rules would deny the rest of its ${direction}; remove them or add a policy that isolates ${direction} to the profile`,
        });
      }
  }
  // Only a feature in use constrains the profiles: its default must not refuse a user's own.
  if (c.legacyAnnotation.enabled && !Object.hasOwn(c.profiles, c.legacyAnnotation.profile)) {
    problems.push({
      path: ['legacyAnnotation', 'profile'],
      input: c.legacyAnnotation.profile,
      message: `must name a profile (defined: ${profiles})`,
    });
  }
  if (c.probe) {
    const { isolated, other } = c.probe.namespaces;
    if (c.excludedNamespaces.includes(isolated))
      problems.push({
        path: ['probe', 'namespaces', 'isolated'],
        input: isolated,
        message:
          'is in excludedNamespaces: the controller would not isolate it, and the probe would test nothing',
      });
    if (isolated === other)
      problems.push({
        path: ['probe', 'namespaces', 'other'],
        input: other,
        message: 'must differ from probe.namespaces.isolated',
      });
  }
  // client-go's rule: the leader must give up before a standby may take over, and retry in between.
  const le = c.leaderElection;
  if (le.renewDeadlineSeconds >= le.leaseDurationSeconds) {
    problems.push({
      path: ['leaderElection', 'renewDeadlineSeconds'],
      input: le.renewDeadlineSeconds,
      message: `must be less than leaseDurationSeconds (${le.leaseDurationSeconds})`,
    });
  }
  if (le.retryPeriodSeconds >= le.renewDeadlineSeconds) {
    problems.push({
      path: ['leaderElection', 'retryPeriodSeconds'],
      input: le.retryPeriodSeconds,
      message: `must be less than renewDeadlineSeconds (${le.renewDeadlineSeconds})`,
    });
  }
  return problems;
}
