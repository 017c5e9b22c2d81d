/**
 * Per-action client-side rate limit: a token bucket of size 1 per cloud action
 * (smooth, no bursts), so one worker process never exceeds the cloud's per-action
 * quota on its own. Implemented as slot reservation: each acquire() books the next
 * free slot of its action and sleeps until then — FIFO, no polling.
 */

export interface Clock {
  /** Milliseconds, monotonic enough for spacing calls. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RateLimiterOptions {
  /** Requests per second for any action without an override. */
  defaultRatePerSecond: number;
  /** Per-action overrides, e.g. { DeleteImage: 19 }. */
  ratePerSecondByAction?: Readonly<Record<string, number>>;
  clock?: Clock;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly defaultIntervalMs: number;
  private readonly intervalMsByAction: ReadonlyMap<string, number>;
  /** The earliest time the next call of each action may start. */
  private readonly nextSlotByAction = new Map<string, number>();

  constructor(options: RateLimiterOptions) {
    this.clock = options.clock ?? systemClock;
    this.defaultIntervalMs = intervalFor(options.defaultRatePerSecond, 'default');
    this.intervalMsByAction = new Map(
      Object.entries(options.ratePerSecondByAction ?? {}).map(([action, rate]) => [action, intervalFor(rate, action)]),
    );
  }

  /** Resolves when a call of `action` may start; reserves that slot. */
  async acquire(action: string): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlotByAction.get(action) ?? now);
    this.nextSlotByAction.set(action, slot + this.intervalMsFor(action));
    const waitMs = slot - now;
    if (waitMs > 0) await this.clock.sleep(waitMs);
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
