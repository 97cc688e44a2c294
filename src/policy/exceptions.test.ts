import { describe, expect, it } from 'vitest';
import { exceptionOf } from './exceptions.ts';
import { EXCEPTION_EXPIRES_LABEL, EXCEPTION_REASON_ANNOTATION } from './labels.ts';
import type { NamespaceView } from './types.ts';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const ns = (expires?: string, reason?: string): NamespaceView => ({
  name: 'a',
  labels: expires === undefined ? {} : { [EXCEPTION_EXPIRES_LABEL]: expires },
  annotations: reason === undefined ? {} : { [EXCEPTION_REASON_ANNOTATION]: reason },
  terminating: false,
});

describe('exceptionOf', () => {
  it.each([
    ['no label', ns(), { kind: 'none' }],
    [
      'in force',
      ns('20261124T120000Z', 'INC-1'),
      { kind: 'active', untilMs: Date.parse('2026-11-24T12:00:00Z'), reason: 'INC-1' },
    ],
    ['exactly the maximum', ns('20261130T120000Z', 'INC-1'), { kind: 'active' }],
    ['past', ns('20261123T115959Z', 'INC-1'), { kind: 'expired' }],
    ['ending now', ns('20261123T120000Z', 'INC-1'), { kind: 'expired' }],
    [
      'longer than the maximum',
      ns('20261130T120001Z', 'INC-1'),
      { kind: 'invalid', problem: 'ends more than 168 hours from now, the most allowed' },
    ],
    [
      'no reason',
      ns('20261124T120000Z'),
      { kind: 'invalid', problem: `no reason given (annotation ${EXCEPTION_REASON_ANNOTATION})` },
    ],
    ['a blank reason', ns('20261124T120000Z', '  '), { kind: 'invalid' }],
    [
      'a date only',
      ns('2026-11-24', 'INC-1'),
      { kind: 'invalid', problem: 'not a UTC time in the form YYYYMMDDThhmmssZ' },
    ],
    ['a day that does not exist', ns('20260230T120000Z', 'INC-1'), { kind: 'invalid' }],
    ['a month that does not exist', ns('20261324T120000Z', 'INC-1'), { kind: 'invalid' }],
  ])('%s', (_, view, expected) => {
    expect(exceptionOf(view, NOW, 168)).toMatchObject(expected);
  });
});
