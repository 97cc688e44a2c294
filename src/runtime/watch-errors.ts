// Why a watch ended: the resourceVersion expired (410 Gone), or the watchdog found it silent.

export class Gone extends Error {}

export function isGone(err: unknown): boolean {
  return (
    err instanceof Gone || (typeof err === 'object' && err !== null && 'status' in err && err.status === 410)
  );
}

/**
 * The watchdog fired: the stream sent nothing for too long. Not `connected` when the server did not
 * even answer the watch request, which it does at once: the connection itself is dead.
 */
export class SilentStream extends Error {
  readonly connected: boolean;
  constructor(ms: number, connected: boolean) {
    super(
      connected
        ? `watch stream silent for ${ms} ms; restarting it`
        : `no answer to the watch request in ${ms} ms; restarting it`,
    );
    this.name = 'SilentStream';
    this.connected = connected;
  }
}
