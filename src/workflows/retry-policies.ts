/**
 * Every activity's timeouts and retry policy, in one place. Retryability per error
 * is decided by the activity (classify → nonRetryable); these policies bound how
 * long and how often a retryable error is retried.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { ResolvedInput } from './input.js';

const MAXIMUM_INTERVAL = '30 seconds';
/**
 * Every activity heartbeats once it has run a third of this (src/activities/heartbeats.ts), so an
 * attempt that never runs or whose worker died is retried after this long, not after its
 * start-to-close timeout. The heartbeats come from a timer, not from the cloud calls, so one
 * slow call (up to connect + read timeout, 20 s by default) need not fit in it.
 */
const HEARTBEAT_TIMEOUT = '30 seconds';

export interface ActivityOptionSet {
  /** Read-only validation and look-ups. */
  reads: ActivityOptions;
  /** Template deletes: DeleteTemplate.Failed is bounded by templateAttempts inside the activity. */
  templateDelete: ActivityOptions;
  /** One region's delete and its confirmation (heartbeats while confirming); bounded like templateDelete too. */
  regionDelete: ActivityOptions;
  /** Compensations: retried much longer, since giving up leaves a template missing. */
  compensation: ActivityOptions;
}

export function activityOptionsFor(input: ResolvedInput): ActivityOptionSet {
  const backoff = (maximumAttempts: number, maximumInterval: string = MAXIMUM_INTERVAL): RetryPolicy => ({
    initialInterval: input.retryInitialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval,
    maximumAttempts,
  });
  return {
    reads: { startToCloseTimeout: '2 minutes', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: backoff(input.transientAttempts) },
    templateDelete: {
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      retry: backoff(Math.max(input.transientAttempts, input.templateAttempts)),
    },
    regionDelete: {
      startToCloseTimeout: '3 minutes',
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      // DeleteTemplate.Failed from DeleteImage is bounded by templateAttempts inside the activity.
      retry: backoff(Math.max(input.transientAttempts, input.templateAttempts)),
    },
    compensation: { startToCloseTimeout: '1 minute', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: backoff(60, '1 minute') },
  };
}
