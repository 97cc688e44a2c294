// Time-boxed exceptions: a namespace labelled with an expiry time (and annotated with a reason) is
// not enforced until then. Anything else on that label is reported and ignored: never an exemption.
import { EXCEPTION_FORMAT } from './admission.ts';
import { EXCEPTION_EXPIRES_LABEL, EXCEPTION_REASON_ANNOTATION } from './labels.ts';
import type { NamespaceView } from './types.ts';

export type Exception =
  | { kind: 'none' }
  /** In force: no repair until `untilMs` (epoch milliseconds). */
  | { kind: 'active'; value: string; untilMs: number; reason: string }
  | { kind: 'expired'; value: string; untilMs: number }
  /** Malformed, without a reason, or longer than allowed: ignored. */
  | { kind: 'invalid'; value: string; problem: string };

/** Reads the exception on `ns` at `nowMs`; `maxHours` is the longest one honoured. */
export function exceptionOf(ns: NamespaceView, nowMs: number, maxHours: number): Exception {
  const value = ns.labels[EXCEPTION_EXPIRES_LABEL];
  if (value === undefined) return { kind: 'none' };
  const untilMs = EXCEPTION_FORMAT.test(value) ? parseBasic(value) : NaN;
  if (Number.isNaN(untilMs)) {
    return { kind: 'invalid', value, problem: 'not a UTC time in the form YYYYMMDDThhmmssZ' };
  }
  if (untilMs <= nowMs) return { kind: 'expired', value, untilMs };
  const reason = ns.annotations[EXCEPTION_REASON_ANNOTATION]?.trim() ?? '';
  if (reason === '') {
    return { kind: 'invalid', value, problem: `no reason given (annotation ${EXCEPTION_REASON_ANNOTATION})` };
  }
  if (untilMs - nowMs > maxHours * 3_600_000) {
    return { kind: 'invalid', value, problem: `ends more than ${maxHours} hours from now, the most allowed` };
  }
  return { kind: 'active', value, untilMs, reason };
}

/** YYYYMMDDThhmmssZ → epoch ms; NaN for a date that does not exist (e.g. 30 February). */
function parseBasic(v: string): number {
  const [y, mo, d, h, mi, s] = [
    v.slice(0, 4),
    v.slice(4, 6),
    v.slice(6, 8),
    v.slice(9, 11),
    v.slice(11, 13),
    v.slice(13, 15),
  ].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return new Date(ms).getUTCDate() === d ? ms : NaN;
}

/** The expiry as people read it: 2026-11-30T17:00:00Z. */
export const readable = (untilMs: number) => new Date(untilMs).toISOString().replace('.000Z', 'Z');
