/**
 * A parked deletion's deadline is read from its history: the open timer's start plus its
 * duration. Timers that fired or were cancelled (an earlier park, a creation wait) do not count.
 */
import { describe, expect, it } from 'vitest';
import { openTimerDeadline, protoMs } from '../../src/client/park-deadline.js';
import type { TimerHistory } from '../../src/client/park-deadline.js';

const at = (iso: string) => ({ seconds: String(Date.parse(iso) / 1000), nanos: 0 });
const started = (timerId: string, time: string, seconds: number) => ({
  eventTime: at(time),
  timerStartedEventAttributes: { timerId, startToFireTimeout: { seconds, nanos: 500_000_000 } },
});
const fired = (timerId: string) => ({ timerFiredEventAttributes: { timerId } });
const cancelled = (timerId: string) => ({ timerCanceledEventAttributes: { timerId } });

describe('openTimerDeadline', () => {
  it('is the start plus the duration of the timer still open', () => {
    const history: TimerHistory = {
      events: [
        started('1', '2026-11-30T10:00:00Z', 60),
        fired('1'),
        started('2', '2026-11-30T11:00:00Z', 7 * 24 * 3600),
        cancelled('2'),
        started('3', '2026-11-30T12:00:00Z', 7 * 24 * 3600),
      ],
    };
    expect(openTimerDeadline(history)).toBe('2026-12-07T12:00:00.500Z');
  });

  it('is undefined when every timer has fired or been cancelled, or there is none', () => {
    expect(openTimerDeadline({ events: [started('1', '2026-11-30T10:00:00Z', 60), cancelled('1')] })).toBeUndefined();
    expect(openTimerDeadline({ events: [] })).toBeUndefined();
    expect(openTimerDeadline({})).toBeUndefined();
  });

  it('reads protobuf seconds given as a number, a string or a Long-like object', () => {
    expect(protoMs({ seconds: 2, nanos: 3_000_000 })).toBe(2003);
    expect(protoMs({ seconds: '2' })).toBe(2000);
    expect(protoMs({ seconds: { toString: () => '2' } })).toBe(2000);
    expect(protoMs(undefined)).toBeUndefined();
    expect(protoMs({ seconds: null })).toBeUndefined();
  });
});
