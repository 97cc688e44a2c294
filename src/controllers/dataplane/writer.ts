// Writes the dataplane probe's ClusterPolicyReport when its content changes: the first time after
// a start only if it differs from the one the API server held then (DataplaneStatus.held). Where the CRD is missing or the
// controller may not write it, says so once, and tries again at each run (a CRD applied with the
// controller may be served a moment after it starts).
import type { Logger } from 'pino';
import { apply } from '../../kube/apply.ts';
import type { KubeClient } from '../../kube/client.ts';
import { KubeApiError } from '../../kube/errors.ts';
import { FIELD_MANAGER } from '../../policy/labels.ts';
import { type ClusterPolicyReport, DATAPLANE_REPORT, dataplaneDigest } from '../../probe/report.ts';

export class DataplaneReportWriter {
  /** The digest of what the API server holds, as far as this writer knows ('' for nothing). */
  private written: string;
  private refused = false;

  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly dryRun: boolean;

  constructor(client: KubeClient, log: Logger, dryRun: boolean, held: ClusterPolicyReport | undefined) {
    this.client = client;
    this.log = log;
    this.dryRun = dryRun;
    this.written = held ? dataplaneDigest(held) : '';
  }

  /** Writes `report` unless the API server holds the same content; true when it did. */
  async write(report: ClusterPolicyReport, signal: AbortSignal): Promise<boolean> {
    const digest = dataplaneDigest(report);
    try {
      if (this.written === digest) return false;
      await apply(this.client, report, { fieldManager: FIELD_MANAGER, dryRun: this.dryRun, signal });
      this.written = digest;
      if (this.refused) this.log.info(`writing ClusterPolicyReport ${DATAPLANE_REPORT} now`);
      this.refused = false;
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) {
        if (!this.refused)
          this.log.warn(
            { err: err.message },
            `not writing ClusterPolicyReport ${DATAPLANE_REPORT}: install manifests/components/policy-report-crd, and dataplane-probe for its RBAC`,
          );
        this.refused = true;
      } else if (!signal.aborted) {
        this.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'writing the dataplane ClusterPolicyReport failed; the next run tries again',
        );
      }
      return false;
    }
  }
}
