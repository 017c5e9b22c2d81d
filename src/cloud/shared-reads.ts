import { abortableSleep, rejectionOf, unlessAborted } from '../abort.js';

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
  private readonly underWay = new Map<string, { read: SharedRead<Value>; begunAt: number }>();
  private readonly answered = new Map<string, { value: Value; begunAt: number }>();

  constructor(
    private readonly maxAgeMs = 0,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `signal` ends this caller's wait (see SharedRead); `start` gets the read's own signal. */
  read(key: string, start: (signal: AbortSignal) => Promise<Value>, signal?: AbortSignal): Promise<Value> {
    if (signal?.aborted) return rejectionOf(signal);
    const begunAt = this.now();
    const current = this.underWay.get(key);
    if (current !== undefined && !current.read.abandoned && (this.maxAgeMs === 0 || begunAt - current.begunAt < this.maxAgeMs)) {
      return current.read.join(signal);
    }
    const kept = this.answered.get(key);
    if (kept !== undefined && begunAt - kept.begunAt < this.maxAgeMs) return Promise.resolve(kept.value);
    const entry = {
      begunAt,
      read: new SharedRead<Value>((readSignal) =>
        start(readSignal)
          .then((value) => {
            // An older read that answers late must not replace a newer answer.
            const newest = this.answered.get(key);
            if (this.maxAgeMs > 0 && (newest === undefined || newest.begunAt <= begunAt)) {
              this.answered.set(key, { value, begunAt });
            }
            return value;
          })
          .finally(() => {
            if (this.underWay.get(key) === entry) this.underWay.delete(key);
          }),
      ),
    };
    this.underWay.set(key, entry);
    return entry.read.join(signal);
  }

  /** Reads under way now (for tests and diagnostics). */
  get size(): number {
    return this.underWay.size;
  }
}

/**
 * One read several callers wait for. It runs with a signal of its own, aborted once every caller
 * has stopped waiting through its own signal (an activity cancelled, a worker shutting down), so
 * a read nobody waits for is not left on the wire; a caller without a signal always waits, and
 * the read then runs to its end. An abandoned read is never joined: a caller that comes later
 * needs a read of its own.
 */
class SharedRead<Value> {
  private readonly controller = new AbortController();
  private waiting = 0;
  private settled = false;
  readonly promise: Promise<Value>;

