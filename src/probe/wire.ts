// The probe on the wire: an echo server (TCP and UDP on one port), a client that says whether a
// connection got through, and a resolver that asks a chosen server over UDP or TCP. These run in
// Pods, as `namespace-isolation-controller probe …`, to see what a NetworkPolicy really lets pass.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import { candidates, decodeAnswer, encodeQuery, parseResolvConf } from './dns.ts';

export type Protocol = 'tcp' | 'udp';

/**
 * connected: TCP established, or the UDP echo came back; refused: the dataplane or the host said
 * no; timeout: nothing came.
 */
export type Outcome = 'connected' | 'refused' | 'timeout' | 'error';

export interface Attempt {
  target: string;
  protocol: Protocol;
  outcome: Outcome;
  ms: number;
  /** With `httpPath`: the HTTP status the server answered. */
  status?: number;
  error?: string;
}

const PAYLOAD = 'namespace-isolation-probe\n';

/** Echoes every TCP line and UDP datagram on `port`, until `signal` aborts. */
export async function serve(port: number, signal: AbortSignal): Promise<void> {
  const tcp = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  await Promise.all([
    new Promise<void>((res, rej) => tcp.once('error', rej).listen(port, '0.0.0.0', res)),
    new Promise<void>((res, rej) => udp.once('error', rej).bind(port, '0.0.0.0', res)),
  ]);
  await new Promise<void>((res) => signal.addEventListener('abort', () => res(), { once: true }));
  udp.close();
  await new Promise((res) => tcp.close(res));
}

/** Host and port of `HOST:PORT` (`[v6]:PORT` too). */
export function parseTarget(target: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65535)) throw new Error(`${target}: want HOST:PORT`);
  return { host: (match[1] ?? match[2])!, port };
}

const REFUSALS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM']);

/**
 * One attempt to reach `target` within `timeoutMs`: TCP established (then, with `httpPath`, a GET
 * of it answered), or the UDP echo heard back.
 */
