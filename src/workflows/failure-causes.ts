/**
 * What the workflow makes of an activity's failure: its step error (code, message, request id),
 * its attempts, and the cause a workflow failure carries. Pure: imported by workflow code.
 */
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import type { CloudFailureDetails } from '../activities/failures.js';
import { StepCode, SyntheticCode } from '../cloud/errors.js';
import type { StepError } from './model.js';

/**
 * The cause a workflow failure reports for `error`: the activity's ApplicationFailure (the cloud
 * error), or, when there is none (a timeout, say), the ActivityFailure itself with its cause, so
 * that the original error is never dropped (deletion-saga.md: cause = original error).
 */
export function causeFailureOf(error: unknown): Error | undefined {
  const failure = applicationFailureOf(error);
  if (failure) return failure;
  return error instanceof ActivityFailure ? error : undefined;
}

function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof ActivityFailure) return applicationFailureOf(error.cause);
  return undefined;
}

export function cloudDetailsOf(error: unknown): CloudFailureDetails | undefined {
  const failure = applicationFailureOf(error);
  const first: unknown = failure?.details?.[0];
  if (typeof first === 'object' && first !== null && 'code' in first && 'errorClass' in first) {
    return first as CloudFailureDetails;
  }
  return undefined;
}

export function stepErrorFrom(error: unknown): StepError {
  const failure = applicationFailureOf(error);
  const details = cloudDetailsOf(error);
  if (failure) {
    return {
      code: failure.type ?? 'Error',
      message: failure.message,
      ...(details?.requestId ? { requestId: details.requestId } : {}),
    };
  }
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    const kind = cause ? cause.name : 'ActivityFailure';
    return { code: kind === 'TimeoutFailure' ? StepCode.ActivityTimeout : kind, message: cause?.message ?? error.message };
  }
  return { code: 'Error', message: error instanceof Error ? error.message : String(error) };
}

/**
 * How many attempts a failed step made: the last attempt's number, as a cloud failure records it;
 * else, when Temporal gave up because the attempts ran out (an activity timeout, an unconfirmed
 * delete), the policy's `maximumAttempts`; else 1.
 */
export function attemptsOf(error: unknown, maximumAttempts?: number): number {
  const recorded = cloudDetailsOf(error)?.attempt;
  if (recorded !== undefined) return recorded;
  const ranOut = error instanceof ActivityFailure && error.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED;
  return ranOut && maximumAttempts !== undefined ? maximumAttempts : 1;
}

/** Codes of a delete whose request may have been sent and applied, its answer lost. */
const LOST_ANSWER_CODES: ReadonlySet<string> = new Set([SyntheticCode.RequestTimeout, SyntheticCode.NetworkError]);

/**
 * How a failed template or region delete got no answer, so that the cloud may still apply it:
 * 'lost-answer' when its request went unanswered, 'timed-out' when Temporal timed its last attempt
 * out (the worker stopped or hung, possibly mid-call); undefined when it did not fail that way.
 */
export function unansweredFailure(step: { status: string; lastError?: { code: string } | undefined }): 'lost-answer' | 'timed-out' | undefined {
  if (step.status !== 'failed' || step.lastError === undefined) return undefined;
  if (LOST_ANSWER_CODES.has(step.lastError.code)) return 'lost-answer';
  return step.lastError.code === StepCode.ActivityTimeout ? 'timed-out' : undefined;
}
