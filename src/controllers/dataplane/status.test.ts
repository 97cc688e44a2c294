import { describe, expect, it } from 'vitest';
import { dataplaneReport } from '../../probe/report.ts';
import { DataplaneStatus } from './status.ts';

describe('DataplaneStatus', () => {
  it('tells the PolicyReports when not-enforced begins, changes or ends; an error changes nothing', () => {
    const status = new DataplaneStatus();
    let changes = 0;
    status.onChange(() => changes++);
    status.set({ result: 'enforced', failed: [], at: 1 });
    expect([changes, status.notEnforced()]).toEqual([0, undefined]);
    status.set({ result: 'not-enforced', failed: ['a'], at: 2 });
    status.set({ result: 'not-enforced', failed: ['a'], at: 3 });
    expect(changes).toBe(1);
    status.set({ result: 'error', failed: [], at: 4 });
    expect(status.notEnforced()).toMatchObject({ failed: ['a'] });
    status.set({ result: 'not-enforced', failed: ['a', 'b'], at: 5 });
    status.set({ result: 'enforced', failed: [], at: 6 });
    expect([changes, status.notEnforced()]).toEqual([3, undefined]);
  });

  it('starts from the report the API server held: not-enforced stays, with no change to tell', () => {
    const held = dataplaneReport(
      {
        code: 1,
        rows: [
          { id: 'a', what: 'a', from: 'x', want: 'refused', got: 'connected', ok: false, control: false },
        ],
        summary: '',
      },
      { isolated: 'i', other: 'o', profile: 'strict', selectorLabel: 'isolation' },
      0,
    );
    const status = new DataplaneStatus(held);
    expect(status.held).toBe(held);
    expect(status.notEnforced()).toMatchObject({ failed: ['a'] });
    expect(new DataplaneStatus(undefined).notEnforced()).toBeUndefined();
  });
});
