import { describe, expect, it } from 'vitest';
import { dueHeartbeats } from '../../src/activities/heartbeats.js';

describe('dueHeartbeats', () => {
  function clock(): { now: () => number; advance: (ms: number) => void } {
    let time = 1_000;
    return { now: () => time, advance: (ms) => (time += ms) };
  }

  it('sends nothing while a third of the heartbeat timeout has not passed', () => {
    const sent: unknown[] = [];
    const time = clock();
    const heartbeat = dueHeartbeats((details) => sent.push(details), 30_000, time.now);
    heartbeat('a');
    time.advance(9_999);
    heartbeat('b');
    expect(sent).toEqual([]);
  });

  it('sends once a third has passed, then waits another third from that send', () => {
    const sent: unknown[] = [];
    const time = clock();
    const heartbeat = dueHeartbeats((details) => sent.push(details), 30_000, time.now);
    time.advance(10_000);
    heartbeat('first');
    time.advance(5_000);
    heartbeat('too soon');
    time.advance(5_000);
    heartbeat('second');
    expect(sent).toEqual(['first', 'second']);
  });

  it('sends every time when the activity has no heartbeat timeout', () => {
    const sent: unknown[] = [];
    const heartbeat = dueHeartbeats((details) => sent.push(details), undefined, clock().now);
    heartbeat(1);
    heartbeat(2);
    expect(sent).toEqual([1, 2]);
  });
});
