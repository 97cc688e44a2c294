// Where the API server is and how to prove who we are: a kubeconfig file, or the pod's
// ServiceAccount. The usual cases (tokens, token files, client certificates, basic auth) are read
// here. Anything else (exec plugins, auth providers) is handed to @kubernetes/client-node, loaded
// only then: importing it costs the process about 85 MB of RSS and 25 MB of heap.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';

export interface Tls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface ClusterAccess {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** TLS material and the headers for the next request (rotated tokens are picked up). */
  credentials(): Promise<{ tls: Tls; headers: Record<string, string> }>;
}

/** client-go re-reads a token file at most once a minute; so do we. */
const TOKEN_FILE_TTL_MS = 60_000;
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A kubeconfig file when given, otherwise the in-cluster ServiceAccount configuration. */
export function loadKubeConfig(path?: string): ClusterAccess {
  if (path) return fromKubeconfig(path);
  if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new Error('no kubeconfig given (--kubeconfig or KUBECONFIG) and not running in a cluster');
  }
  return inCluster(process.env, SERVICE_ACCOUNT_DIR);
}

/** The pod's ServiceAccount: the service host and port from the environment, its CA and token. */
export function inCluster(env: NodeJS.ProcessEnv, dir: string): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const ca = readFileSync(`${dir}/ca.crt`);
  const token = tokenFile(`${dir}/token`);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async credentials() {
      return { tls: { ca }, headers: { Authorization: `Bearer ${await token()}` } };
    },
  };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name: string; cluster?: Record<string, unknown> }[];
  users?: { name: string; user?: Record<string, unknown> }[];
}

/** A kubeconfig's current context. */
export function fromKubeconfig(path: string): ClusterAccess {
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  const where = (field: string) => `kubeconfig ${path}: ${field}`;
  const contextName = doc['current-context'];
  if (!contextName) throw new Error(`${where('current-context')} is not set: set it to one of its contexts`);
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context)
    throw new Error(`${where('current-context')} names context ${contextName}, which it does not define`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') {
    throw new Error(
      `${where(`contexts.${contextName}.cluster`)}: no cluster ${context.cluster} with a server`,
    );
  }
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const server = cluster.server.replace(/\/$/, '');
  const base = dirname(resolve(path));
  // `X-data` holds base64 content, `X` a path relative to the kubeconfig's folder.
  const material = (from: Record<string, unknown>, field: string): Buffer | undefined => {
    const data = from[`${field}-data`];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const file = from[field];
    return typeof file === 'string' ? readFileSync(resolve(base, file)) : undefined;
  };
  const tls: Tls = { ca: material(cluster, 'certificate-authority') };
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (user.exec !== undefined || user['auth-provider'] !== undefined) return viaClientNode(path, server, tls);
  tls.cert = material(user, 'client-certificate');
  tls.key = material(user, 'client-key');

  // A token wins over a token file, as in client-go; basic auth last.
  const token =
    typeof user.token === 'string'
      ? () => Promise.resolve(user.token as string)
      : typeof user.tokenFile === 'string'
        ? tokenFile(resolve(base, user.tokenFile))
        : undefined;
  const password = typeof user.password === 'string' ? user.password : '';
  const basic =
    typeof user.username === 'string'
      ? `Basic ${Buffer.from(`${user.username}:${password}`).toString('base64')}`
      : undefined;
  return {
    server,
    async credentials() {
      const authorization = token ? `Bearer ${await token()}` : basic;
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      return { tls, headers };
    },
  };
}

/** A token read from a file that the kubelet rotates. */
function tokenFile(path: string): () => Promise<string> {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    if (!cached || performance.now() - cached.at > TOKEN_FILE_TTL_MS) {
      cached = { token: (await readFile(path, 'utf8')).trim(), at: performance.now() };
    }
    return cached.token;
  };
}

/**
 * Exec plugins and auth providers, through client-node (which runs and caches them): the user's
 * credentials, a token or a client certificate, on top of the cluster's TLS settings read above.
 */
function viaClientNode(path: string, server: string, cluster: Tls): ClusterAccess {
  let kc: Promise<KubeConfig> | undefined;
  return {
    server,
    async credentials() {
      kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
        const config = new KubeConfig();
        config.loadFromFile(path);
        return config;
      });
      const opts: RequestOptions = {};
      await (await kc).applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
      return {
        tls: { ...cluster, cert: opts.cert as Tls['cert'], key: opts.key as Tls['key'] },
        headers,
      };
    },
  };
}
