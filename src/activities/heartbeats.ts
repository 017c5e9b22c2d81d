/**
 * When a long step heartbeats. Each heartbeat is a write on the server (measured by
 * `npm run bench`, P2), so a step that finishes quickly should send none, while a slow one
 * must still keep its heartbeat timeout away and hear of a cancellation.
 */

/**
 * A heartbeat function that sends only once a third of `heartbeatTimeoutMs` has passed since
 * it was made or last sent. Without a heartbeat timeout it sends every time.
 */
export function dueHeartbeats(
  send: (details: unknown) => void,
  heartbeatTimeoutMs: number | undefined,
  now: () => number = Date.now,
): (details: unknown) => void {
  const interval = (heartbeatTimeoutMs ?? 0) / 3;
  let last = now();
  return (details) => {
    if (now() - last < interval) return;
    send(details);
    last = now();
  };
}
