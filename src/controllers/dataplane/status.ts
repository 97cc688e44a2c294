// What the dataplane controller last found, for the compliance controller: while the last probe
// found the profile not enforced, every PolicyReport says that its verdict is about the objects.
import { type ClusterPolicyReport, type DataplaneFinding, findingOf } from '../../probe/report.ts';

export class DataplaneStatus {
  private finding: DataplaneFinding | undefined;
  private readonly listeners: (() => void)[] = [];
  /**
   * The ClusterPolicyReport the API server held at start (read once, by start.ts): the finding
   * starts from it, so that a restart neither drops nor rewrites the PolicyReports' dataplane
   * result, and the writer compares its first report with it.
   */
  readonly held: ClusterPolicyReport | undefined;

  constructor(held?: ClusterPolicyReport) {
    this.held = held;
    const finding = findingOf(held);
    if (finding) this.set(finding);
  }

  /** Called when what the PolicyReports must say changes (not enforced, or its failed checks). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** A run's finding; one that could not judge says nothing of the wire: the last judgement stands. */
  set(finding: DataplaneFinding): void {
    if (finding.result === 'error') return;
    const before = this.notEnforced()?.failed.join();
    this.finding = finding;
    if (before !== this.notEnforced()?.failed.join()) for (const listener of this.listeners) listener();
  }

  /** The last judgement while it is `not-enforced`. */
  notEnforced(): DataplaneFinding | undefined {
    return this.finding?.result === 'not-enforced' ? this.finding : undefined;
  }
}
