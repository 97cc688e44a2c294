// The admission guardrails, made from the configuration: ValidatingAdmissionPolicies (CEL, run
// inside the API server: no webhook to run or to fail open) and the break-glass ClusterRole.
//
// - The Pod gate: in a namespace whose selector label names a profile, no Pod is admitted until
//   the profile's gate policy exists there with our managed-by label (paramKind NetworkPolicy,
//   parameterNotFoundAction Deny). Excluded namespaces and the controller's own are not gated;
//   under an exception in force, a gate policy that is not ours does not hold Pods back.
// - The guarded opt-out: removing or changing the selector label of a namespace whose label names
//   a profile, and setting an exception, need the opt-out permission (asked of RBAC).
// - Tamper protection: creating, changing or deleting a NetworkPolicy with our managed-by label
//   (or adding or removing the label) is left to the controller's ServiceAccount and holders of the
//   same permission; deletions in a namespace being deleted pass.
//
// The controller never installs these: writing admission policy is a cluster-admin power.
import {
  EXCEPTION_EXPIRES_LABEL,
  EXCEPTION_REASON_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OPT_OUT_PERMISSION,
} from './labels.ts';
import {
  binding,
  cel,
  celList,
  entry,
  exceptionVariables,
  GUARDRAILS_SELECTOR,
  type KubeObject,
  meta,
  neverGatedOf,
  ours,
  policy,
  PREFIX,
  rule,
  slug,
} from './admission.ts';
import { tenantPolicyGuards } from './tenantpolicies.ts';
import { gatePolicy, type PolicyConfig } from './profiles.ts';

export const OPT_OUT_ROLE = 'namespace-isolation-controller:opt-out';
export const GATE_POLICY = `${PREFIX}-pods-wait-for-policies`;
export const OPT_OUT_POLICY = `${PREFIX}-guarded-opt-out`;
export const TAMPER_POLICY = `${PREFIX}-managed-policies`;
export { GUARDRAILS_SELECTOR, type KubeObject };

/** Binding names are DNS subdomains; profiles are label values (may hold "_" and capitals). */
export const bindingName = (profile: string, gate: string) =>
  `${PREFIX}-${slug(profile)}-pods-wait-for-${gate}`;

const { group, resource, verb } = OPT_OUT_PERMISSION;
const mayOptOut = (name: string) =>
  `authorizer.group(${cel(group)}).resource(${cel(resource)}).name(${name}).check(${cel(verb)}).allowed()`;
const howToOptOut = `a platform admin bound to ClusterRole ${OPT_OUT_ROLE} can do it, or grant a time-boxed exception (label ${EXCEPTION_EXPIRES_LABEL})`;

