// The controller's only door to the API server: JSON requests, paged lists and watch streams over
// one pooled HTTPS connection set, authenticated from a kubeconfig or in-cluster.
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, ProxyAgent, Socks5ProxyAgent } from './undici.ts';
import type { ClusterAccess, HeaderList, Tls } from './access.ts';
import { apiError, KubeApiError } from './errors.ts';

export { KubeconfigError, loadKubeConfig } from './kubeconfig.ts';
export { KubeApiError };

/** An ERROR event's object: a metav1.Status (code 410 when the resourceVersion expired). */
export interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | WatchStatus;
}

export interface ListResult<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

/** A request that gets no answer, or whose body stalls, this long fails. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A readiness probe is one of many, a second apart: it need not wait long. */
const PROBE_TIMEOUT_MS = 5_000;

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptionsExtra {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** The Accept header; JSON when absent. */
  accept?: string;
  signal?: AbortSignal;
}

/** Told the outcome of every request: its HTTP status, or 'error' when none came back. */
export type ResponseObserver = (method: string, code: number | 'error') => void;

export class KubeClient {
  private readonly access: ClusterAccess;
  /** scheme://host:port, and the path the server is under (usually none), from the kubeconfig's server. */
  private readonly origin: string;
  private readonly base: string;
  private agent: Dispatcher | undefined;
  private readonly observe: ResponseObserver | undefined;
  /** Requests sent, by "METHOD resource" (`PATCH networkpolicies`): a client-side count of writes. */
  readonly sent = new Map<string, number>();

  constructor(access: ClusterAccess, observe?: ResponseObserver) {
    this.access = access;
    this.observe = observe;
    const url = new URL(access.server);
    this.origin = url.origin;
    this.base = url.pathname.replace(/\/$/, '');
  }

  /** TLS material once (one connection pool), credentials on every request (tokens rotate). */
  private async prepare(): Promise<{ agent: Dispatcher; headers: Record<string, string | string[]> }> {
    const { tls, headers } = await this.access.credentials();
    this.agent ??= dispatcher(tls, this.access.proxy);
    return { agent: this.agent, headers: headerRecord(headers) };
  }

  /** The path and query, as the request line has them (built by hand: URL parsing cost a fifth of a request). */
  private target(path: string, query: Query = {}): string {
    let target = this.base + path;
    let sep = '?';
    for (const k in query) {
      const v = query[k];
      if (v === undefined) continue;
      target += `${sep}${k}=${encodeURIComponent(String(v))}`;
      sep = '&';
    }
    return target;
  }

  async request<T>(method: string, path: string, options: RequestOptionsExtra = {}): Promise<T> {
    const text = await this.exchange(method, path, options, true);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A text answer, such as a Pod's log. */
  async text(path: string, options: RequestOptionsExtra = {}): Promise<string> {
    return (await this.exchange('GET', path, { accept: 'text/plain, */*', ...options }, true)) ?? '';
  }

  /** One object, or undefined when the API server says it does not exist (404). */
  async get<T>(path: string, options: RequestOptionsExtra = {}): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, options);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * A write whose answer is not needed (an apply, a delete, an Event): succeeds or throws as
   * `request` does, without reading the object the server sends back.
   */
  async send(method: string, path: string, options: RequestOptionsExtra = {}): Promise<void> {
    await this.exchange(method, path, options, false);
  }

