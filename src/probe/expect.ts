// `probe expect CHECKS`: what `check --probe`'s client Pods run. Each check names a flow (or a name
// to resolve) and what the profile promises of it; all are tried at once, each until it shows what
// was promised or `withinMs` has passed. A promised refusal must then hold: a new Pod's first
// packets can pass before the network plugin knows its address (docs/dataplane.md), so the first
// refusal is confirmed by `confirmations` more, `everyMs` apart, before it counts.
import { attempt, type Outcome, type Protocol, resolve, type Resolution, until } from './wire.ts';

export interface Expectation {
  id: string;
  kind: 'connect' | 'resolve';
  /** HOST:PORT to connect to, or the name to resolve. */
  target: string;
  protocol: Protocol;
  want: 'through' | 'blocked';
}

export interface Observed {
  id: string;
  want: Expectation['want'];
  /** The last outcome seen: connected/refused/timeout/error, or resolved/nxdomain/… */
  got: Outcome | Resolution['outcome'];
  matched: boolean;
  attempts: number;
  ms: number;
}

export interface ExpectOptions {
  withinMs: number;
  timeoutMs: number;
  everyMs: number;
  confirmations: number;
}

export const EXPECT_DEFAULTS: ExpectOptions = {
  withinMs: 15_000,
  timeoutMs: 1_000,
  everyMs: 100,
  confirmations: 3,
};

/** Parses the JSON `check --probe` passes; a usage error names what is wrong. */
export function parseExpectations(text: string): Expectation[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0) throw new Error('want a non-empty JSON array of checks');
  return list.map((c: Partial<Expectation>, i) => {
    const ok =
      typeof c.id === 'string' &&
      (c.kind === 'connect' || c.kind === 'resolve') &&
      typeof c.target === 'string' &&
      (c.protocol === 'tcp' || c.protocol === 'udp') &&
      (c.want === 'through' || c.want === 'blocked');
    if (!ok)
      throw new Error(
        `[${i}]: want {id, kind: connect|resolve, target, protocol: tcp|udp, want: through|blocked}`,
      );
    return c as Expectation;
  });
}

export async function expect(
  checks: readonly Expectation[],
  options: ExpectOptions,
  print: (o: Observed) => void,
): Promise<Observed[]> {
  return Promise.all(
    checks.map(async (c) => {
      const started = performance.now();
      const o = c.kind === 'connect' ? await connect(c, options) : await lookup(c, options);
      const observed = { id: c.id, want: c.want, ...o, ms: Math.round(performance.now() - started) };
      print(observed);
      return observed;
    }),
  );
}

async function connect(c: Expectation, options: ExpectOptions) {
  const first = await until(c.target, c.protocol, c.want, options);
  let attempts = first.attempts;
  if (!first.matched || c.want === 'through') return { got: first.outcome, matched: first.matched, attempts };
  for (let i = 0; i < options.confirmations; i++) {
    await new Promise((r) => setTimeout(r, options.everyMs));
    const a = await attempt(c.target, c.protocol, options.timeoutMs);
    attempts++;
    if (a.outcome === 'connected') return { got: a.outcome, matched: false, attempts };
  }
  return { got: first.outcome, matched: true, attempts };
}

async function lookup(c: Expectation, options: ExpectOptions) {
  const deadline = Date.now() + options.withinMs;
  for (let attempts = 1; ; attempts++) {
    const r = await resolve(c.target, { protocol: c.protocol, timeoutMs: options.timeoutMs });
    const matched = (r.outcome === 'resolved') === (c.want === 'through');
    if (matched || Date.now() >= deadline) return { got: r.outcome, matched, attempts };
    await new Promise((res) => setTimeout(res, options.everyMs));
  }
}
