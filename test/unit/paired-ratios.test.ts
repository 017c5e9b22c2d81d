/**
 * P2 reports, beside its ratio over all batches, the ratio of each neighbouring imgdel/no-op
 * pair: how far the figure moves within one run.
 */
import { describe, expect, it } from 'vitest';
import { pairedRatios } from '../../bench/lib/paired-ratios.js';

describe('pairedRatios', () => {
  it('gives imgdel over no-op for each pair of ABBA BAAB, whichever ran first', () => {
    const rates = [
      { kind: 'noop', perSecond: 20 },
      { kind: 'imgdel', perSecond: 16 },
      { kind: 'imgdel', perSecond: 18 },
      { kind: 'noop', perSecond: 20 },
      { kind: 'imgdel', perSecond: 15 },
      { kind: 'noop', perSecond: 25 },
      { kind: 'noop', perSecond: 16 },
      { kind: 'imgdel', perSecond: 16 },
    ] as const;
    expect(pairedRatios(rates)).toEqual([0.8, 0.9, 0.6, 1]);
  });

  it('refuses batches that do not pair up as one of each kind', () => {
    expect(() =>
      pairedRatios([
        { kind: 'imgdel', perSecond: 1 },
        { kind: 'imgdel', perSecond: 1 },
      ]),
    ).toThrow(/batches 1 and 2 are not one imgdel and one no-op/);
    expect(() => pairedRatios([{ kind: 'noop', perSecond: 1 }])).toThrow(/only when even/);
  });
});
