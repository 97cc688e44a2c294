// `probe serve|connect|resolve`: the probe, run as a Pod's command (the controller's own image, so
// no other image is needed). Each attempt is one JSON line on stdout; exit 0 when every attempt
// got through, 1 when any did not.
import { UsageError, type Probe } from '../flags.ts';
import { EXPECT_DEFAULTS, expect, parseExpectations } from '../probe/expect.ts';
import { attempt, resolve, serve, trace, until } from '../probe/wire.ts';

function number(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag}: ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
  return n;
}

export async function probe(
  { action, args }: Probe,
  flags: {
    port: string;
    http?: string | undefined;
    udp?: boolean | undefined;
    tcp?: boolean | undefined;
    server?: string | undefined;
    timeout: string;
    until?: string | undefined;
    trace?: boolean | undefined;
    within: string;
  },
): Promise<number> {
  const timeoutMs = number('timeout', flags.timeout, 1, 600_000);
  const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  if (action === 'serve') {
    const port = number('port', flags.port, 1, 65535);
    const stop = new AbortController();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
    const serving = serve(port, stop.signal);
    print({ serving: port, protocols: ['tcp', 'udp'] });
    await serving;
    return 0;
  }
  if (action === 'expect') {
    // check --probe's client Pods: every line an answer, so the exit code says only that it ran.
    const checks = args.flatMap((a) => {
      try {
        return parseExpectations(a);
      } catch (err) {
        throw new UsageError(`probe expect: ${(err as Error).message}`);
      }
    });
    await expect(checks, EXPECT_DEFAULTS, print);
    return 0;
  }
  const withinMs = () => number('within', flags.within, 1, 3_600_000);
  if (flags.trace) {
    if (action !== 'connect') throw new UsageError('--trace: with probe connect only');
    for (const target of args)
      await trace(target, flags.udp ? 'udp' : 'tcp', { timeoutMs, everyMs: 10, withinMs: withinMs() }, print);
    return 0;
  }
  if (flags.until !== undefined) {
    if (action !== 'connect' || (flags.until !== 'blocked' && flags.until !== 'through'))
      throw new UsageError(
        `--until: want blocked or through, with probe connect (got ${JSON.stringify(flags.until)})`,
      );
    let failed = 0;
    for (const target of args) {
      const result = await until(target, flags.udp ? 'udp' : 'tcp', flags.until, {
        timeoutMs,
        everyMs: 10,
        withinMs: withinMs(),
        httpPath: flags.http,
      });
      print(result);
      if (!result.matched) failed++;
    }
    return failed > 0 ? 1 : 0;
  }
  let failed = 0;
  for (const target of args) {
    const result =
      action === 'connect'
        ? await attempt(target, flags.udp ? 'udp' : 'tcp', timeoutMs, flags.http).catch((err: Error) => {
            throw new UsageError(`probe connect: ${err.message}`);
          })
        : await resolve(target, { protocol: flags.tcp ? 'tcp' : 'udp', server: flags.server, timeoutMs });
    print(result);
    if (result.outcome !== 'connected' && result.outcome !== 'resolved') failed++;
  }
  return failed > 0 ? 1 : 0;
}