  /** One request; the answer's text when `read` (or on an error, which quotes it). */
  private async exchange(
    method: string,
    path: string,
    options: RequestOptionsExtra,
    read: boolean,
  ): Promise<string | undefined> {
    const { agent, headers } = await this.prepare();
    this.count(method, path);
    headers.accept = options.accept ?? 'application/json';
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await this.dispatch(method, agent, {
      origin: this.origin,
      path: this.target(path, options.query),
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    if (res.statusCode >= 300) throw apiError(method, path, res.statusCode, await res.body.text());
    if (read) return res.body.text();
    await res.body.dump();
    return undefined;
  }

  /** Whether the API server answers its /readyz (ready to serve, etcd reachable); never throws. */
  async ready(signal?: AbortSignal): Promise<boolean> {
    try {
      const { agent, headers } = await this.prepare();
      const res = await this.dispatch('GET', agent, {
        origin: this.origin,
        path: this.target('/readyz'),
        method: 'GET',
        headers,
        signal,
        headersTimeout: PROBE_TIMEOUT_MS,
        bodyTimeout: PROBE_TIMEOUT_MS,
      });
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  /** Every page of a list, each item passed through `keep`, with the resourceVersion to watch from. */
  async list<T>(
    path: string,
    query: Query = {},
    keep: (item: T) => T = (item) => item,
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<ListResult<T>>('GET', path, {
        query: { ...query, limit: 500, continue: cont },
      });
      for (const item of page.items) items.push(keep(item));
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  /** Opens a watch; resolves once the server accepted it, with its events until it ends or `signal` aborts. */
  async watch<T>(path: string, query: Query, signal: AbortSignal): Promise<AsyncIterable<WatchEvent<T>>> {
    const { agent, headers } = await this.prepare();
    this.count('WATCH', path);
    const res = await this.dispatch('GET', agent, {
      origin: this.origin,
      path: this.target(path, { ...query, watch: true }),
      method: 'GET',
      headers,
      signal,
      headersTimeout: REQUEST_TIMEOUT_MS,
      // A watch is quiet for minutes when nothing changes: the informer's watchdog judges silence.
      bodyTimeout: 0,
    });
    if (res.statusCode >= 300) throw apiError('WATCH', path, res.statusCode, await res.body.text());
    return events<T>(res.body);
  }

  private count(method: string, path: string): void {
    // /api/v1/namespaces/NS/events/NAME or /apis/GROUP/VERSION/networkpolicies: the resource.
    const parts = path.split('/').slice(path.startsWith('/api/') ? 3 : 4);
    const key = `${method} ${parts[0] === 'namespaces' && parts.length > 2 ? parts[2] : parts[0]}`;
    this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
  }

  /**
   * undici's own request API rather than its fetch(): no WHATWG Request, Response, streams or
   * abort signals per request, which took a third of the controller's CPU at a cold start.
   */
  private async dispatch(method: string, agent: Dispatcher, options: Dispatcher.RequestOptions) {
    try {
      const res = await agent.request(options);
      this.observe?.(method, res.statusCode);
      return res;
    } catch (err) {
      this.observe?.(method, 'error');
      throw err;
    }
  }

  /**
   * Drops every connection (failing what is in flight) so that the next request opens a new one: for
   * a connection that has gone silent without closing, which would otherwise hold every request
   * waiting on it (client-go's HTTP/2 health check does the same).
   */
  resetConnections(): void {
    const old = this.agent;
    this.agent = undefined;
    void old?.destroy().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.agent?.close() ?? Promise.resolve();
  }
}

/** A pool of connections to the API server, directly or through the kubeconfig's proxy. */
function dispatcher(tls: Tls, proxy: string | undefined): Dispatcher {
  // HTTP/2 where the server offers it: over HTTP/1.1 the same benchmark took 30% more RSS at
  // 5,000 namespaces (163 MB against 124 MB after a warm restart).
  const pool = { keepAliveTimeout: 30_000, connections: 32 };
  if (!proxy) return new Agent({ connect: tls, ...pool });
  if (proxy.startsWith('socks5:')) return new Socks5ProxyAgent(proxy, { requestTls: tls, ...pool });
  return new ProxyAgent({ uri: proxy, requestTls: tls, ...pool });
}

/**
 * Newline-delimited watch events, until the stream ends or whoever reads stops. Lines are split on
 * the bytes, and only a line cut by a chunk's end is copied.
 */
async function* events<T>(body: Readable): AsyncGenerator<WatchEvent<T>> {
  let rest: Buffer | undefined;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const data = rest ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
        if (nl > start) yield JSON.parse(data.toString('utf8', start, nl)) as WatchEvent<T>;
        start = nl + 1;
      }
      rest = start < data.length ? data.subarray(start) : undefined;
    }
    if (rest?.length) yield JSON.parse(rest.toString('utf8')) as WatchEvent<T>;
  } finally {
    // Whoever stops reading (or aborts) ends the stream; a late abort error has nowhere to go.
    body.on('error', () => undefined);
    body.destroy();
  }
}

/** Name/value pairs as undici takes them: a repeated name (Impersonate-Group) becomes a list. */
function headerRecord(list: HeaderList): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of list) {
    const key = name.toLowerCase();
    const seen = headers[key];
    headers[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return headers;
}
