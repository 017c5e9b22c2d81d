import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchedReads, CoalescedReads, SharedReads, WritesUnderWay, type BatchWindow } from '../../src/cloud/shared-reads.js';

/** A read the test finishes by hand. */
function pendingRead<T>() {
  let finish: (value: T) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const promise = new Promise<T>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

describe('SharedReads', () => {
  it('gives callers that ask while a read is under way that read, and starts a new one afterwards', async () => {
    const reads = new SharedReads<number>();
    let started = 0;
    const first = pendingRead<number>();
    const start = () => {
      started += 1;
      return first.promise;
    };
    const answers = [reads.read('k', start), reads.read('k', start), reads.read('k', start)];
    expect(started).toBe(1);
    first.finish(7);
    expect(await Promise.all(answers)).toEqual([7, 7, 7]);
    expect(reads.size).toBe(0);
    expect(await reads.read('k', async () => 8)).toBe(8);
  });

  it('keeps different keys apart', async () => {
    const reads = new SharedReads<string>();
    const [a, b] = await Promise.all([reads.read('a', async () => 'A'), reads.read('b', async () => 'B')]);
    expect([a, b]).toEqual(['A', 'B']);
  });

  it('shares a failure with the callers of that read only', async () => {
    const reads = new SharedReads<number>();
    const failing = pendingRead<number>();
    const answers = [reads.read('k', () => failing.promise), reads.read('k', () => failing.promise)];
    failing.fail(new Error('Throttling.User'));
    for (const answer of answers) await expect(answer).rejects.toThrow('Throttling.User');
    expect(reads.size).toBe(0);
    expect(await reads.read('k', async () => 1)).toBe(1);
  });
});

describe('SharedReads with a maximum age', () => {
  it('gives an answer begun less than maxAgeMs ago, and reads again after', async () => {
    let now = 0;
    const reads = new SharedReads<number>(2_000, () => now);
    let started = 0;
    const start = async () => (started += 1);
    expect(await reads.read('k', start)).toBe(1);
    now = 1_999;
    expect(await reads.read('k', start)).toBe(1);
    now = 2_000;
    expect(await reads.read('k', start)).toBe(2);
    expect(await reads.read('other', start)).toBe(3);
  });

  it('never keeps a failed read', async () => {
    const now = 0;
    const reads = new SharedReads<number>(2_000, () => now);
    await expect(reads.read('k', async () => Promise.reject(new Error('ServiceUnavailable')))).rejects.toThrow('ServiceUnavailable');
    expect(await reads.read('k', async () => 5)).toBe(5);
  });

  it('does not join a read under way that began maxAgeMs ago or more: it starts a new one', async () => {
    let now = 0;
    const reads = new SharedReads<string>(1_000, () => now);
    const slow = pendingRead<string>();
    const first = reads.read('k', () => slow.promise);
    now = 999;
    expect(reads.read('k', async () => 'joined?')).toBe(first);
    now = 1_000;
    const fresh = pendingRead<string>();
    const second = reads.read('k', () => fresh.promise);
    expect(second).not.toBe(first);
    fresh.finish('begun at 1000');
    expect(await second).toBe('begun at 1000');
    // The old read answering last neither replaces the newer answer nor drops it.
    slow.finish('begun at 0');
    expect(await first).toBe('begun at 0');
    now = 1_500;
    expect(await reads.read('k', async () => 'another read')).toBe('begun at 1000');
  });

  it('measures the age from when the read began', async () => {
    let now = 0;
    const reads = new SharedReads<string>(1_000, () => now);
    const slow = pendingRead<string>();
    const first = reads.read('k', () => slow.promise);
    now = 900;
    slow.finish('begun at 0');
    expect(await first).toBe('begun at 0');
    now = 1_000;
    expect(await reads.read('k', async () => 'begun at 1000')).toBe('begun at 1000');
  });
});

describe('CoalescedReads', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends one read for the callers that ask within the window, only once the window has closed', async () => {
    vi.useFakeTimers();
    const reads = new CoalescedReads<number>(20);
    let started = 0;
    const start = async () => {
      started += 1;
      return started;
    };
    const answers = [reads.read('img', start)];
    await vi.advanceTimersByTimeAsync(10);
    answers.push(reads.read('img', start), reads.read('img', start));
    expect(started).toBe(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(await Promise.all(answers)).toEqual([1, 1, 1]);
  });

  it('gives a caller that asks once the read is on its way a read of its own', async () => {
    vi.useFakeTimers();
    const reads = new CoalescedReads<string>(20);
    let finishFirst: (value: string) => void = () => {};
    const first = reads.read('img', () => new Promise<string>((resolve) => (finishFirst = resolve)));
    await vi.advanceTimersByTimeAsync(20);
    let secondStarted = false;
    const second = reads.read('img', async () => {
      secondStarted = true;
      return 'second';
    });
    finishFirst('first');
    expect(await first).toBe('first');
    await vi.advanceTimersByTimeAsync(20);
    expect(secondStarted).toBe(true);
    expect(await second).toBe('second');
  });

  it('keeps keys apart and shares a failure with the callers of that read', async () => {
    vi.useFakeTimers();
    const reads = new CoalescedReads<string>(5);
    const failing = [reads.read('a', async () => Promise.reject(new Error('down'))), reads.read('a', async () => 'never')];
    const settled = Promise.allSettled(failing);
    const other = reads.read('b', async () => 'B');
    await vi.advanceTimersByTimeAsync(5);
    expect((await settled).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await other).toBe('B');
  });
});

