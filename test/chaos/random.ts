/**
 * A small seeded random source (mulberry32), so that a chaos run that found a bug can
 * be replayed with the same plan and the same order of chaos events (`--seed`).
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('cannot pick from an empty list');
    return item;
  }

  /** A new array with the items in random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index -= 1) {
      const other = Math.floor(this.next() * (index + 1));
      const here = copy[index];
      const there = copy[other];
      if (here === undefined || there === undefined) continue;
      copy[index] = there;
      copy[other] = here;
    }
    return copy;
  }

  /** Lower-case letters and digits, as image ids want them. */
  token(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let text = '';
    for (let index = 0; index < length; index += 1) text += alphabet.charAt(this.int(0, alphabet.length - 1));
    return text;
  }
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
