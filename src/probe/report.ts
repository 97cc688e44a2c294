// The dataplane probe's verdict as a ClusterPolicyReport (wgpolicyk8s.io/v1alpha2), one per
// cluster: a result per check, the controls marked, `error` alone when the run could not judge.
// Pure: the controller writes it only when its content changes (timestamps aside).
import { createHash } from 'node:crypto';
import { DATAPLANE_REPORT, type PolicyReportResult, reportContent } from '../policy/compliance.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROFILE_LABEL } from '../policy/labels.ts';
import { resourcePath } from '../kube/resources.ts';
import type { Judgement } from './checks.ts';

export { DATAPLANE_REPORT };
export const DATAPLANE_REPORT_PATH = resourcePath('ClusterPolicyReport', undefined, DATAPLANE_REPORT);

/** enforced (exit 0), not-enforced (1), error (could not judge: 2). */
export type ProbeResult = 'enforced' | 'not-enforced' | 'error';
export const PROBE_RESULTS: readonly ProbeResult[] = ['enforced', 'not-enforced', 'error'];

export function resultOf(code: 0 | 1 | 2): ProbeResult {
  return code === 0 ? 'enforced' : code === 1 ? 'not-enforced' : 'error';
}
/** The last run's result on the report: enforced, not-enforced or error. */
export const DATAPLANE_LABEL = 'namespace-isolation-controller/dataplane';

type Result = Omit<PolicyReportResult, 'resources' | 'result'> & {
  result: 'pass' | 'fail' | 'error';
  resources: { apiVersion: 'v1'; kind: 'Namespace'; name: string }[];
};

export interface ClusterPolicyReport {
  apiVersion: 'wgpolicyk8s.io/v1alpha2';
  kind: 'ClusterPolicyReport';
  metadata: { name: string; labels: Record<string, string> };
  summary: Record<'pass' | 'fail' | 'warn' | 'error' | 'skip', number>;
  results: Result[];
}

export interface ProbeContext {
  /** The namespace the profile is tested in, and the unlabelled one beside it. */
  isolated: string;
  other: string;
  profile: string;
  selectorLabel: string;
}

/** The report for one run, without timestamps. */
export function dataplaneReport(j: Judgement, c: ProbeContext, nowMs: number): ClusterPolicyReport {
  const common = {
    source: MANAGED_BY_VALUE,
    policy: `${c.selectorLabel}=${c.profile}`,
    category: 'Dataplane',
    scored: true,
    resources: [c.isolated, c.other].map((name) => ({
      apiVersion: 'v1' as const,
      kind: 'Namespace' as const,
      name,
    })),
    timestamp: { seconds: Math.floor(nowMs / 1000), nanos: 0 },
  };
  const results: Result[] = j.rows.length
    ? j.rows.map((r) => ({
        ...common,
        rule: r.id,
        result: r.ok ? 'pass' : r.control ? 'error' : 'fail',
        message: `${r.what}, from ${r.from}: want ${r.want}, got ${r.got}`,
        ...(!r.ok && { severity: 'high' as const }),
        properties: { control: String(r.control) },
      }))
    : [{ ...common, rule: 'probe', result: 'error', message: j.summary }];
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'ClusterPolicyReport',
    metadata: {
      name: DATAPLANE_REPORT,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [PROFILE_LABEL]: c.profile,
        [DATAPLANE_LABEL]: resultOf(j.code),
      },
    },
    summary,
    results,
  };
}

/** Equal for two reports exactly when writing one over the other would change nothing but timestamps. */
export function dataplaneDigest(r: ClusterPolicyReport): string {
  const content = reportContent(r as unknown as Parameters<typeof reportContent>[0]);
  return createHash('sha256')
    .update(`${r.metadata.labels[DATAPLANE_LABEL] ?? ''}\0${content}`)
    .digest('base64');
}

/** What a ClusterPolicyReport read back says of the dataplane, for `check --all` and the PolicyReports. */
export interface DataplaneFinding {
  result: ProbeResult;
  /** The checks that failed (not-enforced), or why it could not judge (error). */
  failed: string[];
  /** When the run that found it ended (epoch ms), if the report says. */
  at: number | undefined;
}

export function findingOf(r: Partial<ClusterPolicyReport> | undefined): DataplaneFinding | undefined {
  const result = r?.metadata?.labels?.[DATAPLANE_LABEL] as ProbeResult | undefined;
  if (!result) return undefined;
  const results = r?.results ?? [];
  const failed = results.filter((x) => x.result === 'fail').map((x) => x.rule);
  const seconds = results[0]?.timestamp?.seconds;
  return { result, failed, at: seconds === undefined ? undefined : seconds * 1000 };
}