describe('CoalescedReads after writes under way', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits for the writes of its key, then sends one read that the writers asking as they answer share', async () => {
    vi.useFakeTimers();
    const writes = new WritesUnderWay();
    const reads = new CoalescedReads<number>(20, writes);
    let started = 0;
    const start = async () => {
      started += 1;
      return started;
    };
    writes.begin('img');
    writes.begin('img');
    writes.begin('img');
    writes.end('img');
    const answers = [reads.read('img', start)];
    await vi.advanceTimersByTimeAsync(500);
    expect(started).toBe(0);
    writes.end('img');
    answers.push(reads.read('img', start));
    await vi.advanceTimersByTimeAsync(500);
    expect(started).toBe(0);
    // The last writer asks some promise steps after its write answered, as a region delete does.
    writes.end('img');
    for (let step = 0; step < 20; step += 1) await Promise.resolve();
    answers.push(reads.read('img', start));
    await vi.advanceTimersByTimeAsync(20);
    expect(await Promise.all(answers)).toEqual([1, 1, 1]);
    expect(writes.size).toBe(0);
  });

  it('does not wait for writes of another key, nor for an ended one', async () => {
    vi.useFakeTimers();
    const writes = new WritesUnderWay();
    const reads = new CoalescedReads<string>(20, writes);
    writes.begin('other');
    writes.begin('img');
    writes.end('img');
    writes.end('img');
    const answer = reads.read('img', async () => 'read');
    await vi.advanceTimersByTimeAsync(20);
    expect(await answer).toBe('read');
    expect(writes.size).toBe(1);
  });
});

