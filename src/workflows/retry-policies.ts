/**
 * Every activity's timeouts and retry policy, in one place. Retryability per error
 * is decided by the activity (classify → nonRetryable); these policies bound how
 * long and how often a retryable error is retried.
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { ResolvedInput } from './input.js';

const MAXIMUM_INTERVAL = '30 seconds';

export interface ActivityOptionSet {
  /** Read-only validation and look-ups. */
  reads: ActivityOptions;
  /** Template deletes: DeleteTemplate.Failed is bounded by templateAttempts inside the activity. */
  templateDelete: ActivityOptions;
  /** One region's delete and its confirmation (heartbeats while confirming). */
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
    reads: { startToCloseTimeout: '2 minutes', retry: backoff(input.transientAttempts) },
    templateDelete: {
      startToCloseTimeout: '1 minute',
      retry: backoff(Math.max(input.transientAttempts, input.templateAttempts)),
    },
    regionDelete: {
      startToCloseTimeout: '3 minutes',
      heartbeatTimeout: '30 seconds',
      retry: backoff(input.transientAttempts),
    },
    compensation: { startToCloseTimeout: '1 minute', retry: backoff(60, '1 minute') },
  };
}
