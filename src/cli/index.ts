// The subcommands besides running the controller: `render` (the policies as YAML, for a GitOps
// repository) and `check` (what the controller would change in a live cluster, like kubectl diff).
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { UsageError } from '../flags.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/client.ts';
import { managers, namespaceView, type ObservedPolicy } from '../kube/objects.ts';
import { objectPath, resourcePath } from '../kube/resources.ts';
import { renderProfile } from '../policy/desired.ts';
import { GUARDRAILS_SELECTOR, guardrails, type KubeObject } from '../policy/guardrails.ts';
import { FIELD_MANAGER, isManaged, MANAGED_BY_LABEL, PROFILE_LABEL } from '../policy/labels.ts';
import { type Change, type OptOut, plan } from '../policy/plan.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import type { NetworkPolicy } from '../policy/types.ts';
import type { ClusterRead } from './live.ts';
import type { PolicyChange } from './schema.ts';

/** The policies `profile` puts in `namespace`, as multi-document YAML: exactly what is applied. */
export function render(config: PolicyConfig, namespace: string, profile: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  if (!Object.hasOwn(config.profiles, profile)) {
    throw new UsageError(
      `--profile: ${JSON.stringify(profile)} is not a profile; defined: ${Object.keys(config.profiles).join(', ')}`,
    );
  }
  // Rendered for a namespace without labels: a policy reading one cannot be, and says so.
  const { policies, unrenderable } = renderProfile({ name: namespace, labels: {} }, profile, config);
  if (unrenderable.size > 0)
    throw new UsageError(
      `render: ${[...unrenderable].map(([p, why]) => `${p}: ${why}`).join('; ')}; check --namespace shows it for a live namespace`,
    );
  return policies.map((p) => toYaml(p)).join('---\n');
}

/** The admission guardrails the configuration makes, as multi-document YAML for a cluster admin to apply. */
export function renderGuardrails(config: PolicyConfig): string {
  return guardrails(config)
    .map((o) => toYaml(o))
    .join('---\n');
}

/**
 * Compares the guardrails installed with those the configuration makes: each object must hold
 * every field rendered (the API server's defaults may add more), and no binding of ours may be
 * left over from an older configuration. None installed is reported, not counted: they are optional.
 */
export async function checkGuardrails(
  client: KubeClient,
  config: PolicyConfig,
): Promise<{ problems: number; report: string }> {
  const rendered = guardrails(config);
  const lines: string[] = [];
  let installed = 0;
  const forbidden = (err: unknown, what: string) => {
    if (err instanceof KubeApiError && err.status === 403) {
      return { problems: 0, report: `guardrails: not checked, your credentials may not read ${what}\n` };
    }
    throw err;
  };
  for (const want of rendered) {
    const what = `${want.kind} ${want.metadata.name}`;
    let live: Record<string, unknown> | undefined;
    try {
      live = await client.get(objectPath(want));
    } catch (err) {
      return forbidden(err, what);
    }
    if (!live) {
      lines.push(`guardrails: ${what} is missing\n`);
      continue;
    }
    installed++;
    const field = want.kind === 'ClusterRole' ? 'rules' : 'spec';
    if (!covers(want[field], live[field])) {
      lines.push(`guardrails: ${what} differs from the configuration (render guardrails prints it)\n`);
    }
  }
  const names = new Set(rendered.map((o) => `${o.kind}/${o.metadata.name}`));
  let ours: { items: KubeObject[] };
  try {
    ours = await client.list<KubeObject>(resourcePath('ValidatingAdmissionPolicyBinding'), {
      labelSelector: GUARDRAILS_SELECTOR,
    });
  } catch (err) {
    return forbidden(err, 'the list of ValidatingAdmissionPolicyBindings');
  }
  for (const b of ours.items) {
    if (!names.has(`ValidatingAdmissionPolicyBinding/${b.metadata.name}`)) {
      lines.push(
        `guardrails: ValidatingAdmissionPolicyBinding ${b.metadata.name} is not in the configuration (left over?)\n`,
      );
    }
  }
  if (installed === 0 && ours.items.length === 0) {
    return {
      problems: 0,
      report:
        'guardrails: not installed (optional: namespace-isolation-controller render guardrails | kubectl apply --server-side -f -)\n',
    };
  }
  const problems = lines.length;
  if (problems === 0) lines.push(`guardrails: all ${rendered.length} objects in place\n`);
  return { problems, report: lines.join('') };
}

/** Whether `live` holds everything in `want` (objects: each key; arrays: each element, in order). */
export function covers(want: unknown, live: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(live) && live.length === want.length && want.every((w, i) => covers(w, live[i]));
  }
  if (want !== null && typeof want === 'object') {
    if (live === null || typeof live !== 'object') return false;
    const l = live as Record<string, unknown>;
    return Object.entries(want).every(([k, w]) => covers(w, l[k]));
  }
  return want === live;
}

