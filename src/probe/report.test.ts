import { describe, expect, it } from 'vitest';
import type { Judgement, Row } from './checks.ts';
import { dataplaneDigest, dataplaneReport, findingOf } from './report.ts';

const context = { isolated: 'probe', other: 'probe-other', profile: 'strict', selectorLabel: 'isolation' };
const row = (id: string, ok: boolean, control = false): Row => ({
  id,
  what: `${id} flow`,
  from: 'p-other',
  want: 'refused',
  got: ok ? 'refused' : 'connected',
  ok,
  control,
});

describe('the dataplane ClusterPolicyReport', () => {
  it('has a result per check, a failed one high, and the run’s result as a label', () => {
    const j: Judgement = {
      code: 1,
      rows: [
        row('other-to-isolated-tcp', false),
        row('same-namespace-tcp', true),
        row('control-tcp', true, true),
      ],
      summary: 'NOT ENFORCED',
    };
    const r = dataplaneReport(j, context, 5_000);
    expect(r.metadata).toMatchObject({
      name: 'namespace-isolation-dataplane',
      labels: {
        'namespace-isolation-controller/dataplane': 'not-enforced',
        'namespace-isolation-controller/profile': 'strict',
      },
    });
    expect(r.summary).toEqual({ pass: 2, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(r.results[0]).toMatchObject({
      policy: 'isolation=strict',
      rule: 'other-to-isolated-tcp',
      result: 'fail',
      severity: 'high',
      message: 'other-to-isolated-tcp flow, from p-other: want refused, got connected',
      resources: [
        { kind: 'Namespace', name: 'probe' },
        { kind: 'Namespace', name: 'probe-other' },
      ],
      properties: { control: 'false' },
    });
    expect(findingOf(r)).toEqual({ result: 'not-enforced', failed: ['other-to-isolated-tcp'], at: 5_000 });
  });

  it('a run that could not judge is one error result, saying why; a failed control is an error too', () => {
    const none = dataplaneReport({ code: 2, rows: [], summary: 'could not run: image pull' }, context, 0);
    expect(none.results).toMatchObject([
      { rule: 'probe', result: 'error', message: 'could not run: image pull' },
    ]);
    expect(findingOf(none)).toMatchObject({ result: 'error', failed: [] });
    const control = dataplaneReport(
      { code: 2, rows: [row('control-tcp', false, true)], summary: '' },
      context,
      0,
    );
    expect(control.summary.error).toBe(1);
  });

  it('is written again only when a result changes, not for a new timestamp', () => {
    const ok: Judgement = { code: 0, rows: [row('a', true)], summary: '' };
    const bad: Judgement = { code: 1, rows: [row('a', false)], summary: '' };
    expect(dataplaneDigest(dataplaneReport(ok, context, 1_000))).toBe(
      dataplaneDigest(dataplaneReport(ok, context, 9_000_000)),
    );
    expect(dataplaneDigest(dataplaneReport(ok, context, 0))).not.toBe(
      dataplaneDigest(dataplaneReport(bad, context, 0)),
    );
  });

  it('says nothing of a report it did not write', () => {
    expect(findingOf(undefined)).toBeUndefined();
    expect(findingOf({ metadata: { name: 'x', labels: {} } })).toBeUndefined();
  });
});