export async function attempt(
  target: string,
  protocol: Protocol,
  timeoutMs: number,
  httpPath?: string,
): Promise<Attempt> {
  const { host, port } = parseTarget(target);
  const started = performance.now();
  let status: number | undefined;
  const done = (outcome: Outcome, error?: string): Attempt => ({
    target,
    protocol,
    outcome,
    ms: Math.round(performance.now() - started),
    ...(status !== undefined && { status }),
    ...(error && { error }),
  });
  return new Promise<Attempt>((resolve) => {
    let finish: (outcome: Outcome, error?: string) => void;
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const failed = (err: NodeJS.ErrnoException) =>
      finish(REFUSALS.has(err.code ?? '') ? 'refused' : 'error', err.code ?? err.message);
    if (protocol === 'tcp') {
      const socket: Socket = tcpConnect({ host, port });
      finish = (outcome, error) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(done(outcome, error));
      };
      // Established is through: the other end need not be our echo (the API server is not).
      socket.on('connect', () => {
        if (httpPath === undefined) return finish('connected');
        socket.write(`GET ${httpPath} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      let head = '';
      socket.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        const line = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        if (line) {
          status = Number(line[1]);
          finish('connected');
        }
      });
      socket.on('error', failed);
    } else {
      const socket = createSocket('udp4');
      finish = (outcome, error) => {
        clearTimeout(timer);
        socket.close();
        resolve(done(outcome, error));
      };
      socket.on('message', (msg) => {
        if (msg.toString() === PAYLOAD) finish('connected');
      });
      socket.on('error', failed);
      // Connected, so that an ICMP port unreachable comes back as ECONNREFUSED.
      socket.connect(port, host, () => socket.send(PAYLOAD));
    }
  });
}

export interface Resolution {
  name: string;
  protocol: Protocol;
  server: string;
  /** The name that answered (after search domains), and its addresses; empty when none did. */
  answered?: string;
  addresses: string[];
  outcome: 'resolved' | 'nxdomain' | 'refused' | 'timeout' | 'error';
  ms: number;
  error?: string;
}

/**
 * Resolves `name` as the pod's resolver would (its resolv.conf's search domains and ndots), but
 * asking `server` (the first nameserver by default) over the given transport only.
 */
export async function resolve(
  name: string,
  options: { protocol: Protocol; server?: string | undefined; timeoutMs: number; resolvConf?: string },
): Promise<Resolution> {
  const conf = parseResolvConf(safeRead(options.resolvConf ?? '/etc/resolv.conf'));
  const server = options.server ?? conf.nameservers[0] ?? '127.0.0.1';
  const started = performance.now();
  const result = (r: Omit<Resolution, 'name' | 'protocol' | 'server' | 'ms'>): Resolution => ({
    name,
    protocol: options.protocol,
    server,
    ms: Math.round(performance.now() - started),
    ...r,
  });
  try {
    for (const candidate of candidates(name, conf)) {
      const id = Math.floor(Math.random() * 0xffff);
      const reply = await exchange(server, encodeQuery(id, candidate), options.protocol, options.timeoutMs);
      if (!reply) return result({ addresses: [], outcome: 'timeout' });
      const answer = decodeAnswer(reply, id);
      if (answer.rcode === 0 && answer.addresses.length > 0)
        return result({ answered: candidate, addresses: answer.addresses, outcome: 'resolved' });
    }
    return result({ addresses: [], outcome: 'nxdomain' });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    return result({
      addresses: [],
      outcome: REFUSALS.has(code ?? '') ? 'refused' : 'error',
      error: code ?? message,
    });
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** One DNS message to `server` port 53 and its reply, or undefined after the timeout. */
function exchange(
  server: string,
  query: Buffer,
  protocol: Protocol,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((res, rej) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      const timer = setTimeout(() => {
        socket.close();
        res(undefined);
      }, timeoutMs);
      socket.on('message', (msg) => {
        clearTimeout(timer);
        socket.close();
        res(msg);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        socket.close();
        rej(err);
      });
      socket.connect(53, server, () => socket.send(query));
      return;
    }
    // Over TCP each message is preceded by its length (RFC 1035 4.2.2).
    const socket = tcpConnect({ host: server, port: 53 });
    const timer = setTimeout(() => {
      socket.destroy();
      res(undefined);
    }, timeoutMs);
    let heard = Buffer.alloc(0);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (d: Buffer) => {
      heard = Buffer.concat([heard, d]);
      if (heard.length >= 2 && heard.length >= 2 + heard.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        res(heard.subarray(2, 2 + heard.readUInt16BE(0)));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      rej(err);
    });
  });
}

/** What `until` waits for: any refusal or silence, or a connection. */
export type Wanted = 'blocked' | 'through';

/**
 * Attempts again and again, `everyMs` apart, until one is `wanted` or `withinMs` has passed; the
 * last attempt, with the wall-clock time its start (Date.now(): Pods share their node's clock) and
 * how many were made. This times a flip (a policy coming into force) from the Pod's side.
 */
export async function until(
  target: string,
  protocol: Protocol,
  wanted: Wanted,
  options: { timeoutMs: number; everyMs: number; withinMs: number; httpPath?: string | undefined },
): Promise<Attempt & { at: number; attempts: number; matched: boolean }> {
  const deadline = Date.now() + options.withinMs;
  for (let attempts = 1; ; attempts++) {
    const at = Date.now();
    const a = await attempt(target, protocol, options.timeoutMs, options.httpPath);
    const matched =
      wanted === 'through' ? a.outcome === 'connected' : a.outcome === 'refused' || a.outcome === 'timeout';
    if (matched || Date.now() >= deadline) return { ...a, at, attempts, matched };
    await new Promise((r) => setTimeout(r, options.everyMs));
  }
}

/**
 * Attempts every `everyMs` for `withinMs`, calling `changed` with each attempt whose outcome differs
 * from the one before (the first included), stamped with the wall-clock time it began: a flow's
 * flips, as a policy comes and goes.
 */
export async function trace(
  target: string,
  protocol: Protocol,
  options: { timeoutMs: number; everyMs: number; withinMs: number },
  changed: (a: Attempt & { at: number }) => void,
): Promise<void> {
  const deadline = Date.now() + options.withinMs;
  let last: Outcome | undefined;
  while (Date.now() < deadline) {
    const at = Date.now();
    const a = await attempt(target, protocol, options.timeoutMs);
    if (a.outcome !== last) changed({ ...a, at });
    last = a.outcome;
    await new Promise((r) => setTimeout(r, options.everyMs));
  }
}
