// The API server of a node's control plane, inside the node's network namespace, offered to this
// machine's processes: a port on 127.0.0.1 whose connections go to the control plane's unix
// socket, and kubeconfigs that point there.
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { parse, stringify } from 'yaml';

export interface Relay {
  port: number;
  /** A copy of a kubeconfig for inside the namespace, pointing at the relay instead. */
  kubeconfig(inside: string, path: string): Promise<string>;
  close(): Promise<void>;
}

export async function relay(socket: string): Promise<Relay> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    const upstream = connect(socket);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async kubeconfig(inside, path) {
      const config = parse(await readFile(inside, 'utf8')) as {
        clusters: { cluster: Record<string, string> }[];
      };
      for (const c of config.clusters) {
        c.cluster.server = `https://127.0.0.1:${port}`;
        // Its certificate names localhost (it is bound to every address of the namespace).
        c.cluster['tls-server-name'] = 'localhost';
      }
      await writeFile(path, stringify(config), { mode: 0o600 });
      return path;
    },
    async close() {
      for (const client of open) client.destroy();
      await new Promise((res) => server.close(res));
    },
  };
}
