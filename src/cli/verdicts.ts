// `check --all` and the verdict part of `check --namespace N`: every managed namespace's policies
// (the tenants' too) evaluated against its profile with the platform engineer's credentials, by the
// rules the compliance controller reports by. Failed writes are known to the controller only: they
// are read from its PolicyReports where those exist; what its dataplane probe found, from its
// ClusterPolicyReport.
import type { KubeClient } from '../kube/client.ts';
import { namespaceView, type ObservedPolicy } from '../kube/objects.ts';
import { resourcePath } from '../kube/resources.ts';
import {
  type Assessment,
  assess,
  DATAPLANE_REPORT,
  type PolicyReport,
  REPORT_NAME,
  reasons,
  type Verdict,
  VERDICTS,
} from '../policy/compliance.ts';
import type { ClusterRead } from './live.ts';
import type { IsolationVerdicts, NamespaceVerdict, PolicyChange } from './schema.ts';
import { select } from '../policy/desired.ts';
import {
  type ClusterPolicyReport,
  DATAPLANE_REPORT_PATH,
  type DataplaneFinding,
  findingOf,
} from '../probe/report.ts';
import { whatOpens } from '../policy/evaluate.ts';
import { exceptionOf } from '../policy/exceptions.ts';
import type { PolicyConfig } from '../policy/profiles.ts';
import { MANAGED_SELECTOR } from '../policy/labels.ts';
import { namespaceLookup } from '../policy/selectors.ts';

const FAILED = 'failed to apply: ';

export interface Verdicts {
  assessments: Assessment[];
  /** Namespaces whose verdict is fail. */
  failing: number;
  /** What the controller's dataplane probe last found, where its ClusterPolicyReport can be read. */
  dataplane: DataplaneFinding | undefined;
  report: string;
}

/** Assesses every managed namespace, or only `namespace` (`read` holds its policies only, then). */
export async function verdicts(
  client: KubeClient,
  read: ClusterRead,
  config: PolicyConfig,
  namespace?: string,
): Promise<Verdicts> {
  const { namespaces } = read;
  const byNamespace = new Map<string, ObservedPolicy[]>();
  for (const p of read.policies) {
    const list = byNamespace.get(p.metadata.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.metadata.namespace, list);
  }
  const byName = new Map(namespaces.map((n) => [n.metadata.name, n]));
  const lookup = namespaceLookup(
    (name) => byName.get(name),
    () => namespaces,
  );
  const failed = await failedWrites(client, namespace);
  const now = Date.now();
  const assessments: Assessment[] = [];
  for (const ns of namespaces) {
    const name = ns.metadata.name;
    if (namespace !== undefined && name !== namespace) continue;
    const view = namespaceView(ns);
    const selection = select(view, config);
    if (selection.kind !== 'manage' || selection.terminating) continue; // being deleted: not judged
    assessments.push(
      assess(
        {
          namespace: name,
          labels: view.labels,
          profile: selection.profile,
          policies: byNamespace.get(name) ?? [],
          failed: failed.get(name) ?? new Map<string, string>(),
          exception: exceptionOf(view, now, config.guardrails.maxExceptionHours),
          lookup,
        },
        config,
      ),
    );
  }
  const failing = assessments.filter((a) => a.verdict === 'fail').length;
  const dataplane = findingOf(
    await client.get<ClusterPolicyReport>(DATAPLANE_REPORT_PATH).catch(() => undefined), // no CRD, or not allowed to read it: not known
  );
  const report = namespace === undefined ? table(assessments) : assessments.map(details).join('');
  return { assessments, failing, dataplane, report: report + wire(dataplane) };
}

/** While the probe finds the profile not enforced, the verdicts are about the objects only. */
function wire(d: DataplaneFinding | undefined): string {
  if (d?.result !== 'not-enforced') return '';
  const at = d.at === undefined ? '' : ` at ${new Date(d.at).toISOString()}`;
  return `NOT ENFORCED: the dataplane probe found NetworkPolicies not enforced${at} (${d.failed.join(', ')}): these verdicts judge the objects, which the network plugin does not enforce (kubectl get clusterpolicyreport ${DATAPLANE_REPORT})\n`;
}