export interface CheckResult {
  /** Namespaces that would change, or whose label names no profile. */
  outOfCompliance: number;
  /** Namespaces the controller manages (or would, had the label a known value). */
  selected: number;
  report: string;
  /** Per namespace, what the controller would write, for check -o json. */
  changes: Map<string, PolicyChange[]>;
  /** Namespaces it does not manage that it reports (a label naming no profile, policies to release), and why. */
  unmanaged: Map<string, string[]>;
}

/**
 * Compares the live cluster (one namespace, or all) with what the controller would make of it,
 * reading with the same rules the controller reconciles by.
 */
export function check(
  read: ClusterRead,
  config: PolicyConfig,
  optOut: OptOut,
  namespace?: string,
): CheckResult {
  const namespaces = read.namespaces.filter((n) => namespace === undefined || n.metadata.name === namespace);
  const ours = new Map<string, Map<string, ObservedPolicy>>();
  for (const p of read.policies.filter((p) => isManaged(p.metadata.labels))) {
    let byName = ours.get(p.metadata.namespace);
    if (!byName) ours.set(p.metadata.namespace, (byName = new Map<string, ObservedPolicy>()));
    byName.set(p.metadata.name, p);
  }

  const out: string[] = [];
  const changesOf = new Map<string, PolicyChange[]>();
  const unmanaged = new Map<string, string[]>();
  let outOfCompliance = 0;
  let selected = 0;
  for (const ns of namespaces) {
    const name = ns.metadata.name;
    const { decision, changes, notWritten } = plan(
      namespaceView(ns),
      ours.get(name) ?? new Map<string, ObservedPolicy>(),
      config,
      optOut,
      (p) => managers(p).includes(FIELD_MANAGER),
    );
    if (decision.kind === 'manage' || decision.kind === 'unknown-profile') selected++;
    if (decision.kind === 'unknown-profile') {
      outOfCompliance++;
      const why = `label ${config.selectorLabel}=${decision.value} names no profile (defined: ${Object.keys(config.profiles).join(', ')}); nothing is applied`;
      out.push(`namespace ${name}: ${why}\n`);
      unmanaged.set(name, [why]);
      continue;
    }
    const why: string[] = [];
    if (notWritten.length > 0) {
      why.push(
        `${[...notWritten].sort().join(', ')} left alone: they carry our label, but only others ever wrote them`,
      );
      out.push(`namespace ${name}: ${why[0]}\n`);
    }
    if (decision.kind !== 'manage' && (why.length > 0 || changes.length > 0)) unmanaged.set(name, why);
    if (changes.length === 0) continue;
    changesOf.set(
      name,
      changes.map((c) => ({ policy: c.policy, change: changeKind(c), diff: patch(c) })),
    );
    outOfCompliance++;
    const profile = decision.kind === 'manage' ? `profile ${decision.profile}` : 'not selected';
    out.push(`namespace ${name} (${profile}): ${changes.map(summary).join(', ')}\n`);
    for (const change of changes) out.push(patch(change));
  }
  out.push(
    outOfCompliance === 0
      ? `all ${selected} selected namespaces are in compliance\n`
      : `${outOfCompliance} of ${selected} selected namespaces out of compliance\n`,
  );
  return { outOfCompliance, selected, report: out.join(''), changes: changesOf, unmanaged };
}

const CHANGE_OF_DRIFT = { deleted: 'create', modified: 'update', labels: 'relabel' } as const;

function changeKind(change: Change<NetworkPolicy>): PolicyChange['change'] {
  return change.kind === 'apply' ? CHANGE_OF_DRIFT[change.drift] : change.kind;
}

function summary(change: Change<NetworkPolicy>): string {
  if (change.kind === 'apply') {
    return `${change.policy} ${change.drift === 'deleted' ? 'missing' : change.drift === 'modified' ? 'modified' : 'labels differ'}`;
  }
  return `${change.policy} ${change.kind === 'delete' ? 'to be removed' : 'to be orphaned'}`;
}

/** A unified diff of the fields the controller owns: live (or the files' copy) → what it would make of it. */
export function patch(change: Change<NetworkPolicy>, from = 'live'): string {
  const live = change.observed ? owned(change.observed) : '';
  const after =
    change.kind === 'apply'
      ? owned(change.desired)
      : change.kind === 'orphan'
        ? owned(change.observed, false)
        : '';
  const { namespace, name } = (change.kind === 'apply' ? change.desired : change.observed).metadata;
  return createTwoFilesPatch(`${from}/${namespace}/${name}`, `controller/${namespace}/${name}`, live, after);
}

function owned(p: NetworkPolicy, withOurLabels = true): string {
  const labels: Record<string, string> = {};
  for (const key of [MANAGED_BY_LABEL, PROFILE_LABEL]) {
    const value = p.metadata.labels?.[key];
    if (withOurLabels && value !== undefined) labels[key] = value;
  }
  return toYaml({
    metadata: { name: p.metadata.name, namespace: p.metadata.namespace, labels },
    spec: p.spec,
  });
}

/** Plain YAML: no anchors and aliases for objects the model shares (a GitOps repo wants none). */
function toYaml(value: unknown): string {
  // Keys in one order whatever the source (built-in or a file), so that a GitOps repo shows no diff.
  return stringify(value, { aliasDuplicateObjects: false, sortMapEntries: true });
}
