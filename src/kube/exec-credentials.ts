// Exec plugins and auth providers, through @kubernetes/client-node, imported only when a
// kubeconfig needs it (the import costs about 84 MB of RSS).
import type { RequestOptions } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess, Fields, HeaderList, Named, Tls } from './access.ts';

/**
 * Exec plugins and auth providers, through client-node (which runs and caches them): the user's
 * credentials, a token or a client certificate, on top of the cluster's TLS settings read above.
 * It is given the merged configuration with every path made absolute.
 */
export function viaClientNode(
  current: string,
  contexts: [string, { cluster?: string; user?: string }][],
  clusters: Named[],
  users: Named[],
  server: string,
  proxy: string | undefined,
  cluster: Tls,
  impersonation: HeaderList,
): ClusterAccess {
  const absolute = (entry: Named): Fields => {
    const fields = { ...entry.fields };
    for (const key of ['certificate-authority', 'client-certificate', 'client-key', 'tokenFile']) {
      const value = fields[key];
      if (typeof value === 'string' && !isAbsolute(value)) fields[key] = resolve(dirname(entry.file), value);
    }
    return fields;
  };
  const merged = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': current,
    contexts: contexts.map(([name, context]) => ({ name, context })),
    clusters: clusters.map((c) => ({ name: c.name, cluster: absolute(c) })),
    users: users.map((u) => ({ name: u.name, user: absolute(u) })),
  });
  let kc: Promise<KubeConfig> | undefined;
  return {
    server,
    proxy,
    async credentials() {
      kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
        const config = new KubeConfig();
        config.loadFromString(merged);
        return config;
      });
      const opts: RequestOptions = {};
      await (await kc).applyToHTTPSOptions(opts);
      const headers: HeaderList = [];
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        // Impersonation is ours to send (client-node knows only `as`, not groups or extras).
        if (typeof v === 'string' && !k.toLowerCase().startsWith('impersonate-')) headers.push([k, v]);
      }
      return {
        tls: { ...cluster, cert: opts.cert as Tls['cert'], key: opts.key as Tls['key'] },
        headers: [...headers, ...impersonation],
      };
    },
  };
}
