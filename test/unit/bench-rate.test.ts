/**
 * P3's rates (bench/lib/scenarios.ts): accepted deletes per second over n − 1 intervals, and the
 * same once the client's rate limiter has spent its opening burst.
 */
import { describe, expect, it } from 'vitest';
import { ratePerSecond } from '../../bench/lib/scenarios.js';

describe('ratePerSecond', () => {
  it('counts the intervals between the first and the last time, not the times', () => {
    expect(ratePerSecond([0, 100, 200, 300, 400])).toBe(10);
    expect(ratePerSecond([1_000, 2_000])).toBe(1);
  });

  it('is 0 with fewer than two times, or all at one instant', () => {
    expect(ratePerSecond([])).toBe(0);
    expect(ratePerSecond([5])).toBe(0);
    expect(ratePerSecond([5, 5])).toBe(0);
  });

  it('shows an opening burst: 18 at once, then 18 per second, is faster overall than after the first second', () => {
    const burst = Array.from({ length: 18 }, () => 0);
    const paced = Array.from({ length: 180 }, (_, index) => Math.round(((index + 1) * 1000) / 18));
    const times = [...burst, ...paced];
    expect(ratePerSecond(times)).toBeGreaterThan(19.5);
    expect(ratePerSecond(times.filter((time) => time >= 1_000))).toBeCloseTo(18, 0);
  });
});
