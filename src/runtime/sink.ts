// An asynchronous, bounded hand-over, as client-go's event broadcaster: whoever posts goes on at
// once; one sender works through the items in order. When the sender falls behind (a slow or
// frozen connection), the oldest items are dropped and counted, so memory stays bounded and no
// worker ever waits for a report.

export interface SinkOptions<T> {
  /** Items held at most; beyond that the oldest is dropped. */
  capacity: number;
  send(item: T, signal: AbortSignal): Promise<void>;
  /** An item was dropped unsent because the sink was full. */
  dropped(item: T): void;
  /** Sending an item failed; it is not retried. */
  failed(item: T, error: unknown): void;
}

export class Sink<T> {
  private readonly items: T[] = [];
  private readonly options: SinkOptions<T>;
  private readonly abort = new AbortController();
  private sending: Promise<void> | undefined;
  private closed = false;

  constructor(options: SinkOptions<T>) {
    this.options = options;
  }

  /** Queued and not yet sent. */
  get length(): number {
    return this.items.length;
  }

  /** Hands `item` over; never waits, never throws. */
  post(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    if (this.items.length > this.options.capacity) this.options.dropped(this.items.shift()!);
    this.sending ??= this.drain();
  }

  /**
   * Stops taking items; sends what is queued for at most `timeoutMs`, then aborts the rest.
   * True when everything was sent (nothing was aborted).
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.sending, timeout]);
    clearTimeout(timer);
    const flushed = this.sending === undefined;
    this.abort.abort(new Error('the event sink was closed'));
    this.items.length = 0;
    await this.sending;
    return flushed;
  }

  private async drain(): Promise<void> {
    for (let item = this.items.shift(); item !== undefined; item = this.items.shift()) {
      try {
        await this.options.send(item, this.abort.signal);
      } catch (err) {
        this.options.failed(item, err);
      }
    }
    this.sending = undefined;
  }
}
