// The dataplane controller's decisions, pure: when the next run is due, and which Event a run's
// outcome makes (only when it changed, as the compliance controller does for verdicts).
import type { EventReport } from '../../kube/events.ts';
import type { ProbeResult } from '../../probe/report.ts';

export const REASONS = {
  DataplaneEnforced: { type: 'Normal', action: 'Probe' },
  DataplaneNotEnforced: { type: 'Warning', action: 'Probe' },
  DataplaneProbeFailed: { type: 'Warning', action: 'Probe' },
} as const satisfies Record<string, Pick<EventReport, 'type' | 'action'>>;

const BY_RESULT = {
  enforced: 'DataplaneEnforced',
  'not-enforced': 'DataplaneNotEnforced',
  error: 'DataplaneProbeFailed',
} as const;

/** Milliseconds until the next run: runs start `intervalMs` apart, the first at once. */
export function untilDue(lastStart: number | undefined, now: number, intervalMs: number): number {
  return lastStart === undefined ? 0 : Math.max(0, lastStart + intervalMs - now);
}

/** The Event for a run, when its result differs from the last one's (the first run's always). */
export function probeEvent(
  result: ProbeResult,
  was: ProbeResult | undefined,
  summary: string,
): EventReport | undefined {
  if (result === was) return undefined;
  const reason = BY_RESULT[result];
  const since = was === undefined ? '' : ` (was ${was})`;
  return { reason, ...REASONS[reason], note: `dataplane probe: ${result}${since}: ${summary}` };
}
