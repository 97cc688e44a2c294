// undici's connection pools and its request API, without its index, which also loads fetch,
// WebSocket, EventSource, caches and mocks that the controller never uses (1.3 MB of a 3 MB
// bundle; 12 MB of RSS and about 45 ms at start-up). The paths are undici 8's, whose version is
// pinned: if they move, every test that talks to the API server fails.
import AgentImpl from 'undici/lib/dispatcher/agent.js';
import DispatcherImpl from 'undici/lib/dispatcher/dispatcher.js';
import ProxyAgentImpl from 'undici/lib/dispatcher/proxy-agent.js';
import Socks5ProxyAgentImpl from 'undici/lib/dispatcher/socks5-proxy-agent.js';
import request from 'undici/lib/api/api-request.js';

// What undici's index does for the request API, alone (Dispatcher.prototype.request).
(DispatcherImpl as { prototype: { request?: unknown } }).prototype.request ??= request;

export const Agent = AgentImpl;
export const ProxyAgent = ProxyAgentImpl;
export const Socks5ProxyAgent = Socks5ProxyAgentImpl;
export type { Dispatcher } from 'undici';
