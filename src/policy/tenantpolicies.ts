// Tenants' NetworkPolicies judged at admission: per profile, a ValidatingAdmissionPolicy refuses
// (or warns about, or audits: guardrails.tenantPolicies) a policy that is not the controller's when
// one of its rules, in a direction the profile isolates, opens the namespace to everyone (no peers),
// to every namespace (`namespaceSelector: {}`) or to every address (a /0 block): what the
// evaluator judges `fail` for a single peer; with guardrails.denyNamedOpenings, also each named
// peer the profile's own rules do not allow (namedopenings.ts). Namespaces under an exception in
// force are let through.
//
// What CEL does not see (the report still says `fail`; docs/guardrails.md#openings): peers that
// only together reach every address or every namespace, a selector that happens to select every
// namespace there is, and a direction the profile itself opens to everyone on some ports (it is not
// judged at admission). A rule or policy whose pod selector no pod can satisfy is refused although
// it opens nothing.
//
// `openingsRefused` is the same rule in TypeScript, for what `check --all` and the PolicyReports say
// of policies admitted before the guardrail (or while it only warned).
import {
  binding,
  cel,
  exceptionVariables,
  type KubeObject,
  neverGatedOf,
  ours,
  policy,
  PREFIX,
  rule,
  slug,
} from './admission.ts';
import { type Direction, policyTypes, rulesOf } from './grants.ts';
import { matchesAll } from './selectors.ts';
import { type AllowedRule, allowedRules, celCovered, covered } from './namedopenings.ts';
import { type PolicyConfig, specOf } from './profiles.ts';
import type { NetworkPolicyPeer, NetworkPolicySpec } from './types.ts';

export type TenantPolicyMode = 'deny' | 'warn' | 'audit' | 'off';
export const TENANT_POLICY_MODES: readonly TenantPolicyMode[] = ['deny', 'warn', 'audit', 'off'];
/** Where `guardrails.tenantPolicies` does not name a profile: a warning, so that an upgrade refuses nothing. */
export const DEFAULT_TENANT_POLICY_MODE: TenantPolicyMode = 'warn';
const ACTIONS = { deny: ['Deny'], warn: ['Warn'], audit: ['Audit'] } as const;
const HOW = 'Ask for an exception or a sanctioned opening (docs/guardrails.md#openings)';
const NAMED = 'a peer or port the profile does not sanction';

export const tenantPolicyName = (profile: string) => `${PREFIX}-${slug(profile)}-tenant-policies`;

export function tenantPolicyMode(config: PolicyConfig, profile: string): TenantPolicyMode {
  return config.guardrails.tenantPolicies[profile] ?? DEFAULT_TENANT_POLICY_MODE;
}

/** The directions of `profile` that admission judges: isolated, and not opened to everyone by the profile. */
export function judgedDirections(config: PolicyConfig, profile: string): Direction[] {
  const specs = (config.profiles[profile] ?? [])
    .map((name) => specOf(config, profile, name))
    .filter((s) => s !== undefined);
  return (['ingress', 'egress'] as const).filter(
    (d) =>
      specs.some((s) => policyTypes(s).includes(d)) &&
      !specs.some(
        (s) =>
          policyTypes(s).includes(d) && rulesOf(s, d).some((r) => !r.peers?.length || r.peers.some(broad)),
      ),
  );
}

function broad(p: NetworkPolicyPeer): boolean {
  return p.ipBlock ? p.ipBlock.cidr.endsWith('/0') : !!p.namespaceSelector && matchesAll(p.namespaceSelector);
}

const FIELDS = { ingress: ['ingress', 'from', 'Ingress'], egress: ['egress', 'to', 'Egress'] } as const;

/** What a peer (or its absence) opens, in words, as the admission policy says it. */
function opens(d: Direction, ns: string, what: string): string {
  return d === 'ingress' ? `opens namespace ${ns} to ${what}` : `lets namespace ${ns} reach ${what}`;
}

/**
 * The openings of `spec` in `namespace` that the profile's admission policy refuses, one line each
 * (`spec.ingress[0].from[1]: namespaceSelector {} opens namespace team-a to every namespace`).
 */
export function openingsRefused(
  spec: NetworkPolicySpec,
  namespace: string,
  config: PolicyConfig,
  profile: string,
): string[] {
  const types = policyTypes(spec);
  return judgedDirections(config, profile).flatMap((d) => {
    if (!types.includes(d)) return [];
    const [field, peers] = FIELDS[d];
    const rules = rulesOf(spec, d);
    const everyone = rules.flatMap((rule, i) => {
      if (!rule.peers?.length) return [`spec.${field}[${i}]: no ${peers} ${opens(d, namespace, 'everyone')}`];
      return rule.peers.flatMap((p, j) =>
        !broad(p)
          ? []
          : [
              `spec.${field}[${i}].${peers}[${j}]: ` +
                (p.ipBlock
                  ? `ipBlock ${p.ipBlock.cidr} ${opens(d, namespace, 'every address')}`
                  : `namespaceSelector {} ${opens(d, namespace, 'every namespace')}`),
            ],
      );
    });
    // Then, with denyNamedOpenings, each named peer the profile's own rules do not allow.
    const allowed = allowedRules(config, profile, d);
    if (!allowed) return everyone;
    const unsanctioned = rules.flatMap((rule, i) =>
      (rule.peers ?? []).flatMap((p, j) =>
        broad(p) || covered(allowed, spec.podSelector, rule.ports, p)
          ? []
          : [`spec.${field}[${i}].${peers}[${j}]: ${opens(d, namespace, NAMED)}`],
      ),
    );
    return [...everyone, ...unsanctioned];
  });
}

