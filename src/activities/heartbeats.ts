/**
 * How an activity keeps its heartbeat timeout away. The heartbeat timeout is what notices an
 * attempt that never runs: in `npm run bench` (P2) an attempt now and then was handed out by
 * the server and never reached the activity (it made no cloud call and logged nothing), and
 * only its start-to-close timeout, minutes later, retried it. A heartbeat is a write on the
 * server, so a step that finishes within a third of its heartbeat timeout sends none; a slower
 * one sends one every third, which also lets it hear of a cancellation.
 */

/** The part of an activity's Context this needs (a fake in tests). */
export interface HeartbeatContext {
  heartbeat(details?: unknown): void;
  readonly info: { readonly heartbeatTimeoutMs?: number | undefined };
}

/** Without a heartbeat timeout, beat this often anyway, so a cancellation is still heard. */
const INTERVAL_WITHOUT_TIMEOUT_MS = 10_000;

/**
 * Runs `body`, heartbeating `details()` every third of the heartbeat timeout while it runs
 * (never before the first third has passed), and stops when it settles.
 */
export async function heartbeatWhile<T>(
  context: HeartbeatContext,
  body: () => Promise<T>,
  details: () => unknown = () => undefined,
): Promise<T> {
  const timeoutMs = context.info.heartbeatTimeoutMs;
  const intervalMs = timeoutMs ? timeoutMs / 3 : INTERVAL_WITHOUT_TIMEOUT_MS;
  const timer = setInterval(() => context.heartbeat(details()), intervalMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
