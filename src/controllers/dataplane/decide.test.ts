import { describe, expect, it } from 'vitest';
import { resultOf } from '../../probe/report.ts';
import { probeEvent, untilDue } from './decide.ts';

describe('untilDue', () => {
  it('runs at once the first time, then intervalMs after each start', () => {
    expect(untilDue(undefined, 5_000, 60_000)).toBe(0);
    expect(untilDue(5_000, 20_000, 60_000)).toBe(45_000);
    expect(untilDue(5_000, 65_000, 60_000)).toBe(0);
    expect(untilDue(5_000, 90_000, 60_000)).toBe(0);
  });
});

describe('probeEvent', () => {
  it('says the first result and every change, never a repeat', () => {
    expect(probeEvent('enforced', undefined, 'all 12 checks')).toEqual({
      reason: 'DataplaneEnforced',
      type: 'Normal',
      action: 'Probe',
      note: 'dataplane probe: enforced: all 12 checks',
    });
    expect(probeEvent('enforced', 'enforced', 'all 12 checks')).toBeUndefined();
    expect(probeEvent(resultOf(1), 'enforced', 'NOT ENFORCED …')).toMatchObject({
      reason: 'DataplaneNotEnforced',
      type: 'Warning',
      note: 'dataplane probe: not-enforced (was enforced): NOT ENFORCED …',
    });
    expect(probeEvent(resultOf(2), 'not-enforced', 'timeout')?.reason).toBe('DataplaneProbeFailed');
  });
});
