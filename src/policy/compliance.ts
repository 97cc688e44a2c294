// Whether a managed namespace is isolated as its profile says, and why not: one result per policy
// of ours (present, missing, failed to apply, suspended by an exception) and one per policy that
// opens something beyond the profile; the verdict is the worst of them. Also the PolicyReport
// (wgpolicyk8s.io/v1alpha2) that carries it, as Kyverno, Kubewarden and Trivy Operator write theirs.
import { driftOf } from './compare.ts';
import { renderProfile } from './desired.ts';
import { evaluate, type Opening, severityOf, whatOpens } from './evaluate.ts';
import type { NamespaceLookup } from './selectors.ts';
import { type Exception, readable } from './exceptions.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROFILE_LABEL, isManaged } from './labels.ts';
import type { PolicyConfig } from './profiles.ts';
import { openingsRefused, type TenantPolicyMode, tenantPolicyMode } from './tenantpolicies.ts';
import type { Labels, NetworkPolicy } from './types.ts';

export type Verdict = 'pass' | 'warn' | 'fail';
export const VERDICTS: readonly Verdict[] = ['pass', 'warn', 'fail'];
export type ResultKind = Verdict | 'skip';

export interface Result {
  /** The NetworkPolicy the result is about. */
  policy: string;
  /** One of the profile's policies (else another policy in the namespace). */
  ours: boolean;
  result: ResultKind;
  message: string;
  openings: Opening[];
  /** A tenant's policy the tenant-policy guardrail judges: what admission does with it now. */
  admission?: Exclude<TenantPolicyMode, 'off'>;
}

const ADMISSION_NOTES = {
  deny: 'admitted before the guardrail: refused now',
  warn: 'admission only warns: guardrails.tenantPolicies is warn',
  audit: 'admission only audits: guardrails.tenantPolicies is audit',
} as const;

export interface Assessment {
  namespace: string;
  profile: string;
  verdict: Verdict;
  results: Result[];
  /** The non-empty namespaceSelectors read: re-assess when a namespace's labels change. */
  namespaceSelectors: NetworkPolicy['spec']['podSelector'][];
}

export interface AssessInput {
  namespace: string;
  /** The namespace's labels: policies may read them (policy/template.ts). */
  labels: Labels;
  profile: string;
  /** Every NetworkPolicy in the namespace, ours and the tenants'. */
  policies: readonly NetworkPolicy[];
  /** Our policies the last reconcile could not write, with the API server's message. */
  failed: ReadonlyMap<string, string>;
  exception: Exception;
  lookup: NamespaceLookup;
}

/** Label on the PolicyReport: its namespace's verdict, for `kubectl get polr -A -l …=fail`. */
export const VERDICT_LABEL = 'namespace-isolation-controller/verdict';
/** The one PolicyReport per managed namespace. */
export const REPORT_NAME = 'namespace-isolation';

export function assess(input: AssessInput, config: PolicyConfig): Assessment {
  const { namespace, profile, failed, exception } = input;
  const { policies: desired, unrenderable } = renderProfile(
    { name: namespace, labels: input.labels },
    profile,
    config,
  );
  const { openings, namespaceSelectors } = evaluate(
    namespace,
    input.policies.map((p) => ({ name: p.metadata.name, spec: p.spec })),
    { specs: desired.map((p) => p.spec) },
    input.lookup,
  );
  const openingsOf = (name: string) => openings.filter((o) => o.policy === name);
  const present = new Map(
    input.policies.filter((p) => isManaged(p.metadata.labels)).map((p) => [p.metadata.name, p]),
  );

  const results: Result[] = desired.map((want): Result => {
    const policy = want.metadata.name;
    const opens = openingsOf(policy);
    const result = (result: ResultKind, message: string): Result => ({
      policy,
      ours: true,
      result,
      message,
      openings: opens,
    });
    if (exception.kind === 'active')
      return result(
        'skip',
        `not enforced: exception until ${readable(exception.untilMs)} (${exception.reason})`,
      );
    const error = failed.get(policy);
    if (error !== undefined) return result('fail', `failed to apply: ${error}`);
    const have = present.get(policy);
    if (!have) return result('fail', 'missing');
    if (opens.length) return result(severityOf(opens), opensText(opens));
    return driftOf(want, have) === undefined
      ? result('pass', 'present, as the profile defines it')
      : result(
          'warn',
          'present, but differs from the profile (a repair is held back, or another writer keeps it)',
        );
  });
  for (const [policy, why] of unrenderable) {
    results.push({
      policy,
      ours: true,
      result: 'fail',
      message: `cannot be built for this namespace: ${why}`,
      openings: [],
    });
  }
  const ours = new Set(config.profiles[profile]);
  const others = [...new Set(openings.map((o) => o.policy))].filter((name) => !ours.has(name)).sort();
  const mode = tenantPolicyMode(config, profile);
  for (const policy of others) {
    const opens = openingsOf(policy);
    const spec = input.policies.find((p) => p.metadata.name === policy)?.spec;
    // Admitted before the tenant-policy guardrail, or while it only warned: what it would do now.
    const atAdmission = mode !== 'off' && spec && openingsRefused(spec, namespace, config, profile).length;
    results.push({
      policy,
      ours: false,
      result: severityOf(opens),
      message: opensText(opens) + (atAdmission ? ` (${ADMISSION_NOTES[mode]})` : ''),
      openings: opens,
      ...(atAdmission && { admission: mode }),
    });
  }
  const kinds = new Set(results.map((r) => r.result));
  const verdict: Verdict = kinds.has('fail')
    ? 'fail'
    : kinds.has('warn') || kinds.has('skip')
      ? 'warn'
      : 'pass';
  return { namespace, profile, verdict, results, namespaceSelectors };
}

