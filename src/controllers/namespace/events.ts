// Every Event the namespace controller records: its reason, type, action and note, in one place.
import type { EventReport } from '../../kube/events.ts';
import type { Drift } from '../../policy/compare.ts';
import { MANAGED_BY_LABEL } from '../../policy/labels.ts';
import type { OptOut } from '../../policy/plan.ts';

export const REASONS = {
  PolicyApplied: { type: 'Normal', action: 'Apply' },
  PolicyRepaired: { type: 'Normal', action: 'Apply' },
  PolicyUpdated: { type: 'Normal', action: 'Apply' },
  PolicyRemoved: { type: 'Normal', action: 'Delete' },
  PolicyOrphaned: { type: 'Normal', action: 'Orphan' },
  ApplyFailed: { type: 'Warning', action: 'Apply' },
  PolicyFight: { type: 'Warning', action: 'Repair' },
  UnknownProfile: { type: 'Warning', action: 'Reconcile' },
  ForeignPolicy: { type: 'Warning', action: 'Reconcile' },
  PolicyNotBuilt: { type: 'Warning', action: 'Reconcile' },
  PolicyLeftAlone: { type: 'Normal', action: 'Reconcile' },
  IsolationException: { type: 'Warning', action: 'Suspend' },
  IsolationExceptionExpired: { type: 'Normal', action: 'Enforce' },
  IsolationExceptionInvalid: { type: 'Warning', action: 'Enforce' },
} as const satisfies Record<string, Pick<EventReport, 'type' | 'action'>>;

export type Reason = keyof typeof REASONS;

const report = (reason: Reason, note: string): EventReport => ({ reason, ...REASONS[reason], note });

/** Under --dry-run the write was sent with dryRun=All and changed nothing; the Event says so. */
const done = (dryRun: boolean, what: string) => (dryRun ? `dry run: would have ${what}` : what);

const seconds = (ms: number) => `${ms / 1000} s`;

const networkPolicies = (names: string[]) =>
  `${names.length === 1 ? 'NetworkPolicy' : 'NetworkPolicies'} ${names.join(', ')}`;

export const events = {
  notBuilt: (why: ReadonlyMap<string, string>) =>
    report(
      'PolicyNotBuilt',
      `${[...why].map(([policy, reason]) => `${policy}: ${reason}`).join('; ')}: left as it is until the namespace has what it reads`,
    ),
  exception: (until: string, reason: string) =>
    report(
      'IsolationException',
      `exception in force until ${until} (${reason}): policies are not repaired and pods are not gated until then`,
    ),

  exceptionExpired: (until: string) =>
    report('IsolationExceptionExpired', `exception ended at ${until}: isolation is enforced again`),

  exceptionInvalid: (label: string, value: string, problem: string) =>
    report(
      'IsolationExceptionInvalid',
      `label ${label}=${value} ignored: ${problem}; isolation stays enforced. Remove the label, or set a valid one with a reason`,
    ),

  created: (policies: string[], profile: string, dryRun: boolean) =>
    report('PolicyApplied', `${done(dryRun, `created ${networkPolicies(policies)}`)} for profile ${profile}`),

  repaired: (policy: string, drift: Drift, profile: string, dryRun: boolean) =>
    report(
      'PolicyRepaired',
      `${done(dryRun, `repaired NetworkPolicy ${policy} (${drift})`)} for profile ${profile}`,
    ),

  /** A change of what is wanted, carried out: `cause` says which (a rollout, not drift). */
  updated: (policies: string[], profile: string, cause: string, dryRun: boolean) =>
    report(
      'PolicyUpdated',
      `${done(dryRun, `updated ${networkPolicies(policies)}`)} for profile ${profile}: ${cause}`,
    ),

  released: (policies: string[], mode: OptOut, dryRun: boolean) =>
    mode === 'delete'
      ? report('PolicyRemoved', done(dryRun, `removed ${networkPolicies(policies)}`))
      : report('PolicyOrphaned', done(dryRun, `stopped managing ${networkPolicies(policies)}`)),

  applyFailed: (policy: string, message: string) =>
    report('ApplyFailed', `NetworkPolicy ${policy}: ${message}`),

  /** `drift` undone by a repair, or `released`: a policy we removed or orphaned came back with our labels. */
  fight: (
    policy: string,
    undo: Drift | 'released',
    writer: string | undefined,
    writes: number,
    waitMs: number,
    maxMs: number,
  ) => {
    const who = writer ? `field manager "${writer}"` : 'another writer';
    const [what, done, fix] =
      undo === 'released'
        ? [
            'given back our labels',
            'removals',
            'Remove it from where that writer applies it (the namespace is not selected), or label the namespace.',
          ]
        : [
            undo === 'deleted' ? 'deleted' : `changed (${undo})`,
            'repairs',
            'Make that writer apply what `namespace-isolation-controller render` prints, or exclude this namespace.',
          ];
    return report(
      'PolicyFight',
      `NetworkPolicy ${policy} was ${what} again by ${who} after ${writes} ${done} within a minute; ` +
        `${done} now wait ${seconds(waitMs)} after the one before, doubling up to ${seconds(maxMs)}. ${fix}`,
    );
  },

  unknownProfile: (label: string, value: string, known: string[]) =>
    report('UnknownProfile', `label ${label}=${value} names no profile; known: ${known.join(', ')}`),

  foreign: (policies: string[]) =>
    report(
      'ForeignPolicy',
      `NetworkPolicies ${policies.join(', ')} carry the label ${MANAGED_BY_LABEL} but are not defined in the ` +
        "controller's configuration; they are left alone: remove the label, or define them under policies",
    ),

  leftAlone: (policies: string[], writers: string[], selected: boolean) => {
    const who = writers.length > 0 ? writers.map((w) => `field manager "${w}"`).join(', ') : 'others';
    const why = selected ? 'the profile does not have it' : 'the namespace is not selected';
    const fix = selected
      ? 'add it back to the profile.'
      : 'label the namespace: a matching copy is then adopted without a write.';
    const [it, one] = policies.length === 1 ? ['it', ''] : ['each', ' of them'];
    return report(
      'PolicyLeftAlone',
      `Left in place: ${networkPolicies(policies)}, with the label ${MANAGED_BY_LABEL} but written only by ${who}, ` +
        `never by this controller, so not its to remove although ${why}. Delete ${it}${one} where it is ` +
        `applied from, or ${fix}`,
    );
  },
};
