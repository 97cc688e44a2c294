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
import { gatePolicy, type PolicyConfig } from './profiles.ts';

const ADMISSION = 'admissionregistration.k8s.io/v1';
const PREFIX = 'namespace-isolation';
export const OPT_OUT_ROLE = 'namespace-isolation-controller:opt-out';
export const GATE_POLICY = `${PREFIX}-pods-wait-for-policies`;
export const OPT_OUT_POLICY = `${PREFIX}-guarded-opt-out`;
export const TAMPER_POLICY = `${PREFIX}-managed-policies`;
const LABELS = {
  'app.kubernetes.io/part-of': 'namespace-isolation-controller',
  'app.kubernetes.io/component': 'guardrails',
};
/** Label selector (query form) for the objects `guardrails()` makes. */
export const GUARDRAILS_SELECTOR = Object.entries(LABELS)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
/** Expiry format: a UTC time in ISO 8601's basic format, the only one a label value can hold. */
export const EXCEPTION_FORMAT =
  /^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z$/;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** A CEL string literal. */
const cel = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
const celList = (items: string[]) => `[${items.map(cel).join(', ')}]`;
/** `obj.metadata.<map>[key]`, or '' when absent; `obj` may be null (oldObject on CREATE). */
const entry = (obj: string, map: 'labels' | 'annotations', key: string) =>
  `${obj} != null && has(${obj}.metadata.${map}) && ${cel(key)} in ${obj}.metadata.${map} ? ${obj}.metadata.${map}[${cel(key)}] : ''`;
/** Binding names are DNS subdomains; profiles are label values (may hold "_" and capitals). */
export const bindingName = (profile: string, gate: string) =>
  `${PREFIX}-${profile.toLowerCase().replaceAll('_', '-')}-pods-wait-for-${gate}`;

const { group, resource, verb } = OPT_OUT_PERMISSION;
const mayOptOut = (name: string) =>
  `authorizer.group(${cel(group)}).resource(${cel(resource)}).name(${name}).check(${cel(verb)}).allowed()`;
const howToOptOut = `a platform admin bound to ClusterRole ${OPT_OUT_ROLE} can do it, or grant a time-boxed exception (label ${EXCEPTION_EXPIRES_LABEL})`;

/**
 * The exception on `ns` (a namespace: the object written, or a Pod's namespaceObject), judged as
 * exceptions.ts judges it: `excepted` when well formed, with a reason, ending in the future and
 * within `maxHours`. CEL has no clock: the API server stamps the time of this very request on the
 * requester's managedFields entry of the object written, before admission, so the newest is now.
 */
function exceptionVariables(ns: string, maxHours: number) {
  return [
    { name: 'expires', expression: entry(ns, 'labels', EXCEPTION_EXPIRES_LABEL) },
    { name: 'reason', expression: entry(ns, 'annotations', EXCEPTION_REASON_ANNOTATION) },
    { name: 'wellFormed', expression: `variables.expires.matches(${cel(EXCEPTION_FORMAT.source)})` },
    {
      // YYYYMMDDThhmmssZ → RFC 3339, which timestamp() reads.
      name: 'until',
      expression:
        "timestamp(variables.expires.substring(0, 4) + '-' + variables.expires.substring(4, 6) + '-' + " +
        "variables.expires.substring(6, 8) + 'T' + variables.expires.substring(9, 11) + ':' + " +
        "variables.expires.substring(11, 13) + ':' + variables.expires.substring(13, 15) + 'Z')",
    },
    {
      name: 'stamps',
      expression:
        'has(object.metadata.managedFields) ? object.metadata.managedFields.filter(f, has(f.time)).map(f, timestamp(string(f.time))) : []',
    },
    {
      name: 'inTime',
      expression:
        `variables.stamps.size() > 0 && variables.stamps.all(t, t < variables.until) && ` +
        `variables.stamps.exists(t, variables.until - t <= duration('${maxHours}h'))`,
    },
    {
      name: 'excepted',
      expression: `variables.wellFormed && variables.reason.trim() != '' && variables.inTime`,
    },
  ];
}

/** Everything `render guardrails` prints, in apply order (policies before their bindings). */
export function guardrails(config: PolicyConfig): KubeObject[] {
  const { serviceAccount } = config.guardrails;
  const neverGated = [...new Set([...config.excludedNamespaces, serviceAccount.namespace])].sort();
  const profiles = Object.keys(config.profiles).sort();
  const meta = (name: string) => ({ name, labels: LABELS });
  const policy = (name: string, spec: object): KubeObject => ({
    apiVersion: ADMISSION,
    kind: 'ValidatingAdmissionPolicy',
    metadata: meta(name),
    spec: { failurePolicy: 'Fail', ...spec },
  });
  const binding = (name: string, policyName: string, spec: object = {}): KubeObject => ({
    apiVersion: ADMISSION,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: meta(name),
    spec: { policyName, validationActions: ['Deny'], ...spec },
  });
  const ours = (obj: string) => `(${entry(obj, 'labels', MANAGED_BY_LABEL)}) == ${cel(MANAGED_BY_VALUE)}`;
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
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
        ],
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
        resourceRules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['namespaces'],
          },
        ],
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
        resourceRules: [
          {
            apiGroups: ['networking.k8s.io'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE', 'DELETE'],
            resources: ['networkpolicies'],
          },
        ],
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
  ];
}
