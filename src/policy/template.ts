// Per-namespace values in policy specs: a label value in a selector may use the namespace's name or
// one of its labels, `$(namespace.name)` and `$(namespace.labels.<key>)`, e.g.
// `kubernetes.io/metadata.name: $(namespace.name)-monitoring`. Nothing else is a variable, and an
// unknown one is a configuration error, never an empty string.
import { deepFreeze } from './freeze.ts';
import type { LabelSelector, NetworkPolicyPeer, NetworkPolicySpec } from './types.ts';

const VARIABLE = /\$\(([^)]*)\)/g;
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** What a variable may read. */
export interface TemplateScope {
  name: string;
  labels: Record<string, string>;
}

/** Why `value` is not a valid template, or undefined. */
export function templateProblem(value: string): string | undefined {
  for (const [whole, expression] of value.matchAll(VARIABLE)) {
    if (expression === 'namespace.name') continue;
    const key = expression!.startsWith('namespace.labels.') ? expression!.slice(17) : undefined;
    if (key !== undefined && LABEL_KEY.test(key)) continue;
    return `unknown variable ${whole}: use $(namespace.name) or $(namespace.labels.<label key>)`;
  }
  // What is left, with each variable standing for a one-letter value, must be a label value.
  const sample = value.replace(VARIABLE, 'x');
  if (sample.includes('$(')) return `unclosed variable in ${JSON.stringify(value)}`;
  if (sample.length > 63 || !LABEL_VALUE.test(sample)) return 'must be a valid label value';
  return undefined;
}

export class RenderError extends Error {}

function renderValue(value: string, scope: TemplateScope): string {
  if (!value.includes('$(')) return value;
  const out = value.replace(VARIABLE, (_whole, expression: string) => {
    if (expression === 'namespace.name') return scope.name;
    const key = expression.slice(17);
    const label = scope.labels[key];
    if (label === undefined) throw new RenderError(`the namespace has no label ${key}`);
    return label;
  });
  if (out.length > 63 || !LABEL_VALUE.test(out))
    throw new RenderError(
      `${JSON.stringify(value)} renders to ${JSON.stringify(out)}, not a valid label value`,
    );
  return out;
}

function selector(s: LabelSelector | undefined, scope: TemplateScope): LabelSelector | undefined {
  if (!s) return s;
  return {
    ...(s.matchLabels && {
      matchLabels: Object.fromEntries(
        Object.entries(s.matchLabels).map(([k, v]) => [k, renderValue(v, scope)]),
      ),
    }),
    ...(s.matchExpressions && {
      matchExpressions: s.matchExpressions.map((e) =>
        e.values ? { ...e, values: e.values.map((v) => renderValue(v, scope)) } : e,
      ),
    }),
  };
}

function peer(p: NetworkPolicyPeer, scope: TemplateScope): NetworkPolicyPeer {
  const out: NetworkPolicyPeer = { ...p };
  if (p.podSelector) out.podSelector = selector(p.podSelector, scope)!;
  if (p.namespaceSelector) out.namespaceSelector = selector(p.namespaceSelector, scope)!;
  return out;
}

const templated = new WeakMap<NetworkPolicySpec, boolean>();

/**
 * Whether a spec uses a variable (remembered per spec object). A spec seen here is frozen: one
 * without variables is shared by every namespace's policy, so nothing may change it.
 */
export function isTemplated(spec: NetworkPolicySpec): boolean {
  let known = templated.get(spec);
  if (known === undefined) {
    templated.set(spec, (known = JSON.stringify(spec).includes('$(')));
    deepFreeze(spec);
  }
  return known;
}

/**
 * The spec for one namespace; throws RenderError when a label it reads is missing or renders badly.
 * A spec without variables is returned as it is, not copied (it is frozen).
 */
export function renderSpec(spec: NetworkPolicySpec, scope: TemplateScope): NetworkPolicySpec {
  if (!isTemplated(spec)) return spec;
  const out: NetworkPolicySpec = structuredClone(spec);
  out.podSelector = selector(out.podSelector, scope)!;
  for (const rule of out.ingress ?? []) if (rule.from) rule.from = rule.from.map((p) => peer(p, scope));
  for (const rule of out.egress ?? []) if (rule.to) rule.to = rule.to.map((p) => peer(p, scope));
  return out;
}
