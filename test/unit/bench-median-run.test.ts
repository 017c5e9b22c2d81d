/**
 * P4 reads the history of P1's median run: with an even number of runs (--p1-runs 2, 4, …)
 * the median time is the mean of the middle two, which no run took, and P4 must still read a
 * middle run, not whichever ran first.
 */
import { describe, expect, it } from 'vitest';
import { medianRunOf } from '../../bench/lib/scenarios.js';

const wall = (run: { wallMs: number }) => run.wallMs;

describe('medianRunOf', () => {
  it('picks the middle run of an odd number, whatever order they ran in', () => {
    const runs = [{ wallMs: 1500 }, { wallMs: 1200 }, { wallMs: 1300 }, { wallMs: 1900 }, { wallMs: 1250 }];
    expect(medianRunOf(runs, wall)).toBe(runs[2]);
  });

  it('picks the faster of the middle two of an even number, not the first run', () => {
    const runs = [{ wallMs: 1900 }, { wallMs: 1300 }, { wallMs: 1200 }, { wallMs: 1400 }];
    expect(medianRunOf(runs, wall)).toBe(runs[1]);
    const two = [{ wallMs: 2000 }, { wallMs: 1000 }];
    expect(medianRunOf(two, wall)).toBe(two[1]);
  });

  it('answers undefined when there was no run', () => {
    expect(medianRunOf([], wall)).toBeUndefined();
  });
});
