// Reconciles one namespace's compliance: caches → assessment → Event on a new verdict → its
// PolicyReport, written only when its content changes (and removed when the namespace is no
// longer managed).
import { Dependents } from './dependents.ts';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { apply, remove } from '../../kube/apply.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventReport, EventSubject } from '../../kube/events.ts';
import { type NamespaceObject, namespaceView, type ObservedPolicy } from '../../kube/objects.ts';
import {
  type Assessment,
  assess,
  policyReport,
  REPORT_NAME,
  reasons,
  reportContent,
  stamp,
  VERDICT_LABEL,
  type Verdict,
} from '../../policy/compliance.ts';
import { desiredPolicies, select } from '../../policy/desired.ts';
import type { NamespaceLookup } from '../../policy/selectors.ts';
import { exceptionOf } from '../../policy/exceptions.ts';
import { FIELD_MANAGER, isManaged } from '../../policy/labels.ts';
import type { PolicyConfig } from '../../policy/profiles.ts';
import type { NamespaceView, NetworkPolicy } from '../../policy/types.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { ReconcileResult, Reconciler } from '../../runtime/processor.ts';
import type { DataplaneStatus } from '../dataplane/status.ts';
import type { PolicyStatus } from '../status.ts';
import { verdictChanged } from './events.ts';

/** A PolicyReport as the cache keeps it: its name, version, verdict label, and a digest of its content. */
export interface ObservedReport {
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  digest: string;
}

export function digest(report: Parameters<typeof reportContent>[0]): string {
  return createHash('sha256').update(reportContent(report)).digest('base64');
}

export function slimReport(r: ObservedReport & Parameters<typeof reportContent>[0]): ObservedReport {
  const { name, namespace, resourceVersion, labels } = r.metadata;
  const verdict = labels?.[VERDICT_LABEL];
  return {
    metadata: {
      name,
      namespace,
      resourceVersion,
      ...(verdict !== undefined && { labels: { [VERDICT_LABEL]: verdict } }),
    },
    digest: digest(r),
  };
}

export interface ComplianceDeps {
  client: KubeClient;
  namespaces: Pick<Informer<NamespaceObject>, 'get'>;
  policies: Pick<Informer<ObservedPolicy>, 'inNamespace'>;
  /** Our PolicyReports; undefined when they are not written. */
  reports: Pick<Informer<ObservedReport>, 'get'> | undefined;
  status: PolicyStatus;
  dataplane: DataplaneStatus;
  lookup: NamespaceLookup;
  policy: PolicyConfig;
  dryRun: boolean;
  record: (subject: EventSubject, event: EventReport) => void;
  reportWritten: (operation: 'apply' | 'delete') => void;
  log: Logger;
  now: () => number;
}

export class ComplianceReconciler implements Reconciler {
  private readonly d: ComplianceDeps;
  /** Per managed namespace: its profile and last verdict (the gauge counts them). */
  readonly verdicts = new Map<string, { profile: string; verdict: Verdict }>();
  /** Per namespace: the namespaceSelectors its verdict read (re-assessed when one matches a change). */
  readonly dependsOn = new Dependents();

  constructor(deps: ComplianceDeps) {
    this.d = deps;
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { policy, status } = this.d;
    const ns = this.d.namespaces.get(name);
    const view = ns && namespaceView(ns);
    const selection = view && select(view, policy);
    // A namespace being deleted is not judged: while it is emptied, its policies read as missing.
    if (selection?.kind !== 'manage' || selection.terminating) {
      this.verdicts.delete(name);
      this.dependsOn.delete(name);
      // Not ours any more: its report goes (a mistyped profile or a terminating namespace keeps it).
      if (
        selection?.kind === 'unselected' ||
        (selection?.kind === 'leave' && selection.reason === 'excluded')
      )
        await this.removeReport(name, signal);
      return undefined;
    }
    // Only once the namespace controller is done with it: mid-creation, policies read as missing.
    const state = status.get(name);
    if (!state?.settled) return undefined;
    const now = this.d.now();
    const exception = exceptionOf(view!, now, policy.guardrails.maxExceptionHours);
    const assessment = assess(
      {
        namespace: name,
        labels: view!.labels,
        profile: selection.profile,
        policies: this.policiesOf(view!, selection.profile),
        failed: state.failed,
        exception,
        lookup: this.d.lookup,
      },
      policy,
    );
    this.dependsOn.set(name, assessment.namespaceSelectors);
    this.verdictSeen(ns!, assessment);
    await this.writeReport(assessment, now, signal);
    // An exception's end changes the verdict even if nothing else does.
    return exception.kind === 'active' ? { requeueAfter: exception.untilMs - now } : undefined;
  }

  /**
   * The namespace's policies. Under --dry-run ours were never written: the verdict is what it will
   * be once they are, which is what a dry run is for.
   */
  private policiesOf(ns: NamespaceView, profile: string): NetworkPolicy[] {
    const observed = this.d.policies.inNamespace(ns.name);
    if (!this.d.dryRun) return observed;
    return [
      ...observed.filter((p) => !isManaged(p.metadata.labels)),
      ...desiredPolicies(ns, profile, this.d.policy),
    ];
  }

  /** A new verdict is said once: in an Event and a log line. A first pass is not news. */
  private verdictSeen(ns: NamespaceObject, a: Assessment): void {
    const name = ns.metadata.name;
    const known = this.verdicts.get(name)?.verdict;
    const reported = this.d.reports?.get(`${name}/${REPORT_NAME}`)?.metadata.labels?.[VERDICT_LABEL];
    const was = known ?? (reported as Verdict | undefined);
    this.verdicts.set(name, { profile: a.profile, verdict: a.verdict });
    if (a.verdict === was || (was === undefined && a.verdict === 'pass')) return;
    const why = reasons(a);
    const fields = { namespace: name, verdict: a.verdict, was, reasons: why };
    if (a.verdict === 'pass') this.d.log.info(fields, 'namespace isolation verdict changed');
    else this.d.log.warn(fields, 'namespace isolation verdict changed');
    this.d.record({ name, uid: ns.metadata.uid }, verdictChanged(a.verdict, was, why, this.d.dryRun));
  }

  private async writeReport(a: Assessment, now: number, signal: AbortSignal): Promise<void> {
    const { reports, client, dryRun } = this.d;
    if (!reports) return;
    const report = policyReport(a, this.d.policy.selectorLabel, this.d.dataplane.notEnforced()?.failed);
    if (reports.get(`${a.namespace}/${REPORT_NAME}`)?.digest === digest(report)) return;
    await apply(client, stamp(report, now), { fieldManager: FIELD_MANAGER, dryRun, signal });
    this.d.reportWritten('apply');
    this.d.log.debug({ namespace: a.namespace, verdict: a.verdict, dryRun }, 'wrote PolicyReport');
  }

  private async removeReport(name: string, signal: AbortSignal): Promise<void> {
    const observed = this.d.reports?.get(`${name}/${REPORT_NAME}`);
    if (!observed) return;
    const ref = {
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: { name: REPORT_NAME, namespace: name },
    };
    await remove(this.d.client, ref, observed.metadata.resourceVersion, {
      fieldManager: FIELD_MANAGER,
      dryRun: this.d.dryRun,
      signal,
    });
    this.d.reportWritten('delete');
    this.d.log.info(
      { namespace: name, dryRun: this.d.dryRun },
      'removed PolicyReport: namespace no longer managed',
    );
  }
}
