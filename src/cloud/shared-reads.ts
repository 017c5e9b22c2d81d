/**
 * Identical reads share one answer: a caller gets a read begun at most `maxAgeMs` ago, under
 * way or answered, instead of sending its own. A read under way for longer (a many-page list
 * the rate limiter paces can take seconds) is not joined: its answer would be older than the
 * caller accepts, so a new read begins. With `maxAgeMs` 0 only reads under way are shared,
 * whatever their age. Only for reads where such an answer is as good as a fresh one
 * (account-wide lists read for validation, which the cloud checks again when it deletes); a
 * read that must begin after the caller asked is CoalescedReads below. Failed reads are never kept.
 */
export class SharedReads<Value> {
  private readonly underWay = new Map<string, { promise: Promise<Value>; begunAt: number }>();
  private readonly answered = new Map<string, { value: Value; begunAt: number }>();

  constructor(
    private readonly maxAgeMs = 0,
    private readonly now: () => number = () => performance.now(),
  ) {}

  read(key: string, start: () => Promise<Value>): Promise<Value> {
    const begunAt = this.now();
    const current = this.underWay.get(key);
    if (current !== undefined && (this.maxAgeMs === 0 || begunAt - current.begunAt < this.maxAgeMs)) return current.promise;
    const kept = this.answered.get(key);
    if (kept !== undefined && begunAt - kept.begunAt < this.maxAgeMs) return Promise.resolve(kept.value);
    const read = { begunAt, promise: start() };
    read.promise = read.promise
      .then((value) => {
        // An older read that answers late must not replace a newer answer.
        const newest = this.answered.get(key);
        if (this.maxAgeMs > 0 && (newest === undefined || newest.begunAt <= begunAt)) {
          this.answered.set(key, { value, begunAt });
        }
        return value;
      })
      .finally(() => {
        if (this.underWay.get(key) === read) this.underWay.delete(key);
      });
    this.underWay.set(key, read);
    return read.promise;
  }

  /** Reads under way now (for tests and diagnostics). */
  get size(): number {
    return this.underWay.size;
  }
}

/**
 * Writes of each key under way (sent, not yet answered), and a promise for the moment none
 * is: what a read that should follow those writes waits for.
 */
export class WritesUnderWay {
  private readonly underWay = new Map<string, { count: number; settled: Promise<void>; settle: () => void }>();

  begin(key: string): void {
    const current = this.underWay.get(key);
    if (current !== undefined) {
      current.count += 1;
      return;
    }
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.underWay.set(key, { count: 1, settled, settle });
  }

  end(key: string): void {
    const current = this.underWay.get(key);
    if (current === undefined) return;
    current.count -= 1;
    if (current.count > 0) return;
    this.underWay.delete(key);
    current.settle();
  }

  /** While a write of `key` is under way: a promise for the moment none is. */
  pending(key: string): Promise<void> | undefined {
    return this.underWay.get(key)?.settled;
  }

  /** Keys with writes under way (for tests and diagnostics). */
  get size(): number {
    return this.underWay.size;
  }
}

/**
 * Reads that must begin after the caller asked (a confirmation after a delete): callers that
 * ask within `windowMs` of the first share one read, sent when that window closes and, with
 * `writes`, once no write of that key is under way any more, so one read follows every write
 * sent together; each caller gets an answer at least as recent as one it would have started
 * itself. A caller that asks once the read has been sent waits for the next one.
 */
export class CoalescedReads<Value> {
  private readonly waiting = new Map<string, Promise<Value>>();

  constructor(
    private readonly windowMs: number,
    private readonly writes?: WritesUnderWay,
  ) {}

  read(key: string, start: () => Promise<Value>): Promise<Value> {
    const current = this.waiting.get(key);
    if (current !== undefined) return current;
    const read = new Promise<void>((resolve) => setTimeout(resolve, this.windowMs))
      .then(() => this.afterWrites(key))
      .then(() => {
        // From here on the read is on its way: later callers need one of their own.
        this.waiting.delete(key);
        return start();
      });
    this.waiting.set(key, read);
    return read;
  }

  private async afterWrites(key: string): Promise<void> {
    for (let pending = this.writes?.pending(key); pending !== undefined; pending = this.writes?.pending(key)) {
      await pending;
      // The callers whose writes just answered ask next: one turn of the event loop lets them join.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/**
 * Reads of many keys that one call can answer together (a list filtered by several ids):
 * callers of one group (a region) that ask within `windowMs` of the first share one call for
 * up to `maxKeys` keys, sent when that window closes, so every answer begins after its caller
 * asked. A call for several keys that fails is not held against all of them: each key is then
 * read on its own, so one key's error (or an answer that cannot be split) fails only its reads;
 * unless `sharedFailure` says the error is none of the keys' doing (a throttled or unavailable
 * service), which every caller then gets, since asking again at once per key would only add load.
 * With `maxKeys` 1 every read is sent at once, alone.
 */
export class BatchedReads<Value> {
  private readonly open = new Map<string, { keys: string[]; answer: Promise<ReadonlyMap<string, Value>> }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly send: (group: string, keys: readonly string[]) => Promise<ReadonlyMap<string, Value>>,
    private readonly sharedFailure: (error: unknown) => boolean = () => false,
  ) {}

  read(group: string, key: string): Promise<Value> {
    // With room for one key only there is nothing to wait for.
    if (this.maxKeys <= 1) return this.readAlone(group, key);
    let batch = this.open.get(group);
    if (batch === undefined || (batch.keys.length >= this.maxKeys && !batch.keys.includes(key))) {
      batch = this.openBatch(group);
    }
    const { keys, answer } = batch;
    if (!keys.includes(key)) keys.push(key);
    return answer.then(
      (values) => valueOf(values, key),
      (error: unknown) => (keys.length > 1 && !this.sharedFailure(error) ? this.readAlone(group, key) : Promise.reject(error)),
    );
  }

  private openBatch(group: string): { keys: string[]; answer: Promise<ReadonlyMap<string, Value>> } {
    const keys: string[] = [];
    const batch = {
      keys,
      answer: new Promise<void>((resolve) => setTimeout(resolve, this.windowMs)).then(() => {
        // From here on the call is on its way: later callers need one of their own.
        if (this.open.get(group) === batch) this.open.delete(group);
        return this.send(group, keys);
      }),
    };
    this.open.set(group, batch);
    return batch;
  }

  private async readAlone(group: string, key: string): Promise<Value> {
    return valueOf(await this.send(group, [key]), key);
  }
}

function valueOf<Value>(values: ReadonlyMap<string, Value>, key: string): Value {
  const value = values.get(key);
  if (value === undefined) throw new Error(`a batched read answered nothing for ${key}`);
  return value;
}