/** Why an assessment is not a pass, one line per result: `allow-all: opens ingress …`. */
export function reasons(a: Assessment): string[] {
  return a.results.filter((r) => r.result !== 'pass').map((r) => `${r.policy}: ${r.message}`);
}

function opensText(openings: readonly Opening[]): string {
  return `opens ${openings.map(whatOpens).join('; ')}`;
}

// ---- the PolicyReport ----

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ResultKind;
  message: string;
  category: string;
  severity?: 'high' | 'medium';
  scored: boolean;
  resources: { apiVersion: string; kind: string; name: string; namespace?: string }[];
  properties?: Record<string, string>;
  timestamp?: { seconds: number; nanos: number };
}

export interface PolicyReport {
  apiVersion: 'wgpolicyk8s.io/v1alpha2';
  kind: 'PolicyReport';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  scope: { apiVersion: 'v1'; kind: 'Namespace'; name: string };
  summary: Record<ResultKind | 'error', number>;
  results: PolicyReportResult[];
}

/** The dataplane probe's ClusterPolicyReport (controllers/dataplane/report.ts). */
export const DATAPLANE_REPORT = 'namespace-isolation-dataplane';

/**
 * The PolicyReport for an assessment, without timestamps (`stamp` adds them when it is written).
 * `notEnforced`: the checks the dataplane probe's last run found not enforced; while there are
 * any, one more result fails: the verdict judges the objects, and the wire does not follow them.
 */
export function policyReport(
  a: Assessment,
  selectorLabel: string,
  notEnforced: readonly string[] = [],
): PolicyReport {
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  const results = a.results.map((r): PolicyReportResult => {
    summary[r.result]++;
    const severity = r.result === 'fail' ? 'high' : r.result === 'warn' ? 'medium' : undefined;
    return {
      source: MANAGED_BY_VALUE,
      policy: `${selectorLabel}=${a.profile}`,
      rule: r.policy,
      result: r.result,
      message: r.message,
      category: 'Network isolation',
      ...(severity && { severity }),
      scored: true,
      resources: [
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: r.policy, namespace: a.namespace },
      ],
      properties: {
        managed: r.ours ? 'true' : 'false',
        ...(r.openings.length && { openings: String(r.openings.length) }),
        ...(r.admission && { admission: r.admission }),
      },
    };
  });
  if (notEnforced.length) {
    summary.fail++;
    results.push({
      source: MANAGED_BY_VALUE,
      policy: `${selectorLabel}=${a.profile}`,
      rule: 'dataplane',
      result: 'fail',
      message: `the dataplane probe found NetworkPolicies not enforced (${notEnforced.join(', ')}): the other results judge this namespace's objects, which the network plugin does not enforce; see ClusterPolicyReport ${DATAPLANE_REPORT}`,
      category: 'Dataplane',
      severity: 'high',
      scored: true,
      resources: [
        { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'ClusterPolicyReport', name: DATAPLANE_REPORT },
      ],
    });
  }
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: {
      name: REPORT_NAME,
      namespace: a.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [PROFILE_LABEL]: a.profile,
        [VERDICT_LABEL]: a.verdict,
      },
    },
    scope: { apiVersion: 'v1', kind: 'Namespace', name: a.namespace },
    summary,
    results,
  };
}

/**
 * What of a report counts as its content: equal for the report we would write and the one the API
 * server holds exactly when writing would change nothing (timestamps and metadata aside).
 */
export function reportContent(r: {
  metadata: { labels?: Record<string, string> };
  scope?: unknown;
  summary?: unknown;
  results?: PolicyReportResult[];
}): string {
  const labels = r.metadata.labels ?? {};
  const results = (r.results ?? []).map((result) => {
    const copy = { ...result };
    delete copy.timestamp;
    return copy;
  });
  return JSON.stringify(
    sortKeys({
      labels: [labels[PROFILE_LABEL], labels[VERDICT_LABEL]],
      scope: r.scope,
      summary: r.summary,
      results,
    }),
  );
}

/** The report with every result stamped `nowMs`, as it is sent. */
export function stamp(report: PolicyReport, nowMs: number): PolicyReport {
  const timestamp = { seconds: Math.floor(nowMs / 1000), nanos: 0 };
  return { ...report, results: report.results.map((r) => ({ ...r, timestamp })) };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
