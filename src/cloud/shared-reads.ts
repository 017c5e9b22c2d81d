/**
 * Identical reads asked for while one is under way share its answer instead of each
 * sending its own. Only for reads where an answer obtained while the caller was asking is
 * as good as one the caller would have started itself (account-wide lists read for
 * validation); a read that must begin after the caller asked is CoalescedReads below.
 */
export class SharedReads<Value> {
  private readonly underWay = new Map<string, Promise<Value>>();

  read(key: string, start: () => Promise<Value>): Promise<Value> {
    const current = this.underWay.get(key);
    if (current !== undefined) return current;
    const started = start().finally(() => this.underWay.delete(key));
    this.underWay.set(key, started);
    return started;
  }

  /** Reads under way now (for tests and diagnostics). */
  get size(): number {
    return this.underWay.size;
  }
}

/**
 * Reads that must begin after the caller asked (a confirmation after a delete): callers that
 * ask within `windowMs` of the first share one read, sent when that window closes, so each
 * gets an answer at least as recent as one it would have started itself. A caller that asks
 * once the read has been sent waits for the next one.
 */
export class CoalescedReads<Value> {
  private readonly waiting = new Map<string, Promise<Value>>();

  constructor(private readonly windowMs: number) {}

  read(key: string, start: () => Promise<Value>): Promise<Value> {
    const current = this.waiting.get(key);
    if (current !== undefined) return current;
    const read = new Promise<void>((resolve) => setTimeout(resolve, this.windowMs)).then(() => {
      // From here on the read is on its way: later callers need one of their own.
      this.waiting.delete(key);
      return start();
    });
    this.waiting.set(key, read);
    return read;
  }
}
