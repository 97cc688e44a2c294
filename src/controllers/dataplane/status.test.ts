import { describe, expect, it } from 'vitest';
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
});
