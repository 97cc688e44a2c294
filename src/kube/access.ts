// What a client needs to reach the API server, and a kubeconfig's entries as read: made by
// kubeconfig.ts (and exec-credentials.ts, for exec plugins), used by client.ts.

export interface Tls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** Request headers as name/value pairs: a name may repeat (one Impersonate-Group per group). */
export type HeaderList = [string, string][];

export interface ClusterAccess {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** An http(s):// or socks5:// proxy to reach it through. */
  readonly proxy?: string | undefined;
  /** TLS material and the headers for the next request (rotated tokens are picked up). */
  credentials(): Promise<{ tls: Tls; headers: HeaderList }>;
}

export type Fields = Record<string, unknown>;
export interface Named {
  name: string;
  /** The file it came from: relative paths in it are relative to that file's folder. */
  file: string;
  fields: Fields;
}
