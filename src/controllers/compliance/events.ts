// The Events the compliance controller records: one when a namespace's verdict changes.
import type { EventReport } from '../../kube/events.ts';
import type { Verdict } from '../../policy/compliance.ts';

export const REASONS = {
  IsolationCompliant: { type: 'Normal', action: 'Evaluate' },
  IsolationWarning: { type: 'Warning', action: 'Evaluate' },
  IsolationFailing: { type: 'Warning', action: 'Evaluate' },
} as const satisfies Record<string, Pick<EventReport, 'type' | 'action'>>;

const BY_VERDICT = {
  pass: 'IsolationCompliant',
  warn: 'IsolationWarning',
  fail: 'IsolationFailing',
} as const;

/** Under --dry-run, the verdict once the profile's policies are in place. */
export function verdictChanged(
  verdict: Verdict,
  was: Verdict | undefined,
  reasons: string[],
  dryRun: boolean,
): EventReport {
  const reason = BY_VERDICT[verdict];
  const since = was === undefined ? '' : ` (was ${was})`;
  const why = reasons.length ? `: ${reasons.join('; ')}` : ': nothing beyond its profile is open';
  const what = dryRun ? 'dry run: isolation verdict with the profile in place' : 'isolation verdict';
  return { reason, ...REASONS[reason], note: `${what} ${verdict}${since}${why}` };
}
