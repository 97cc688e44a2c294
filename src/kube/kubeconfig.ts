// Where the API server is and how to prove who we are: kubeconfig files (one, or a list merged as
// kubectl merges them), or the pod's ServiceAccount. Tokens, token files, client certificates,
// basic auth, impersonation and a proxy are read here. Exec plugins and auth providers are handed
// to @kubernetes/client-node, loaded only then: importing it costs the process about 84 MB of RSS.
// A field we do not know is refused, never ignored.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { ClusterAccess, Fields, HeaderList, Named, Tls } from './access.ts';
import { viaClientNode } from './exec-credentials.ts';

/** The kubeconfig cannot be used as it is: names the file and field, and what to do. */
export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** A token file is re-read when older than a minute, so that a rotated token is used. */
const TOKEN_FILE_TTL_MS = 60_000;
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'proxy-url',
  'disable-compression', // we never ask for compression
  'extensions',
]);
const USER_FIELDS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'username',
  'password',
  'as',
  'as-uid',
  'as-groups',
  'as-user-extra',
  'exec',
  'auth-provider',
  'extensions',
]);

/**
 * Kubeconfig files (`a:b` lists too) when given, otherwise the in-cluster ServiceAccount; `context`
 * instead of the current-context, as kubectl's --context.
 */
export function loadKubeConfig(paths?: string, context?: string): ClusterAccess {
  if (paths) return fromKubeconfig(paths, context);
  if (context)
    throw new KubeconfigError(`--context ${context}: no kubeconfig given (--kubeconfig or KUBECONFIG)`);
  if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new KubeconfigError(
      'no kubeconfig given (--kubeconfig or KUBECONFIG) and not running in a cluster',
    );
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
      return { tls: { ca }, headers: [['Authorization', `Bearer ${await token()}`]] };
    },
  };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: { name: string; cluster?: Fields }[];
  users?: { name: string; user?: Fields }[];
}

/**
 * The current context of one kubeconfig or a list of them (separated by ":"), merged as kubectl
 * merges them: the first file to set current-context, or to name a cluster, user or context, wins.
 */
