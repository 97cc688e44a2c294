// After an outage, watches restart as soon as the API server answers again, not when their
// backoff runs out (up to 30 s later). While any watch is backing off, one probe (the server's
// /readyz) runs every interval for all of them: cheap, and nothing more than that reaches a server
// that is down. A probe that succeeds after one failed ends the outage, and so does any other
// request answered meanwhile (a reconcile's retry, an Event): every watch still waiting is woken. A watch that backs off while the server answers (a 403, a bad request) is
// never woken, so the backoff still protects a server that refuses.

/** An informer as recovery sees it. */
export interface Waiting {
  readonly backingOff: boolean;
  /** Starts the next attempt now; how much of the wait was left, or undefined if not waiting. */
  wake(): number | undefined;
}

export interface RecoveryOptions {
  /** Whether the API server answers (its /readyz); false or a rejection when it does not. */
  probe(signal: AbortSignal): Promise<boolean>;
  everyMs: number;
  /** An outage ended: the watches woken, with the backoff each had left. */
  recovered(woken: { name: string; cutShortMs: number }[]): void;
}

export class Recovery {
  private readonly watches: ReadonlyMap<string, Waiting>;
  private readonly options: RecoveryOptions;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  /** A probe failed, and nothing has answered since. */
  private down = false;

  constructor(watches: ReadonlyMap<string, Waiting>, options: RecoveryOptions) {
    this.watches = watches;
    this.options = options;
  }

  /** A watch began to back off: probe until none does (the promise settles then). */
  backingOff(): Promise<void> {
    return (this.running ??= this.loop().finally(() => (this.running = undefined)));
  }

  /** A request got an answer from the server (not a 5xx): an outage, if one was seen, is over. */
  answered(): void {
    if (this.down) this.wakeAll();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private waiting(): [string, Waiting][] {
    return [...this.watches].filter(([, w]) => w.backingOff);
  }

  private async loop(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted && this.waiting().length > 0) {
      await delay(this.options.everyMs, signal);
      if (signal.aborted) return;
      const up = await this.options.probe(signal).catch(() => false);
      if (!up) this.down = true;
      else if (this.down) this.wakeAll();
    }
    this.down = false;
  }

  private wakeAll(): void {
    this.down = false;
    const woken = this.waiting().flatMap(([name, w]) => {
      const cutShortMs = w.wake();
      return cutShortMs === undefined ? [] : [{ name, cutShortMs }];
    });
    if (woken.length > 0) this.options.recovered(woken);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
