// Every Event the namespace controller records: its reason, type, action and note, in one place.
import type { EventReport } from '../../kube/events.ts';
import type { Drift } from '../../policy/compare.ts';
import { MANAGED_BY_LABEL } from '../../policy/labels.ts';
import type { OptOut } from '../../policy/plan.ts';

export const REASONS = {
  PolicyApplied: { type: 'Normal', action: 'Apply' },
  PolicyRepaired: { type: 'Normal', action: 'Apply' },
  PolicyRemoved: { type: 'Normal', action: 'Delete' },
  PolicyOrphaned: { type: 'Normal', action: 'Orphan' },
  ApplyFailed: { type: 'Warning', action: 'Apply' },
  PolicyFight: { type: 'Warning', action: 'Repair' },
  UnknownProfile: { type: 'Warning', action: 'Reconcile' },
  ForeignPolicy: { type: 'Warning', action: 'Reconcile' },
} as const satisfies Record<string, Pick<EventReport, 'type' | 'action'>>;

export type Reason = keyof typeof REASONS;

const report = (reason: Reason, note: string): EventReport => ({ reason, ...REASONS[reason], note });

/** Under --dry-run the write was sent with dryRun=All and changed nothing; the Event says so. */
const done = (dryRun: boolean, what: string) => (dryRun ? `dry run: would have ${what}` : what);

const seconds = (ms: number) => `${ms / 1000} s`;

export const events = {
  created: (policy: string, profile: string, dryRun: boolean) =>
    report('PolicyApplied', `${done(dryRun, `created NetworkPolicy ${policy}`)} for profile ${profile}`),

  repaired: (policy: string, drift: Drift, profile: string, dryRun: boolean) =>
    report(
      'PolicyRepaired',
      `${done(dryRun, `repaired NetworkPolicy ${policy} (${drift})`)} for profile ${profile}`,
    ),

  released: (policy: string, mode: OptOut, dryRun: boolean) =>
    mode === 'delete'
      ? report('PolicyRemoved', done(dryRun, `removed NetworkPolicy ${policy}`))
      : report('PolicyOrphaned', done(dryRun, `stopped managing NetworkPolicy ${policy}`)),

  applyFailed: (policy: string, message: string) =>
    report('ApplyFailed', `NetworkPolicy ${policy}: ${message}`),

  fight: (
    policy: string,
    drift: Drift,
    writer: string | undefined,
    repairs: number,
    nextMs: number,
    maxMs: number,
  ) =>
    report(
      'PolicyFight',
      `NetworkPolicy ${policy} was ${drift === 'deleted' ? 'deleted' : `changed (${drift})`} again by ` +
        `${writer ? `field manager "${writer}"` : 'another writer'} after ${repairs - 1} repairs within a minute; ` +
        `repairs now wait ${seconds(nextMs)}, doubling up to ${seconds(maxMs)}. Make that writer apply what ` +
        '`namespace-isolation-controller render` prints, or exclude this namespace.',
    ),

  unknownProfile: (label: string, value: string, known: string[]) =>
    report('UnknownProfile', `label ${label}=${value} names no profile; known: ${known.join(', ')}`),

  foreign: (policies: string[]) =>
    report(
      'ForeignPolicy',
      `NetworkPolicies ${policies.join(', ')} carry the label ${MANAGED_BY_LABEL} but are not defined in the ` +
        "controller's configuration; they are left alone: remove the label, or define them under policies",
    ),
};
