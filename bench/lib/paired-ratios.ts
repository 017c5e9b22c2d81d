/**
 * P2's batches run ABBA BAAB, so they pair up as neighbours (AB, BA, BA, AB), each pair one
 * imgdel batch and one no-op batch run back to back. The ratio of each pair shows how far the
 * figure moves within one run on this machine, beside the ratio over all batches.
 */
/** The two kinds of P2 batch: deletions, and the no-op baseline. */
export type BatchKind = 'imgdel' | 'noop';

export interface BatchRate {
  kind: BatchKind;
  perSecond: number;
}

/** imgdel's rate over the no-op's, for each neighbouring pair of batches, in the order they ran. */
export function pairedRatios(batches: readonly BatchRate[]): number[] {
  if (batches.length % 2 !== 0) throw new Error(`P2 ran ${batches.length} batches; they pair up only when even`);
  const ratios: number[] = [];
  for (let index = 0; index < batches.length; index += 2) {
    const pair = batches.slice(index, index + 2);
    const imgdel = pair.find((batch) => batch.kind === 'imgdel');
    const noop = pair.find((batch) => batch.kind === 'noop');
    if (imgdel === undefined || noop === undefined) {
      throw new Error(`P2 batches ${index + 1} and ${index + 2} are not one imgdel and one no-op batch`);
    }
    ratios.push(imgdel.perSecond / noop.perSecond);
  }
  return ratios;
}
