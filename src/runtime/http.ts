// The metrics endpoint and the health probes, with kube-apiserver's probe format: `ok`, or one
// `[+]name ok` / `[-]name failed: reason` line per check with `?verbose` or on failure.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named check: undefined when fine, otherwise why not. */
export type Check = () => string | undefined;

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * A bind address as controller-runtime takes it: `:8080` (every interface), `127.0.0.1:8080`,
 * `[::1]:8080`, or `0` to serve nothing. Port 0 picks a free port.
 */
export function parseBindAddress(value: string): { host: string | undefined; port: number } | 'off' {
  if (value === '0') return 'off';
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new Error(`${JSON.stringify(value)} is not HOST:PORT, :PORT or 0 (off); for example :8080`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

export interface Serving {
  /** host:port actually bound (the port is real when 0 was asked). */
  address: string;
  close(): Promise<void>;
}

/** Serves `routes` (exact paths) on `bind`; anything else is 404. */
export async function serve(
  bind: { host: string | undefined; port: number },
  routes: Record<string, Route>,
): Promise<Serving> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`404 page not found: ${path}\n`);
      return;
    }
    Promise.resolve(route(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port, family } = server.address() as AddressInfo;
  return {
    address: family === 'IPv6' ? `[${address}]:${port}` : `${address}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** GET /metrics from a prom-client registry. */
export function metricsRoute(registry: Registry): Route {
  return async (_req, res) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
  };
}

/** A probe endpoint over named checks: 200 `ok` when all pass, 503 with the failing ones. */
export function probeRoute(name: string, checks: Record<string, Check>): Route {
  return (req, res) => {
    const results = Object.entries(checks).map(([check, run]) => {
      let failure: string | undefined;
      try {
        failure = run();
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      return { check, failure };
    });
    const failed = results.some((r) => r.failure !== undefined);
    const verbose = new URL(req.url ?? '/', 'http://localhost').searchParams.has('verbose');
    const lines = results.map((r) =>
      r.failure === undefined ? `[+]${r.check} ok` : `[-]${r.check} failed: ${r.failure}`,
    );
    const body = failed
      ? `${lines.join('\n')}\n${name} check failed\n`
      : verbose
        ? `${lines.join('\n')}\n${name} check passed\n`
        : 'ok';
    res.writeHead(failed ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
  };
}

/**
 * Watches the event loop: a tick every second measures how late it ran. The check fails while a
 * delay longer than `stallMs` was seen in the last `windowMs`: a loop stalled that long misses
 * lease renewals and watch deadlines, and a restart is the cure.
 */
export class EventLoopWatch {
  private readonly stallMs: number;
  private readonly windowMs: number;
  private last = performance.now();
  private stall: { at: number; ms: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(stallMs = 10_000, windowMs = 30_000) {
    this.stallMs = stallMs;
    this.windowMs = windowMs;
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.last - 1000;
    this.last = now;
    if (late > this.stallMs) this.stall = { at: now, ms: late };
  }

  readonly check: Check = () => {
    if (!this.stall || performance.now() - this.stall.at > this.windowMs) return undefined;
    return `event loop stalled for ${Math.round(this.stall.ms)} ms`;
  };

  stop(): void {
    clearInterval(this.timer);
  }
}
