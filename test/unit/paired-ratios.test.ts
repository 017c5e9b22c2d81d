/**
 * P2 reports, beside its ratio over all batches, the ratio of each neighbouring imgdel/no-op
 * pair: how far the figure moves within one run.
 */
import { describe, expect, it } from 'vitest';
import { pairedRatios, type BatchKind } from '../../bench/lib/paired-ratios.js';
import { P2_BATCH_ORDERS, P2_ORDERS, p2BatchesPerKind, p2OrderLabel } from '../../bench/lib/scenarios.js';

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

  it.each(P2_ORDERS)('pairs every batch of order %s with one of the other kind, as many of each, balanced against a linear drift', (order) => {
    const batches = P2_BATCH_ORDERS[order];
    // Each pair one of each kind: pairedRatios refuses anything else.
    expect(pairedRatios(batches.map((kind) => ({ kind, perSecond: kind === 'imgdel' ? 8 : 10 })))).toEqual(
      Array.from({ length: batches.length / 2 }, () => 0.8),
    );
    const positions = (kind: BatchKind) => batches.flatMap((batchKind, index) => (batchKind === kind ? [index + 1] : []));
    expect(positions('imgdel')).toHaveLength(p2BatchesPerKind(order));
    expect(positions('noop')).toHaveLength(p2BatchesPerKind(order));
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    expect(sum(positions('imgdel'))).toBe(sum(positions('noop')));
  });

  it('names the orders as the report prints them', () => {
    expect(p2OrderLabel('abba-baab')).toBe('ABBA BAAB');
    expect(p2OrderLabel('abba-baab-abba')).toBe('ABBA BAAB ABBA');
    expect(P2_BATCH_ORDERS['baab-abba'].slice(0, 4)).toEqual(['imgdel', 'noop', 'noop', 'imgdel']);
  });
});
