// A TCP proxy in front of the API server that can freeze the connections open through it: no byte
// passes either way and none is closed, as a stuck load balancer or a half-dead NAT would do. New
// connections pass as usual.
import { readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { tempDir } from '../../harness/tmp.ts';

export class FreezingProxy {
  private readonly server: Server;
  private readonly pairs: Set<[Socket, Socket]>;
  private readonly frozen = new Set<[Socket, Socket]>();
  readonly port: number;

  private constructor(server: Server, pairs: Set<[Socket, Socket]>) {
    this.server = server;
    this.pairs = pairs;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Proxies 127.0.0.1:<free port> to `target` (https://host:port). */
  static async start(target: string): Promise<FreezingProxy> {
    const { hostname, port } = new URL(target);
    const pairs = new Set<[Socket, Socket]>();
    const server = createServer((client) => {
      const upstream = connect(Number(port), hostname);
      const pair: [Socket, Socket] = [client, upstream];
      pairs.add(pair);
      client.pipe(upstream).pipe(client);
      const end = () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FreezingProxy(server, pairs);
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Stops every open connection passing data, without closing it; returns how many. */
  freeze(): number {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    const frozen = this.pairs.size;
    for (const pair of this.pairs) this.frozen.add(pair);
    this.pairs.clear();
    return frozen;
  }

  /** A copy of `kubeconfig` whose cluster is reached through this proxy. */
  async kubeconfig(kubeconfig: string): Promise<string> {
    const doc = parse(await readFile(kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const c of doc.clusters) {
      const url = new URL(c.cluster.server);
      url.port = String(this.port);
      c.cluster.server = url.toString().replace(/\/$/, '');
    }
    const path = join(await tempDir('nic-proxy'), 'kubeconfig');
    await writeFile(path, stringify(doc));
    return path;
  }

  /** Closes the listener and every connection, frozen ones included. */
  close(): Promise<void> {
    for (const sockets of [...this.pairs, ...this.frozen]) for (const s of sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
