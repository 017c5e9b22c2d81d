/**
 * How a CloudError leaves an activity: an ApplicationFailure whose `type` is the
 * cloud code and whose retryability follows classify(). Bounded codes are retried
 * until the step's attempt budget is spent, then fail non-retryably.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { classify, explain, isCloudError, type ErrorClass, type SagaStep } from '../cloud/errors.js';

/** What the workflow finds in `failure.details[0]` of every cloud failure. */
export interface CloudFailureDetails {
  code: string;
  errorClass: ErrorClass;
  attempt: number;
  requestId?: string;
  httpStatus?: number;
  action?: string;
  /** The cloud's own message, kept apart from ours. */
  cloudMessage: string;
  budgetSpent: boolean;
  /** How long the cloud asked to wait, used as the next retry's delay (transient failures only). */
  retryAfterMs?: number;
}

export interface FailureContext {
  step: SagaStep;
  /** The subject in plain words, e.g. "delete image img-1 in cn-hangzhou". */
  what: string;
  attempt: number;
  /** Attempts allowed for `bounded` codes. */
  attemptBudget: number;
  /**
   * Attempts allowed for `transient` codes, when the step's retry policy allows more (a delete's
   * policy has room for the template budget too); absent: as many as the policy allows.
   */
  transientAttemptBudget?: number | undefined;
}

export function failureFromCloudError(error: unknown, context: FailureContext): Error {
  if (!isCloudError(error)) {
    // A bug or an unexpected runtime error: let Temporal retry it under the step's policy.
    return error instanceof Error ? error : new Error(String(error));
  }
  const errorClass = classify(error.code, context.step, error.httpStatus);
  const budgetSpent =
    (errorClass === 'bounded' && context.attempt >= context.attemptBudget) ||
    (errorClass === 'transient' && context.transientAttemptBudget !== undefined && context.attempt >= context.transientAttemptBudget);
  const nonRetryable = errorClass === 'rejected' || errorClass === 'blocked' || budgetSpent;
  // The cloud said when to come back (x-acs-retry-after): Temporal waits that long instead of the policy's backoff.
  const waitAsked = errorClass === 'transient' && !budgetSpent ? error.retryAfterMs : undefined;
  const details: CloudFailureDetails = {
    code: error.code,
    errorClass,
    attempt: context.attempt,
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    ...(error.action === undefined ? {} : { action: error.action }),
    cloudMessage: error.message,
    budgetSpent,
    ...(waitAsked === undefined ? {} : { retryAfterMs: waitAsked }),
  };
  const spent = budgetSpent ? ` (gave up after ${context.attempt} attempts)` : '';
  return ApplicationFailure.create({
    type: error.code,
    message: `${context.what} failed with ${error.code}${spent}: ${sentence(error.message)} ${explain(error.code)}`,
    nonRetryable,
    details: [details],
    ...(waitAsked === undefined ? {} : { nextRetryDelay: waitAsked }),
  });
}

/**
 * The cloud's message as a sentence (one full stop, or nothing), capitalised when it begins with
 * a plain word: an id such as img-… stays as written, since a capital would make it another id.
 */
function sentence(text: string): string {
  const trimmed = text.trim().replace(/[.\s]+$/, '');
  if (trimmed === '') return '';
  const startsWithWord = /^[a-z]+(?:\s|[,;:]|$)/.test(trimmed);
  return `${startsWithWord ? trimmed.charAt(0).toUpperCase() : trimmed.charAt(0)}${trimmed.slice(1)}.`;
}
