// What a namespace should have: a pure function of the Namespace and the policy configuration.
import { LEGACY_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROFILE_LABEL } from './labels.ts';
import { type PolicyConfig, specOf } from './profiles.ts';
import { RenderError, renderSpec, type TemplateScope } from './template.ts';
import type { NamespaceView, NetworkPolicy } from './types.ts';

export type Decision =
  /** Excluded, or terminating and not selected: nothing is created, repaired or removed. */
  | { kind: 'leave'; reason: 'terminating' | 'excluded' }
  /**
   * The selector label names no profile (`Strict`, a typo, or empty): existing policies are left as
   * they are, so that a mistyped value never strips a namespace's isolation, and it is reported.
   */
  | { kind: 'unknown-profile'; value: string }
  /** Not selected: our policies, if any, are removed (or orphaned, as configured). */
  | { kind: 'unselected' }
  /**
   * Selected. While `terminating`, the API server still accepts updates but refuses creations: an
   * edited policy is repaired, a deleted one is not created again, and nothing is removed.
   */
  | ({ kind: 'manage'; profile: string; terminating: boolean } & Desired);

/**
 * A profile's policies for one namespace. A policy whose spec reads a label the namespace lacks is
 * `unrenderable`: left as it is (neither written nor removed) and reported, never guessed.
 */
export interface Desired {
  policies: NetworkPolicy[];
  /** Policy name → why it cannot be built for this namespace. */
  unrenderable: Map<string, string>;
}

/** A decision without the policies themselves: enough to count namespaces by profile. */
export type Selection =
  Exclude<Decision, { kind: 'manage' }> | { kind: 'manage'; profile: string; terminating: boolean };

export function decide(ns: NamespaceView, config: PolicyConfig): Decision {
  const selection = select(ns, config);
  if (selection.kind !== 'manage') return selection;
  return { ...selection, ...renderProfile(ns, selection.profile, config) };
}

export function select(ns: NamespaceView, config: PolicyConfig): Selection {
  if (config.excludedNamespaces.includes(ns.name)) return { kind: 'leave', reason: 'excluded' };

  const value = ns.labels[config.selectorLabel];
  let profile: string | undefined;
  if (value !== undefined) {
    if (!Object.hasOwn(config.profiles, value)) return { kind: 'unknown-profile', value };
    profile = value;
  } else if (config.legacyAnnotation.enabled && isLegacyDefaultDeny(ns.annotations[LEGACY_ANNOTATION])) {
    profile = config.legacyAnnotation.profile;
  }
  if (profile === undefined)
    return ns.terminating ? { kind: 'leave', reason: 'terminating' } : { kind: 'unselected' };
  return { kind: 'manage', profile, terminating: ns.terminating };
}

/** The policies a profile puts in a namespace (a name alone: one without labels), as applied. */
export function desiredPolicies(
  ns: TemplateScope | string,
  profile: string,
  config: PolicyConfig,
): NetworkPolicy[] {
  return renderProfile(typeof ns === 'string' ? { name: ns, labels: {} } : ns, profile, config).policies;
}

/** The policies a profile puts in a namespace, exactly as the controller applies them. */
export function renderProfile(ns: TemplateScope, profile: string, config: PolicyConfig): Desired {
  const names = config.profiles[profile];
  if (!names) throw new Error(`unknown profile ${JSON.stringify(profile)}`);
  const policies: NetworkPolicy[] = [];
  const unrenderable = new Map<string, string>();
  for (const name of names) {
    const spec = specOf(config, profile, name);
    if (!spec) throw new Error(`profile ${profile} names policy ${name}, which is not defined`);
    try {
      policies.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name,
          namespace: ns.name,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [PROFILE_LABEL]: profile },
        },
        spec: renderSpec(spec, ns),
      });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      unrenderable.set(name, err.message);
    }
  }
  return { policies, unrenderable };
}

/** {"ingress":{"isolation":"DefaultDeny"}}, the only meaning the beta annotation ever had. */
function isLegacyDefaultDeny(annotation: string | undefined): boolean {
  if (!annotation) return false;
  try {
    const parsed = JSON.parse(annotation) as { ingress?: { isolation?: unknown } } | null;
    return parsed?.ingress?.isolation === 'DefaultDeny';
  } catch {
    return false;
  }
}

/** Whether two decisions for one namespace ask for the same thing (a rollout skips it if so). */
export function sameDecision(a: Decision, b: Decision): boolean {
  const plain = (d: Decision) =>
    JSON.stringify(d.kind === 'manage' ? { ...d, unrenderable: [...d.unrenderable] } : d);
  return plain(a) === plain(b);
}