  constructor(start: (signal: AbortSignal) => Promise<Value>) {
    this.promise = start(this.controller.signal);
    const settle = () => {
      this.settled = true;
    };
    this.promise.then(settle, settle);
  }

  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  join(signal: AbortSignal | undefined): Promise<Value> {
    if (signal === undefined) {
      this.waiting = Number.POSITIVE_INFINITY;
      return this.promise;
    }
    this.waiting += 1;
    const joined = unlessAborted(this.promise, signal);
    joined.catch(() => {
      if (!signal.aborted || this.settled) return;
      this.waiting -= 1;
      if (this.waiting === 0) this.controller.abort(signal.reason);
    });
    return joined;
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
  private readonly waiting = new Map<string, SharedRead<Value>>();

  constructor(
    private readonly windowMs: number,
    private readonly writes?: WritesUnderWay,
  ) {}

  /** `signal` ends this caller's wait (see SharedRead); `start` gets the read's own signal. */
  read(key: string, start: (signal: AbortSignal) => Promise<Value>, signal?: AbortSignal): Promise<Value> {
    if (signal?.aborted) return rejectionOf(signal);
    const current = this.waiting.get(key);
    if (current !== undefined && !current.abandoned) return current.join(signal);
    const read: SharedRead<Value> = new SharedRead<Value>(async (readSignal) => {
      try {
        await abortableSleep(this.windowMs, readSignal);
        await unlessAborted(this.afterWrites(key), readSignal);
      } finally {
        // From here on the read is on its way (or abandoned): later callers need one of their own.
        if (this.waiting.get(key) === read) this.waiting.delete(key);
      }
      return start(readSignal);
    });
    this.waiting.set(key, read);
    return read.join(signal);
  }

  private async afterWrites(key: string): Promise<void> {
    for (let pending = this.writes?.pending(key); pending !== undefined; pending = this.writes?.pending(key)) {
      await pending;
      // The callers whose writes just answered ask next: one turn of the event loop lets them join.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** The keys one batched call will ask for, and how many callers still wait for each. */
interface OpenBatch<Value> {
  keys: string[];
  callers: Map<string, number>;
  /** Once true the keys are on the wire: a caller leaving no longer changes them. */
  sent: boolean;
  /** Ends the window at once (the call has no room for another key). */
  closeWindow: () => void;
  read: SharedRead<ReadonlyMap<string, Value>>;
}

/**
 * How long a batch stays open for more keys. A group whose last call went out more than
 * `busyWithinMs` ago is quiet: the read is most likely one deletion's own, on its critical path,
 * so it waits `quietMs`. Within that time other reads are arriving (a bulk deletion), and a
 * longer `busyMs` lets more of them share a call; a batch with no room left goes at once.
 */
export interface BatchWindow {
  quietMs: number;
  busyMs: number;
  busyWithinMs: number;
}

/**
 * Reads of many keys that one call can answer together (a list filtered by several ids):
 * callers of one group (a region) that ask while a batch is open (see BatchWindow; a number is
 * one window whatever the load) share one call for up to `maxKeys` keys, sent when the window
 * closes or the call is full, so every answer begins after its caller asked. A call for
 * several keys that fails is not held against all of them: each key is then read on its own,
 * so one key's error (or an answer that cannot be split) fails only its reads; unless
 * `sharedFailure` says the error is none of the keys' doing (a throttled or unavailable
 * service), which every caller then gets, since asking again at once per key would only add load.
 * With `maxKeys` 1 every read is sent at once, alone.
 */
export class BatchedReads<Value> {
  private readonly open = new Map<string, OpenBatch<Value>>();
  /** When each group's last call went out (one entry per group: a region). */
  private readonly lastSentAt = new Map<string, number>();
  private readonly window: BatchWindow;

  constructor(
    window: number | BatchWindow,
    private readonly maxKeys: number,
    private readonly send: (group: string, keys: readonly string[], signal?: AbortSignal) => Promise<ReadonlyMap<string, Value>>,
    private readonly sharedFailure: (error: unknown) => boolean = () => false,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.window = typeof window === 'number' ? { quietMs: window, busyMs: window, busyWithinMs: 0 } : window;
  }

  /**
   * `signal` ends this caller's wait (see SharedRead); the call itself stops once no caller
   * waits. A caller that leaves before the call is sent takes its key out of it, unless
   * another caller still waits for that key.
   */
  read(group: string, key: string, signal?: AbortSignal): Promise<Value> {
    if (signal?.aborted) return rejectionOf(signal);
    // With room for one key only there is nothing to wait for.
    if (this.maxKeys <= 1) return this.readAlone(group, key, signal);
    const batch = this.batchFor(group, key);
    const { keys, read, callers } = batch;
    if (!keys.includes(key)) keys.push(key);
    // A caller without a signal never leaves, so its key always stays.
    callers.set(key, (callers.get(key) ?? 0) + (signal === undefined ? Number.POSITIVE_INFINITY : 1));
    if (keys.length >= this.maxKeys) batch.closeWindow();
    return read.join(signal).then(
      (values) => valueOf(values, key),
      (error: unknown) => {
        if (signal?.aborted) {
          this.leave(batch, key);
          return Promise.reject(error);
        }
        return keys.length > 1 && !this.sharedFailure(error) ? this.readAlone(group, key, signal) : Promise.reject(error);
      },
    );
  }

  /** The group's open batch, or a new one when there is none or it has no room for `key`. */
  private batchFor(group: string, key: string): OpenBatch<Value> {
    const batch = this.open.get(group);
    if (batch === undefined || batch.read.abandoned || (batch.keys.length >= this.maxKeys && !batch.keys.includes(key))) {
      return this.openBatch(group);
    }
    return batch;
  }

  /** A caller left: until the call is sent, its key goes with its last caller. */
  private leave(batch: OpenBatch<Value>, key: string): void {
    const left = (batch.callers.get(key) ?? 1) - 1;
    batch.callers.set(key, left);
    if (left > 0 || batch.sent) return;
    const at = batch.keys.indexOf(key);
    if (at >= 0) batch.keys.splice(at, 1);
  }

  private openBatch(group: string): OpenBatch<Value> {
    const lastSent = this.lastSentAt.get(group);
    const busy = lastSent !== undefined && this.now() - lastSent < this.window.busyWithinMs;
    let timer: NodeJS.Timeout | undefined;
    let closeWindow: () => void = () => undefined;
    const windowClosed = new Promise<void>((resolve) => {
      closeWindow = resolve;
      timer = setTimeout(resolve, busy ? this.window.busyMs : this.window.quietMs);
    });
    const batch: OpenBatch<Value> = {
      keys: [],
      callers: new Map(),
      sent: false,
      closeWindow: () => closeWindow(),
      read: new SharedRead<ReadonlyMap<string, Value>>(async (signal) => {
        try {
          await unlessAborted(windowClosed, signal);
        } finally {
          clearTimeout(timer);
          // From here on the call is on its way (or abandoned): later callers need one of their own.
          if (this.open.get(group) === batch) this.open.delete(group);
          batch.sent = true;
          if (!signal.aborted) this.lastSentAt.set(group, this.now());
        }
        return this.send(group, batch.keys, signal);
      }),
    };
    this.open.set(group, batch);
    return batch;
  }

  private async readAlone(group: string, key: string, signal: AbortSignal | undefined): Promise<Value> {
    return valueOf(await this.send(group, [key], signal), key);
  }
}

function valueOf<Value>(values: ReadonlyMap<string, Value>, key: string): Value {
  const value = values.get(key);
  if (value === undefined) throw new Error(`a batched read answered nothing for ${key}`);
  return value;
}