describe('BatchedReads', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * A batched read whose calls the test records, with when each went out (ms after this was made,
   * on the clock the fake timers drive): each key's value is `<group>:<key>`, unless it is in `failFor`.
   */
  function recordingBatches(window: number | BatchWindow, maxKeys: number, failFor: ReadonlySet<string> = new Set()) {
    const sent: string[][] = [];
    const sentAt: number[] = [];
    const start = Date.now();
    const reads = new BatchedReads<string>(
      window,
      maxKeys,
      async (group, keys) => {
        sent.push([group, ...keys]);
        sentAt.push(Date.now() - start);
        const failing = keys.find((key) => failFor.has(key));
        if (failing !== undefined) throw new Error(`refused because of ${failing}`);
        return new Map(keys.map((key) => [key, `${group}:${key}`]));
      },
      () => false,
      () => Date.now(),
    );
    return { reads, sent, sentAt };
  }

  it('sends one call for the keys of a group asked within the window, once it has closed, and gives each caller its own value', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 10);
    const shanghai = [reads.read('cn-shanghai', 'img-a')];
    await vi.advanceTimersByTimeAsync(30);
    shanghai.push(reads.read('cn-shanghai', 'img-b'), reads.read('cn-shanghai', 'img-a'));
    const hangzhou = reads.read('cn-hangzhou', 'img-a');
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(await Promise.all(shanghai)).toEqual(['cn-shanghai:img-a', 'cn-shanghai:img-b', 'cn-shanghai:img-a']);
    // One call for the group, each key once; the other group's window opened later and closes later.
    expect(sent).toEqual([['cn-shanghai', 'img-a', 'img-b']]);
    await vi.advanceTimersByTimeAsync(30);
    expect(await hangzhou).toBe('cn-hangzhou:img-a');
    expect(sent).toEqual([['cn-shanghai', 'img-a', 'img-b'], ['cn-hangzhou', 'img-a']]);
  });

  it('gives a caller that asks once the call is on its way a call of its own', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 10);
    const first = reads.read('r', 'img-a');
    await vi.advanceTimersByTimeAsync(50);
    const second = reads.read('r', 'img-b');
    await vi.advanceTimersByTimeAsync(50);
    expect([await first, await second]).toEqual(['r:img-a', 'r:img-b']);
    expect(sent).toEqual([['r', 'img-a'], ['r', 'img-b']]);
  });

  it('puts no more than maxKeys keys in a call', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 2);
    const answers = ['img-a', 'img-b', 'img-c', 'img-d', 'img-e'].map((key) => reads.read('r', key));
    await vi.advanceTimersByTimeAsync(50);
    expect(await Promise.all(answers)).toEqual(['r:img-a', 'r:img-b', 'r:img-c', 'r:img-d', 'r:img-e']);
    expect(sent).toEqual([['r', 'img-a', 'img-b'], ['r', 'img-c', 'img-d'], ['r', 'img-e']]);
  });

  it('sends a call that has no room left at once, without waiting for its window', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 2);
    const full = [reads.read('r', 'img-a'), reads.read('r', 'img-b')];
    const next = reads.read('r', 'img-c');
    // No timer is advanced: the full call is on its way, the next key waits for its own window.
    expect(await Promise.all(full)).toEqual(['r:img-a', 'r:img-b']);
    expect(sent).toEqual([['r', 'img-a', 'img-b']]);
    await vi.advanceTimersByTimeAsync(50);
    expect(await next).toBe('r:img-c');
    expect(sent).toEqual([['r', 'img-a', 'img-b'], ['r', 'img-c']]);
  });

  it('waits the quiet window for a lone read, and the busy one while its group had a call out recently', async () => {
    vi.useFakeTimers();
    const { reads, sent, sentAt } = recordingBatches({ quietMs: 50, busyMs: 250, busyWithinMs: 1_000 }, 10);
    const lone = reads.read('r', 'img-a');
    await vi.advanceTimersByTimeAsync(50);
    expect(await lone).toBe('r:img-a');
    // Another read 50 ms after that call went out: the group is busy, its batch stays open 250 ms.
    await vi.advanceTimersByTimeAsync(50);
    const busy = [reads.read('r', 'img-b')];
    await vi.advanceTimersByTimeAsync(200);
    busy.push(reads.read('r', 'img-c'));
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(await Promise.all(busy)).toEqual(['r:img-b', 'r:img-c']);
    // Another group is quiet whatever this one does.
    const other = reads.read('s', 'img-a');
    await vi.advanceTimersByTimeAsync(50);
    expect(await other).toBe('s:img-a');
    // A second after the last call, the group is quiet again.
    await vi.advanceTimersByTimeAsync(1_000);
    const later = reads.read('r', 'img-d');
    await vi.advanceTimersByTimeAsync(50);
    expect(await later).toBe('r:img-d');
    expect(sent).toEqual([['r', 'img-a'], ['r', 'img-b', 'img-c'], ['s', 'img-a'], ['r', 'img-d']]);
    expect(sentAt).toEqual([50, 350, 400, 1_450]);
  });

  it('sends a read at once, alone, when a call may carry one key only', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 1);
    const answers = [reads.read('r', 'img-a'), reads.read('r', 'img-b')];
    // No timer is advanced: neither waits for a window.
    expect(await Promise.all(answers)).toEqual(['r:img-a', 'r:img-b']);
    expect(sent).toEqual([['r', 'img-a'], ['r', 'img-b']]);
  });

  it('asks for each key alone when a call for several fails, so only the failing key fails', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 10, new Set(['img-bad']));
    const good = reads.read('r', 'img-good');
    const bad = reads.read('r', 'img-bad');
    const badSettled = bad.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    expect(await good).toBe('r:img-good');
    expect(String(await badSettled)).toContain('refused because of img-bad');
    expect(sent).toEqual([['r', 'img-good', 'img-bad'], ['r', 'img-good'], ['r', 'img-bad']]);
  });

  it('gives every caller a failure that is none of the keys\' doing, without asking again per key', async () => {
    vi.useFakeTimers();
    const sent: string[][] = [];
    const reads = new BatchedReads<string>(
      50,
      10,
      async (group, keys) => {
        sent.push([group, ...keys]);
        throw new Error('Throttling.User');
      },
      (error) => String(error).includes('Throttling'),
    );
    const answers = ['img-a', 'img-b'].map((key) => reads.read('r', key).catch((error: unknown) => String(error)));
    await vi.advanceTimersByTimeAsync(50);
    expect(await Promise.all(answers)).toEqual(['Error: Throttling.User', 'Error: Throttling.User']);
    expect(sent).toEqual([['r', 'img-a', 'img-b']]);
  });

  it('fails the caller of a call for one key with that call\'s error, without asking again', async () => {
    vi.useFakeTimers();
    const { reads, sent } = recordingBatches(50, 10, new Set(['img-bad']));
    const bad = reads.read('r', 'img-bad').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    expect(String(await bad)).toContain('refused because of img-bad');
    expect(sent).toEqual([['r', 'img-bad']]);
  });
});