export function fromKubeconfig(paths: string, chosen?: string): ClusterAccess {
  const files = paths.split(delimiter).filter(Boolean);
  let current: string | undefined;
  const contexts = new Map<string, { cluster?: string; user?: string }>();
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  for (const file of files) {
    let doc: KubeconfigFile;
    try {
      doc = (parse(readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
    } catch (err) {
      // kubectl skips a listed file that does not exist; so do we, unless it is the only one.
      if (files.length > 1 && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`kubeconfig ${file}: ${(err as Error).message}`);
    }
    current ??= doc['current-context'] || undefined;
    for (const c of doc.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
    for (const c of doc.clusters ?? [])
      if (!clusters.has(c.name)) clusters.set(c.name, { name: c.name, file, fields: c.cluster ?? {} });
    for (const u of doc.users ?? [])
      if (!users.has(u.name)) users.set(u.name, { name: u.name, file, fields: u.user ?? {} });
  }
  const where = `kubeconfig ${paths}`;
  if (chosen && !contexts.has(chosen))
    throw new KubeconfigError(
      `--context ${chosen}: ${where} defines no such context (defined: ${[...contexts.keys()].join(', ')})`,
    );
  current = chosen ?? current;
  if (!current)
    throw new KubeconfigError(`${where}: current-context is not set: set it to one of its contexts`);
  const context = contexts.get(current);
  if (!context)
    throw new KubeconfigError(`${where}: current-context names context ${current}, which it does not define`);
  const cluster = context.cluster === undefined ? undefined : clusters.get(context.cluster);
  if (!cluster || typeof cluster.fields.server !== 'string') {
    throw new KubeconfigError(
      `${where}: contexts.${current}.cluster: no cluster ${context.cluster} with a server`,
    );
  }
  const user = (context.user === undefined ? undefined : users.get(context.user)) ?? {
    name: '',
    file: files[0]!,
    fields: {},
  };
  refuseUnknown(cluster, CLUSTER_FIELDS, 'clusters');
  refuseUnknown(user, USER_FIELDS, 'users');

  const c = cluster.fields;
  const server = (c.server as string).replace(/\/$/, '');
  const tls: Tls = { ca: material(cluster, 'certificate-authority') };
  if (typeof c['tls-server-name'] === 'string') tls.servername = c['tls-server-name'];
  if (c['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  const proxy = proxyOf(cluster);
  const impersonation = impersonate(user);
  const u = user.fields;
  if (u.exec !== undefined || u['auth-provider'] !== undefined) {
    return viaClientNode(
      current,
      [...contexts],
      [...clusters.values()],
      [...users.values()],
      server,
      proxy,
      tls,
      impersonation,
    );
  }
  tls.cert = material(user, 'client-certificate');
  tls.key = material(user, 'client-key');

  // A token wins over a token file, as in client-go; basic auth last.
  const token =
    typeof u.token === 'string'
      ? () => Promise.resolve(u.token as string)
      : typeof u.tokenFile === 'string'
        ? tokenFile(resolve(dirname(user.file), u.tokenFile))
        : undefined;
  const basic =
    typeof u.username === 'string'
      ? `Basic ${Buffer.from(`${u.username}:${typeof u.password === 'string' ? u.password : ''}`).toString('base64')}`
      : undefined;
  return {
    server,
    proxy,
    async credentials() {
      const authorization = token ? `Bearer ${await token()}` : basic;
      return {
        tls,
        headers: [
          ...(authorization ? [['Authorization', authorization] as [string, string]] : []),
          ...impersonation,
        ],
      };
    },
  };
}

function refuseUnknown(entry: Named, known: Set<string>, section: string): void {
  for (const field of Object.keys(entry.fields)) {
    if (!known.has(field)) {
      throw new KubeconfigError(
        `kubeconfig ${entry.file}: ${section}.${entry.name}.${field} is not supported by this controller; ` +
          `remove it, or use a kubeconfig without it (supported: ${[...known].join(', ')})`,
      );
    }
  }
}

/** `X-data` holds base64 content, `X` a path relative to the folder of the file that names it. */
function material(entry: Named, field: string): Buffer | undefined {
  const data = entry.fields[`${field}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  const file = entry.fields[field];
  return typeof file === 'string' ? readFileSync(resolve(dirname(entry.file), file)) : undefined;
}

function proxyOf(cluster: Named): string | undefined {
  const url = cluster.fields['proxy-url'];
  if (url === undefined) return undefined;
  const field = `kubeconfig ${cluster.file}: clusters.${cluster.name}.proxy-url`;
  if (typeof url !== 'string' || !/^(https?|socks5):\/\//.test(url)) {
    throw new KubeconfigError(
      `${field}: ${JSON.stringify(url)} is not an http://, https:// or socks5:// URL`,
    );
  }
  return url;
}

/** Impersonation headers, as client-go sends them: one Impersonate-Group per group. */
function impersonate(user: Named): HeaderList {
  const u = user.fields;
  const field = (name: string) => `kubeconfig ${user.file}: users.${user.name}.${name}`;
  const headers: HeaderList = [];
  if (u.as !== undefined) {
    if (typeof u.as !== 'string') throw new KubeconfigError(`${field('as')}: must be a user name`);
    headers.push(['Impersonate-User', u.as]);
  }
  const needsUser = (name: string) => {
    if (u.as === undefined)
      throw new KubeconfigError(`${field(name)}: needs "as" (the user to impersonate) too`);
  };
  if (u['as-uid'] !== undefined) {
    needsUser('as-uid');
    if (typeof u['as-uid'] !== 'string') throw new KubeconfigError(`${field('as-uid')}: must be a string`);
    headers.push(['Impersonate-Uid', u['as-uid']]);
  }
  if (u['as-groups'] !== undefined) {
    needsUser('as-groups');
    if (!Array.isArray(u['as-groups']))
      throw new KubeconfigError(`${field('as-groups')}: must be a list of groups`);
    for (const group of u['as-groups']) headers.push(['Impersonate-Group', String(group)]);
  }
  if (u['as-user-extra'] !== undefined) {
    needsUser('as-user-extra');
    for (const [key, values] of Object.entries(u['as-user-extra'] as Record<string, unknown>)) {
      for (const value of Array.isArray(values) ? values : [values])
        headers.push([`Impersonate-Extra-${encodeURIComponent(key)}`, String(value)]);
    }
  }
  return headers;
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