/** The refusal's whole message, as the API server gives it. */
export function refusalMessage(name: string, openings: readonly string[], profile: string): string {
  return `NetworkPolicy ${name}: ${openings.join('; ')}; profile ${profile} forbids it. ${HOW}`;
}

// ---- the same, in CEL ----

/** CEL: the openings of `object` in direction `d`, as a list of strings; named ones too with `allowed`. */
function celOpenings(d: Direction, allowed?: readonly AllowedRule[]): string {
  const [field, peers, type] = FIELDS[d];
  const rules = `variables.${field}`;
  const peer = `${rules}[i].${peers}[j]`;
  const ns = 'namespaceObject.metadata.name';
  const words = (what: string) =>
    d === 'ingress'
      ? `' opens namespace ' + ${ns} + ' to ${what}'`
      : `' lets namespace ' + ${ns} + ' reach ${what}'`;
  const empty = (sel: string, key: string) => `(!has(${sel}.${key}) || size(${sel}.${key}) == 0)`;
  const isBroad =
    `(has(${peer}.ipBlock) && ${peer}.ipBlock.cidr.endsWith('/0')) || ` +
    `(!has(${peer}.ipBlock) && has(${peer}.namespaceSelector) && ${empty(`${peer}.namespaceSelector`, 'matchLabels')} && ${empty(`${peer}.namespaceSelector`, 'matchExpressions')})`;
  const where = `'spec.${field}[' + string(i) + '].${peers}[' + string(j) + ']: '`;
  const what = `(has(${peer}.ipBlock) ? 'ipBlock ' + ${peer}.ipBlock.cidr + ${words('every address')} : 'namespaceSelector {}' + ${words('every namespace')})`;
  const everyone =
    `lists.range(size(${rules})).map(i, ` +
    `!has(${rules}[i].${peers}) || size(${rules}[i].${peers}) == 0 ` +
    `? ['spec.${field}[' + string(i) + ']: no ${peers}' + ${words('everyone')}] ` +
    `: lists.range(size(${rules}[i].${peers})).filter(j, ${isBroad}).map(j, ${where} + ${what})` +
    `).flatten()`;
  const named = allowed
    ? ` + lists.range(size(${rules})).map(i, !has(${rules}[i].${peers}) ? [] : ` +
      `lists.range(size(${rules}[i].${peers})).filter(j, !(${isBroad}) && !${celCovered(allowed, `${rules}[i]`, peer)})` +
      `.map(j, ${where} + (${words(NAMED)}).substring(1))).flatten()`
    : '';
  return `'${type}' in variables.types ? ${everyone}${named} : []`;
}

/** Per profile whose mode is not `off`: the admission policy and its binding. */
export function tenantPolicyGuards(config: PolicyConfig): KubeObject[] {
  const { serviceAccount, maxExceptionHours } = config.guardrails;
  const controller = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;
  return Object.keys(config.profiles)
    .sort()
    .flatMap((profile) => {
      const mode = tenantPolicyMode(config, profile);
      const directions = judgedDirections(config, profile);
      if (mode === 'off' || !directions.length) return [];
      const name = tenantPolicyName(profile);
      return [
        policy(name, {
          matchConstraints: {
            resourceRules: [rule('networking.k8s.io', 'networkpolicies', ['CREATE', 'UPDATE'])],
          },
          matchConditions: [
            // The controller's own policies are the tamper policy's (managed-policies).
            { name: 'a-tenant-policy', expression: `!(${ours('object')})` },
            { name: 'not-the-controller', expression: `request.userInfo.username != '${controller}'` },
          ],
          variables: [
            ...exceptionVariables('namespaceObject', maxExceptionHours),
            {
              name: 'types',
              expression:
                "has(object.spec.policyTypes) && size(object.spec.policyTypes) > 0 ? object.spec.policyTypes : (has(object.spec.egress) && size(object.spec.egress) > 0 ? ['Ingress', 'Egress'] : ['Ingress'])",
            },
            { name: 'ingress', expression: 'has(object.spec.ingress) ? object.spec.ingress : []' },
            { name: 'egress', expression: 'has(object.spec.egress) ? object.spec.egress : []' },
            {
              name: 'openings',
              expression: directions
                .map((d) => `(${celOpenings(d, allowedRules(config, profile, d))})`)
                .join(' + '),
            },
          ],
          validations: [
            {
              expression: 'size(variables.openings) == 0 || variables.excepted',
              messageExpression: `'NetworkPolicy ' + object.metadata.name + ': ' + variables.openings.join('; ') + ${cel(`; profile ${profile} forbids it. ${HOW}`)}`,
              reason: 'Forbidden',
            },
          ],
        }),
        binding(name, name, {
          validationActions: ACTIONS[mode],
          matchResources: {
            namespaceSelector: {
              matchExpressions: [
                { key: config.selectorLabel, operator: 'In', values: [profile] },
                { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: neverGatedOf(config) },
              ],
            },
          },
        }),
      ];
    });
}