describe('a caller that stops waiting (its signal aborts)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A SharedReads whose read the test finishes by hand, and the signal that read was given. */
  function heldSharedRead() {
    const reads = new SharedReads<number>();
    const slow = pendingRead<number>();
    const given: AbortSignal[] = [];
    const start = (signal: AbortSignal) => {
      given.push(signal);
      return slow.promise;
    };
    return { reads, slow, start, readSignal: () => given[0] };
  }

  it('SharedReads: gets its signal\'s reason at once, while the read goes on for the callers still waiting', async () => {
    const { reads, slow, start, readSignal } = heldSharedRead();
    const leaving = new AbortController();
    const staying = new AbortController();
    const left = reads.read('k', start, leaving.signal);
    const stayed = reads.read('k', start, staying.signal);
    const reason = new Error('activity cancelled');
    leaving.abort(reason);
    await expect(left).rejects.toBe(reason);
    expect(readSignal()?.aborted).toBe(false);
    slow.finish(3);
    expect(await stayed).toBe(3);
  });

  it('SharedReads: aborts a read once every caller has stopped waiting, and starts a fresh one for the next', async () => {
    const reads = new SharedReads<number>();
    const signals: AbortSignal[] = [];
    const start = (signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<number>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        if (signals.length > 1) resolve(signals.length);
      });
    };
    const callers = [new AbortController(), new AbortController()];
    const answers = callers.map((caller) => reads.read('k', start, caller.signal).catch((error: unknown) => error));
    const reason = new Error('worker shutting down');
    for (const caller of callers) caller.abort(reason);
    expect(await Promise.all(answers)).toEqual([reason, reason]);
    expect(signals[0]?.aborted).toBe(true);
    expect(await reads.read('k', start)).toBe(2);
  });

  it('SharedReads: a caller without a signal keeps the read going when the others leave', async () => {
    const { reads, slow, start, readSignal } = heldSharedRead();
    const leaving = new AbortController();
    const stayed = reads.read('k', start);
    const left = reads.read('k', start, leaving.signal).catch(() => 'left');
    leaving.abort(new Error('cancelled'));
    expect(await left).toBe('left');
    expect(readSignal()?.aborted).toBe(false);
    slow.finish(5);
    expect(await stayed).toBe(5);
  });

  it('SharedReads: starts nothing for a signal that has aborted already', async () => {
    const reads = new SharedReads<number>();
    let started = 0;
    const reason = new Error('cancelled');
    await expect(reads.read('k', async () => (started += 1), AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(started).toBe(0);
  });

  it('CoalescedReads: sends no read when every caller stopped waiting within the window', async () => {
    vi.useFakeTimers();
    const reads = new CoalescedReads<number>(20);
    let started = 0;
    const start = async () => (started += 1);
    const callers = [new AbortController(), new AbortController()];
    const answers = callers.map((caller) => reads.read('img', start, caller.signal).catch(() => 'left'));
    await vi.advanceTimersByTimeAsync(10);
    for (const caller of callers) caller.abort(new Error('cancelled'));
    expect(await Promise.all(answers)).toEqual(['left', 'left']);
    await vi.advanceTimersByTimeAsync(20);
    expect(started).toBe(0);
    // The next caller gets a read of its own.
    const next = reads.read('img', start);
    await vi.advanceTimersByTimeAsync(20);
    expect(await next).toBe(1);
  });

  it('BatchedReads: never sends a batch every caller left, and a caller that left does not ask alone', async () => {
    vi.useFakeTimers();
    const sent: string[][] = [];
    const reads = new BatchedReads<string>(50, 10, async (group, keys, signal) => {
      sent.push([group, ...keys]);
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    });
    const callers = [new AbortController(), new AbortController()];
    const answers = ['img-a', 'img-b'].map((key, index) => reads.read('r', key, callers[index]?.signal).catch(() => 'left'));
    for (const caller of callers) caller.abort(new Error('cancelled'));
    expect(await Promise.all(answers)).toEqual(['left', 'left']);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([]);
  });

  it('BatchedReads: a caller that leaves within the window takes its key out of the call, unless another caller still waits for it', async () => {
    vi.useFakeTimers();
    const sent: string[][] = [];
    const reads = new BatchedReads<string>(50, 10, async (group, keys) => {
      sent.push([group, ...keys]);
      return new Map(keys.map((key) => [key, `${group}:${key}`]));
    });
    const leavingB = new AbortController();
    const leavingC = new AbortController();
    const staying = [
      reads.read('r', 'img-a', new AbortController().signal),
      reads.read('r', 'img-c', new AbortController().signal),
      reads.read('r', 'img-d'),
    ];
    const left = [reads.read('r', 'img-b', leavingB.signal).catch(() => 'left'), reads.read('r', 'img-c', leavingC.signal).catch(() => 'left')];
    await vi.advanceTimersByTimeAsync(20);
    leavingB.abort(new Error('cancelled'));
    leavingC.abort(new Error('cancelled'));
    expect(await Promise.all(left)).toEqual(['left', 'left']);
    await vi.advanceTimersByTimeAsync(30);
    expect(await Promise.all(staying)).toEqual(['r:img-a', 'r:img-c', 'r:img-d']);
    // img-b's only caller left; img-c's other caller still waits for it.
    expect(sent).toEqual([['r', 'img-a', 'img-c', 'img-d']]);
  });

  it('BatchedReads: aborts a call on its way once every caller has left it', async () => {
    vi.useFakeTimers();
    let callSignal: AbortSignal | undefined;
    const reads = new BatchedReads<string>(50, 10, async (_group, _keys, signal) => {
      callSignal = signal;
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    });
    const callers = [new AbortController(), new AbortController()];
    const answers = ['img-a', 'img-b'].map((key, index) => reads.read('r', key, callers[index]?.signal).catch(() => 'left'));
    await vi.advanceTimersByTimeAsync(50);
    expect(callSignal?.aborted).toBe(false);
    callers[0]?.abort(new Error('cancelled'));
    await vi.advanceTimersByTimeAsync(1);
    expect(callSignal?.aborted).toBe(false);
    callers[1]?.abort(new Error('cancelled'));
    expect(await Promise.all(answers)).toEqual(['left', 'left']);
    expect(callSignal?.aborted).toBe(true);
  });
});