/** Per namespace, our policies the controller could not write, as its PolicyReports say. */
async function failedWrites(
  client: KubeClient,
  namespace?: string,
): Promise<Map<string, Map<string, string>>> {
  const reports = await client
    .list<PolicyReport>(resourcePath('PolicyReport', namespace), { labelSelector: MANAGED_SELECTOR })
    .catch(() => ({ items: [] })); // no CRD, or not allowed to read them: none known
  const failed = new Map<string, Map<string, string>>();
  for (const report of reports.items.filter((r) => r.metadata.name === REPORT_NAME)) {
    const byPolicy = new Map<string, string>();
    for (const r of report.results ?? []) {
      if (r.properties?.managed === 'true' && r.message.startsWith(FAILED))
        byPolicy.set(r.rule, r.message.slice(FAILED.length));
    }
    failed.set(report.metadata.namespace, byPolicy);
  }
  return failed;
}

/** What else a document holds besides the assessments. */
export interface ReportParts {
  source: IsolationVerdicts['source'];
  dataplane?: DataplaneFinding;
  /** Per namespace, what the controller would write (check's plan, or the files' edited copies). */
  changes?: ReadonlyMap<string, PolicyChange[]>;
  /** Namespaces not managed that check reports: a label naming no profile, policies left to remove. */
  unmanaged?: ReadonlyMap<string, string[]>;
  notes?: string[];
}

/**
 * `check -o json|yaml`: one object per namespace (its verdict, reasons, every result with its
 * openings, structured and as text, and what the controller would change, as a diff) and a count
 * per verdict. The schema: src/cli/schema.ts, published as docs/check-output.schema.json.
 */
export function jsonReport(assessments: readonly Assessment[], parts: ReportParts): IsolationVerdicts {
  const { dataplane } = parts;
  const changesOf = (namespace: string) => parts.changes?.get(namespace) ?? [];
  const managed = assessments.map((a): NamespaceVerdict => ({
    namespace: a.namespace,
    profile: a.profile,
    verdict: a.verdict,
    reasons: reasons(a),
    results: a.results.map((r) => ({
      policy: r.policy,
      ours: r.ours,
      result: r.result,
      message: r.message,
      ...(r.admission && { admission: r.admission }),
      openings: r.openings.map((o) => ({ ...o, text: whatOpens(o) })),
    })),
    changes: changesOf(a.namespace),
  }));
  const unmanaged = [...(parts.unmanaged ?? [])].map(([namespace, why]): NamespaceVerdict => ({
    namespace,
    profile: null,
    verdict: null,
    reasons: why,
    results: [],
    changes: changesOf(namespace),
  }));
  return {
    apiVersion: 'namespace-isolation-controller/v1',
    kind: 'IsolationVerdicts',
    source: parts.source,
    ...(dataplane && {
      dataplane: {
        result: dataplane.result,
        failed: dataplane.failed,
        ...(dataplane.at !== undefined && { at: new Date(dataplane.at).toISOString() }),
      },
    }),
    namespaces: [...managed, ...unmanaged].sort((a, b) => a.namespace.localeCompare(b.namespace)),
    notes: parts.notes ?? [],
    counts: {
      pass: count(assessments, 'pass'),
      warn: count(assessments, 'warn'),
      fail: count(assessments, 'fail'),
    },
  };
}

function count(assessments: readonly Assessment[], verdict: Verdict): number {
  return assessments.filter((a) => a.verdict === verdict).length;
}

/** One row per namespace, then one per further reason; a count per verdict at the end. */
export function table(assessments: readonly Assessment[]): string {
  const rows = [['NAMESPACE', 'PROFILE', 'VERDICT', 'REASONS']];
  for (const a of assessments) {
    const [first = '', ...rest] = reasons(a);
    rows.push([a.namespace, a.profile, a.verdict, first], ...rest.map((r) => ['', '', '', r]));
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd(),
  );
  const counts = VERDICTS.map((v) => `${count(assessments, v)} ${v}`).join(', ');
  return `${lines.join('\n')}\n${assessments.length} managed namespaces: ${counts}\n`;
}

/** A namespace's verdict, each result, and each opening on a line of its own. */
function details(a: Assessment): string {
  const out = [`namespace ${a.namespace} (profile ${a.profile}): isolation verdict ${a.verdict}`];
  for (const r of a.results) {
    out.push(
      `  ${r.result.padEnd(4)}  ${r.policy}${r.ours ? '' : ' (not ours)'}: ${r.openings.length ? 'opens' : r.message}`,
    );
    for (const o of r.openings) out.push(`          ${whatOpens(o)}`);
  }
  return `${out.join('\n')}\n`;
}
