import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventLoopWatch, parseBindAddress, probeRoute } from './http.ts';

describe('bind addresses', () => {
  it.each([
    [':8080', { host: undefined, port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:8081', { host: '::1', port: 8081 }],
    ['0', 'off'],
  ])('reads %s', (value, expected) => {
    expect(parseBindAddress(value)).toEqual(expected);
  });

  it.each(['8080', 'localhost', ':99999', ''])('refuses %j with an example', (value) => {
    expect(() => parseBindAddress(value)).toThrow(/is not HOST:PORT, :PORT or 0 \(off\); for example :8080/);
  });
});

function probe(checks: Parameters<typeof probeRoute>[1], url = '/readyz') {
  let status = 0;
  let body = '';
  const res = {
    writeHead(s: number) {
      status = s;
      return res;
    },
    end(b: string) {
      body = b;
    },
  };
  void probeRoute('readyz', checks)({ url } as IncomingMessage, res as unknown as ServerResponse);
  return { status, body };
}

describe('probes', () => {
  it('answers ok when every check passes, and lists them with ?verbose', () => {
    expect(probe({ a: () => undefined })).toEqual({ status: 200, body: 'ok' });
    expect(probe({ a: () => undefined }, '/readyz?verbose').body).toBe('[+]a ok\nreadyz check passed\n');
  });

  it('answers 503 naming the failing check and why', () => {
    expect(probe({ a: () => undefined, b: () => 'not yet' })).toEqual({
      status: 503,
      body: '[+]a ok\n[-]b failed: not yet\nreadyz check failed\n',
    });
    expect(
      probe({
        c: () => {
          throw new Error('boom');
        },
      }).body,
    ).toContain('[-]c failed: boom');
  });
});

describe('event loop watch', () => {
  afterEach(() => vi.useRealTimers());

  it('fails while a stall longer than its limit was seen in the last window', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    const watch = new EventLoopWatch(10_000, 30_000);
    vi.advanceTimersByTime(5_000);
    expect(watch.check()).toBeUndefined();
    // A 12 s stall: the clock moves, the tick runs only afterwards.
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + 12_000);
    vi.advanceTimersToNextTimer();
    expect(watch.check()).toMatch(/^event loop stalled for 1\d{4} ms$/);
    vi.spyOn(performance, 'now').mockReturnValue(now + 12_000 + 31_000);
    expect(watch.check()).toBeUndefined();
    watch.stop();
  });
});
