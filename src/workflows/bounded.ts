/**
 * Runs `task` over `items` with at most `concurrency` in flight. Before each launch
 * `shouldStop()` is asked, so a failure can stop new launches while the ones in
 * flight finish (the saga decides about the pivot only when nothing is in flight).
 * Pure: no SDK, no I/O; deterministic under the workflow's scheduler.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  /** Its result is not used (the caller keeps what it needs). */
  task: (item: T) => Promise<unknown>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  const queue = [...items];
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      if (shouldStop()) return;
      await task(item);
    }
  });
  await Promise.all(lanes);
}
