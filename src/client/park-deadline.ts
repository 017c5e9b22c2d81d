/**
 * When a parked deletion gives up. The saga waits for an operator with a timer (a condition
 * with the park timeout), so the deadline is that timer's start plus its duration, both in
 * the deletion's history: the workflow itself keeps no clock time. Pure: no Temporal calls.
 */

/** A protobuf Timestamp or Duration: seconds as a Long (or a number or a string), plus nanos. */
interface ProtoTime {
  seconds?: unknown;
  nanos?: number | null;
}

interface TimerRef {
  timerId?: string | null;
}

/** The parts of a history (`WorkflowHandle.fetchHistory()`) this module reads. */
export interface TimerHistory {
  events?: ReadonlyArray<{
    eventTime?: ProtoTime | null;
    timerStartedEventAttributes?: (TimerRef & { startToFireTimeout?: ProtoTime | null }) | null;
    timerFiredEventAttributes?: TimerRef | null;
    timerCanceledEventAttributes?: TimerRef | null;
  }> | null;
}

/** A protobuf Timestamp or Duration in milliseconds. */
export function protoMs(value: ProtoTime | null | undefined): number | undefined {
  if (value?.seconds === undefined || value.seconds === null) return undefined;
  return Number(String(value.seconds)) * 1000 + Math.floor((value.nanos ?? 0) / 1_000_000);
}

/**
 * When the timer started last and neither fired nor cancelled since will fire (ISO 8601), if
 * one is open. While a deletion is parked that is the park timeout: no other timer of the saga
 * runs then (the creation wait and the cancel drain belong to other phases).
 */
export function openTimerDeadline(history: TimerHistory): string | undefined {
  const deadlineByTimer = new Map<string, number>();
  for (const event of history.events ?? []) {
    const started = event.timerStartedEventAttributes;
    if (started?.timerId) {
      const startedAt = protoMs(event.eventTime);
      const duration = protoMs(started.startToFireTimeout);
      if (startedAt !== undefined && duration !== undefined) deadlineByTimer.set(started.timerId, startedAt + duration);
      continue;
    }
    const closed = event.timerFiredEventAttributes?.timerId ?? event.timerCanceledEventAttributes?.timerId;
    if (closed) deadlineByTimer.delete(closed);
  }
  // Insertion order is the order the timers started in.
  const latest = [...deadlineByTimer.values()].at(-1);
  return latest === undefined ? undefined : new Date(latest).toISOString();
}