/** Everything `render guardrails` prints, in apply order (policies before their bindings). */
export function guardrails(config: PolicyConfig): KubeObject[] {
  const { serviceAccount } = config.guardrails;
  const neverGated = neverGatedOf(config);
  const profiles = Object.keys(config.profiles).sort();
  const label = config.selectorLabel;

  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(OPT_OUT_ROLE),
      rules: [{ apiGroups: [group], resources: [resource], verbs: [verb] }],
    },
    policy(GATE_POLICY, {
      paramKind: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
      matchConstraints: {
        resourceRules: [rule('', 'pods', ['CREATE'])],
      },
      variables: exceptionVariables('namespaceObject', config.guardrails.maxExceptionHours),
      validations: [
        {
          // Under an exception in force a gate policy changed by hand lets Pods through. Missing,
          // it refuses them even then: a binding denies a missing param before any expression
          // runs, and cannot tell time in its namespaceSelector, so an exception that has ended
          // while nothing restored the policy must keep Pods out (docs/guardrails.md).
          expression: `${ours('params')} || variables.excepted`,
          messageExpression:
            `'namespace ' + request.namespace + ': pods wait for NetworkPolicy ' + params.metadata.name + ` +
            `' from namespace-isolation-controller, and the one there now was not written by it (it lacks ` +
            `the label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); the controller will put its own there shortly'`,
          reason: 'Forbidden',
        },
      ],
    }),
    ...profiles.map((profile) => {
      const gate = gatePolicy(config, profile);
      return binding(bindingName(profile, gate), GATE_POLICY, {
        // No namespace: the policy is looked up in the Pod's own namespace. Missing means denied.
        paramRef: { name: gate, parameterNotFoundAction: 'Deny' },
        matchResources: {
          namespaceSelector: {
            matchExpressions: [
              { key: label, operator: 'In', values: [profile] },
              { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: neverGated },
            ],
          },
        },
      });
    }),
    policy(OPT_OUT_POLICY, {
      matchConstraints: {
        resourceRules: [rule('', 'namespaces', ['CREATE', 'UPDATE'])],
      },
      variables: [
        { name: 'was', expression: entry('oldObject', 'labels', label) },
        { name: 'now', expression: entry('object', 'labels', label) },
        {
          name: 'optsOut',
          expression: `variables.was in ${celList(profiles)} && variables.now != variables.was && !(object.metadata.name in ${celList(neverGated)})`,
        },
        ...exceptionVariables('object', config.guardrails.maxExceptionHours),
        {
          name: 'setsException',
          expression:
            `variables.expires != '' && (variables.expires != (${entry('oldObject', 'labels', EXCEPTION_EXPIRES_LABEL)}) ` +
            `|| variables.reason != (${entry('oldObject', 'annotations', EXCEPTION_REASON_ANNOTATION)}))`,
        },
      ],
      validations: [
        {
          expression: `!variables.optsOut || ${mayOptOut('object.metadata.name')}`,
          messageExpression:
            `'namespace ' + object.metadata.name + ': changing label ${label} from ' + variables.was + ' to ' + ` +
            `(variables.now == '' ? 'nothing' : variables.now) + ' would lift its network isolation, and ' + ` +
            `request.userInfo.username + ' may not opt namespaces out; ${howToOptOut}'`,
          reason: 'Forbidden',
        },
        {
          expression: `!variables.setsException || ${mayOptOut('object.metadata.name')}`,
          messageExpression: `'namespace ' + object.metadata.name + ': ' + request.userInfo.username + ' may not grant isolation exceptions; a platform admin bound to ClusterRole ${OPT_OUT_ROLE} can'`,
          reason: 'Forbidden',
        },
        {
          expression: '!variables.setsException || variables.wellFormed',
          messageExpression: `'namespace ' + object.metadata.name + ': label ${EXCEPTION_EXPIRES_LABEL}=' + variables.expires + ' is not a UTC time in the form YYYYMMDDThhmmssZ, e.g. 20261130T170000Z'`,
          reason: 'Invalid',
        },
        {
          expression: `!variables.setsException || variables.reason.trim() != ''`,
          messageExpression: `'namespace ' + object.metadata.name + ': an exception needs a reason: set annotation ${EXCEPTION_REASON_ANNOTATION} to why, and who asked'`,
          reason: 'Invalid',
        },
        {
          expression: '!variables.setsException || !variables.wellFormed || variables.inTime',
          messageExpression: `'namespace ' + object.metadata.name + ': an exception must end in the future and within ${config.guardrails.maxExceptionHours} hours; ' + variables.expires + ' does not'`,
          reason: 'Invalid',
        },
      ],
    }),
    binding(OPT_OUT_POLICY, OPT_OUT_POLICY),
    policy(TAMPER_POLICY, {
      matchConstraints: {
        resourceRules: [rule('networking.k8s.io', 'networkpolicies', ['CREATE', 'UPDATE', 'DELETE'])],
      },
      matchConditions: [
        { name: 'a-managed-policy', expression: `${ours('oldObject')} || ${ours('object')}` },
        {
          name: 'not-the-controller',
          expression: `request.userInfo.username != ${cel(`system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`)}`,
        },
      ],
      validations: [
        {
          // The namespace controller empties a namespace being deleted (namespaceObject is not
          // available to match conditions).
          expression:
            `(request.operation == 'DELETE' && namespaceObject != null && has(namespaceObject.metadata.deletionTimestamp)) || ` +
            mayOptOut('request.namespace'),
          messageExpression:
            `'NetworkPolicy ' + request.namespace + '/' + request.name + ' ' + ` +
            `(request.operation == 'DELETE' ? 'is managed by namespace-isolation-controller and may not be deleted' : ` +
            `request.operation == 'CREATE' ? 'may not be created with the label ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}' : ` +
            `'is managed by namespace-isolation-controller: changing it, or its label ${MANAGED_BY_LABEL}, is refused') + ` +
            `' for ' + request.userInfo.username + '. The controller keeps these policies as its configuration says; ` +
            `to allow more traffic add a NetworkPolicy of your own, and to lift isolation for a while ask a platform admin (ClusterRole ${OPT_OUT_ROLE}) for an exception'`,
          reason: 'Forbidden',
        },
      ],
    }),
    binding(TAMPER_POLICY, TAMPER_POLICY),
    ...tenantPolicyGuards(config),
  ];
}
