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
