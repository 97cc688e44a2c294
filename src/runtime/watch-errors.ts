// Why a watch ended: the resourceVersion expired (410 Gone), the watchdog found it silent, or the
// server does not stream initial lists.

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

/** The server refused a streaming list (a watch with sendInitialEvents): list in pages instead. */
export class StreamingUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the API server does not stream lists: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'StreamingUnavailable';
  }
}

/** The stream ended before the server said the initial list was complete. */
export class IncompleteList extends Error {
  constructor() {
    super('the streamed list ended before its last object');
    this.name = 'IncompleteList';
  }
}
