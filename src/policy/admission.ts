// The building blocks of the admission guardrails (guardrails.ts, tenantpolicies.ts): the objects'
// shape and labels, CEL literals, a map entry that may be absent, ownership, and the exception on a
// namespace judged at the request's time.
import {
  EXCEPTION_EXPIRES_LABEL,
  EXCEPTION_REASON_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from './labels.ts';
import type { PolicyConfig } from './profiles.ts';

const ADMISSION = 'admissionregistration.k8s.io/v1';
export const PREFIX = 'namespace-isolation';
const LABELS = {
  'app.kubernetes.io/part-of': 'namespace-isolation-controller',
  'app.kubernetes.io/component': 'guardrails',
};
/** Label selector (query form) for the objects `guardrails()` makes. */
export const GUARDRAILS_SELECTOR = Object.entries(LABELS)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export const meta = (name: string) => ({ name, labels: LABELS });

export const policy = (name: string, spec: object): KubeObject => ({
  apiVersion: ADMISSION,
  kind: 'ValidatingAdmissionPolicy',
  metadata: meta(name),
  spec: { failurePolicy: 'Fail', ...spec },
});

export const binding = (name: string, policyName: string, spec: object = {}): KubeObject => ({
  apiVersion: ADMISSION,
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: meta(name),
  spec: { policyName, validationActions: ['Deny'], ...spec },
});

/** A matchConstraints resource rule: `operations` on `resource` of API group `group` (v1). */
export const rule = (group: string, resource: string, operations: string[]) => ({
  apiGroups: [group],
  apiVersions: ['v1'],
  operations,
  resources: [resource],
});

/** Names are DNS subdomains; profiles are label values (may hold "_" and capitals). */
export const slug = (profile: string) => profile.toLowerCase().replaceAll('_', '-');

/** Namespaces no guardrail judges: the excluded ones and the controller's own. */
export const neverGatedOf = (config: PolicyConfig) =>
  [...new Set([...config.excludedNamespaces, config.guardrails.serviceAccount.namespace])].sort();

/** Expiry format: a UTC time in ISO 8601's basic format, the only one a label value can hold. */
export const EXCEPTION_FORMAT =
  /^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z$/;

/** Whether `obj` (an object in CEL, maybe null) carries the controller's managed-by label. */
export const ours = (obj: string) =>
  `(${entry(obj, 'labels', MANAGED_BY_LABEL)}) == ${cel(MANAGED_BY_VALUE)}`;

/** A CEL string literal. */
export const cel = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
export const celList = (items: string[]) => `[${items.map(cel).join(', ')}]`;
/** `obj.metadata.<map>[key]`, or '' when absent; `obj` may be null (oldObject on CREATE). */
export const entry = (obj: string, map: 'labels' | 'annotations', key: string) =>
  `${obj} != null && has(${obj}.metadata.${map}) && ${cel(key)} in ${obj}.metadata.${map} ? ${obj}.metadata.${map}[${cel(key)}] : ''`;
/**
 * The exception on `ns` (a namespace: the object written, or a Pod's namespaceObject), judged as
 * exceptions.ts judges it: `excepted` when well formed, with a reason, ending in the future and
 * within `maxHours`. CEL has no clock: the API server stamps the time of this very request on the
 * requester's managedFields entry of the object written, before admission, so the newest is now.
 */
export function exceptionVariables(ns: string, maxHours: number) {
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
