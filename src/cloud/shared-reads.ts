/**
 * Identical reads asked for while one is under way share its answer instead of each
 * sending its own. Only for reads where an answer obtained while the caller was asking
 * is as good as one the caller would have started itself (account-wide lists read for
 * validation), never for a read that must start after something the caller did.
 */
export class SharedReads<Value> {
  private readonly underWay = new Map<string, Promise<Value>>();

  read(key: string, start: () => Promise<Value>): Promise<Value> {
    const current = this.underWay.get(key);
    if (current !== undefined) return current;
    const started = start().finally(() => this.underWay.delete(key));
    this.underWay.set(key, started);
    return started;
  }

  /** Reads under way now (for tests and diagnostics). */
  get size(): number {
    return this.underWay.size;
  }
}
