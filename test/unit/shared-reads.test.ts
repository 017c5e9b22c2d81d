import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../src/cloud/shared-reads.js';

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
