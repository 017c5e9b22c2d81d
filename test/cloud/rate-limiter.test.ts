/**
 * The per-action token bucket, on an injected clock: what it asks to wait is asserted,
 * never how long anything took.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter, type Clock } from '../../src/cloud/rate-limiter.js';

/** A clock that stands still unless advanced; sleep() records the wait and returns at once. */
function manualClock(): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('RateLimiter', () => {
  it('lets the first call of an action through at once', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 2, clock });
    await limiter.acquire('ListImage');
    expect(clock.sleeps).toEqual([]);
  });

  it('lets one second of calls out at once, then spaces the rest evenly, in arrival order', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 4, clock });
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => limiter.acquire('ListImage')));
    expect(clock.sleeps).toEqual([250, 500, 750]);
  });

  it('with burstSeconds 0 (at least one call) spaces every call', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 4, burstSeconds: 0, clock });
    await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('ListImage')));
    expect(clock.sleeps).toEqual([250, 500, 750]);
  });

  it('hands the token of a wait its signal abandons back: the next call waits as if that one never came', async () => {
    const clock = manualClock();
    const abandoned = new AbortController();
    const reason = new Error('cancelled');
    // A sleep that ends only when its signal aborts, as the system clock's does.
    clock.sleep = (ms, signal) => {
      clock.sleeps.push(ms);
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    };
    const limiter = new RateLimiter({ defaultRatePerSecond: 4, clock });
    await Promise.all([1, 2, 3, 4].map(() => limiter.acquire('ListImage')));
    const waiting = limiter.acquire('ListImage', abandoned.signal);
    abandoned.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    void limiter.acquire('ListImage');
    expect(clock.sleeps).toEqual([250, 250]);
    await expect(limiter.acquire('ListImage', AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.sleeps).toEqual([250, 250]);
  });

  it('keeps actions independent', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 1, clock });
    await limiter.acquire('ListImage');
    await limiter.acquire('DeleteImage');
    await limiter.acquire('DescribeTemplates');
    expect(clock.sleeps).toEqual([]);
    await limiter.acquire('ListImage');
    expect(clock.sleeps).toEqual([1000]);
  });


  it('uses a per-action override over the default rate', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 1, ratePerSecondByAction: { DeleteImage: 20 }, clock });
    expect(limiter.intervalMsFor('DeleteImage')).toBe(50);
    expect(limiter.intervalMsFor('ListImage')).toBe(1000);
    expect(limiter.capacityFor('DeleteImage')).toBe(20);
    await Promise.all(Array.from({ length: 21 }, () => limiter.acquire('DeleteImage')));
    expect(clock.sleeps).toEqual([50]);
  });

  it('only waits for the part of the interval that has not passed yet', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 10, burstSeconds: 0, clock });
    await limiter.acquire('ListImage');
    clock.advance(30);
    await limiter.acquire('ListImage');
    expect(clock.sleeps).toEqual([70]);
  });

  it('saves up at most one burst while idle: after a long pause, the call after the burst waits', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ defaultRatePerSecond: 2, clock });
    await limiter.acquire('ListImage');
    clock.advance(60_000);
    await limiter.acquire('ListImage');
    await limiter.acquire('ListImage');
    await limiter.acquire('ListImage');
    expect(clock.sleeps).toEqual([500]);
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => new RateLimiter({ defaultRatePerSecond: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ defaultRatePerSecond: 1, ratePerSecondByAction: { ListImage: -1 } })).toThrow(/ListImage/);
  });
});
