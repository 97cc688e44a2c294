// The names that identify the controller: the labels that mark a NetworkPolicy as ours and name
// the profile that produced it, its field manager, and the prefix of its own metrics.

export const METRICS_PREFIX = 'namespace_isolation';
export const FIELD_MANAGER = 'namespace-isolation-controller';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'namespace-isolation-controller';
export const PROFILE_LABEL = 'namespace-isolation-controller/profile';
/** Label selector (query form) for the NetworkPolicies this controller manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
/** The pre-NetworkPolicy-v1 namespace annotation some clusters still carry. */
export const LEGACY_ANNOTATION = 'net.beta.kubernetes.io/network-policy';

export function isManaged(labels: Record<string, string> | undefined): boolean {
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** A time-boxed exception: until this UTC time (YYYYMMDDThhmmssZ) the namespace is not enforced. */
export const EXCEPTION_EXPIRES_LABEL = 'namespace-isolation-controller/exception-expires';
/** Why the exception was granted: required with the label. */
export const EXCEPTION_REASON_ANNOTATION = 'namespace-isolation-controller/exception-reason';
/**
 * The break-glass permission, a virtual one (no such resource is served): who may opt a namespace
 * out, set an exception, or change managed policies. RBAC decides, asked by the guardrails.
 */
export const OPT_OUT_PERMISSION = {
  group: 'namespace-isolation-controller',
  resource: 'namespaces',
  verb: 'opt-out',
} as const;
