import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { heartbeatWhile, type HeartbeatContext } from '../../src/activities/heartbeats.js';

describe('heartbeatWhile', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function fakeContext(heartbeatTimeoutMs: number | undefined): HeartbeatContext & { sent: unknown[] } {
    const sent: unknown[] = [];
    return { sent, heartbeat: (details) => sent.push(details), info: { heartbeatTimeoutMs } };
  }

  /** A body that settles after `ms` of fake time. */
  function after<T>(ms: number, value: T): () => Promise<T> {
    return () => new Promise((resolve) => setTimeout(() => resolve(value), ms));
  }

  it('sends nothing for a step that ends within a third of the heartbeat timeout', async () => {
    const context = fakeContext(30_000);
    const result = heartbeatWhile(context, after(9_999, 'done'));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(await result).toBe('done');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(context.sent).toEqual([]);
  });

  it('sends the current details every third of the timeout while a slow step runs, and stops when it ends', async () => {
    const context = fakeContext(30_000);
    let phase = 'deleting';
    const result = heartbeatWhile(context, after(35_000, 'done'), () => ({ phase }));
    await vi.advanceTimersByTimeAsync(10_000);
    phase = 'confirming';
    await vi.advanceTimersByTimeAsync(25_000);
    expect(await result).toBe('done');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(context.sent).toEqual([{ phase: 'deleting' }, { phase: 'confirming' }, { phase: 'confirming' }]);
  });

  it('stops heartbeating when the step fails, and passes the failure on', async () => {
    const context = fakeContext(30_000);
    const result = heartbeatWhile(context, async () => {
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      throw new Error('refused');
    });
    const settled = result.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(await settled).toEqual(new Error('refused'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(context.sent).toHaveLength(1);
  });

  it('still beats every 10 s without a heartbeat timeout, so a cancellation is heard', async () => {
    const context = fakeContext(undefined);
    const result = heartbeatWhile(context, after(25_000, 'done'));
    await vi.advanceTimersByTimeAsync(25_000);
    await result;
    expect(context.sent).toHaveLength(2);
  });
});
