/**
 * Per-action client-side rate limit: a token bucket per cloud action holding at most
 * `burstSeconds` worth of calls, so one worker process never exceeds the cloud's
 * per-action quota on its own, yet a fan-out (12 regions at once) is not spread over a
 * second when the quota allows it. acquire() takes a token, or reserves one (the
 * bucket goes negative) and sleeps until it is due: FIFO, no polling.
 */
import { abortableSleep } from '../abort.js';

export interface Clock {
  /** Milliseconds, monotonic enough for spacing calls. */
  now(): number;
  /** Rejects with the signal's reason once it aborts (and no timer is left behind). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => abortableSleep(ms, signal),
};

export interface RateLimiterOptions {
  /** Requests per second for any action without an override. */
  defaultRatePerSecond: number;
  /** Per-action overrides, e.g. { DeleteImage: 19 }. */
  ratePerSecondByAction?: Readonly<Record<string, number>>;
  /** How many seconds of calls may go out at once after a quiet spell (default 1; at least one call). */
  burstSeconds?: number;
  clock?: Clock;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly defaultIntervalMs: number;
  private readonly intervalMsByAction: ReadonlyMap<string, number>;
  private readonly burstSeconds: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.clock = options.clock ?? systemClock;
    this.burstSeconds = options.burstSeconds ?? 1;
    this.defaultIntervalMs = intervalFor(options.defaultRatePerSecond, 'default');
    this.intervalMsByAction = new Map(
      Object.entries(options.ratePerSecondByAction ?? {}).map(([action, rate]) => [action, intervalFor(rate, action)]),
    );
  }

  /**
   * Resolves when a call of `action` may start; reserves its token. A wait its signal abandons
   * rejects with the signal's reason and hands the token back: that call never goes out.
   */
  async acquire(action: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const intervalMs = this.intervalMsFor(action);
    const capacity = this.capacityFor(action);
    const now = this.clock.now();
    const bucket = this.buckets.get(action) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) / intervalMs) - 1;
    bucket.updatedAt = now;
    this.buckets.set(action, bucket);
    if (bucket.tokens >= 0) return;
    try {
      await this.clock.sleep(-bucket.tokens * intervalMs, signal);
    } catch (error) {
      bucket.tokens = Math.min(capacity, bucket.tokens + 1);
      throw error;
    }
  }

  /** Calls of `action` that may go out back to back. */
  capacityFor(action: string): number {
    return Math.max(1, Math.floor((this.burstSeconds * 1000) / this.intervalMsFor(action)));
  }

  intervalMsFor(action: string): number {
    return this.intervalMsByAction.get(action) ?? this.defaultIntervalMs;
  }
}

function intervalFor(ratePerSecond: number, label: string): number {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
    throw new RangeError(`rate for ${label} must be a positive number of requests per second, got ${ratePerSecond}`);
  }
  return 1000 / ratePerSecond;
}
