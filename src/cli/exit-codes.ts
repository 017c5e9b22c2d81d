/**
 * The CLI's exit codes. Scripts depend on them: never renumber.
 */
import { ConfigError } from '../config.js';
import {
  AbandonNotFinishedError,
  DeletionNotFoundError,
  DeletionUpdateRefusedError,
  InvalidDeletionInputError,
  NoWorkerAnsweredError,
  ProgressUnreadableError,
  RetryNotStartedError,
  TemporalUnavailableError,
} from '../client/errors.js';
import type { DeletionStatus } from '../workflows/model.js';

export const ExitCode = {
  /** Deleted, a dry-run plan printed, or the command did what it was asked (deletion still running). */
  Ok: 0,
  /** Rejected, compensated, abandoned, cancelled or failed; also: no such deletion, update refused. */
  Failed: 1,
  /** Bad usage or invalid input: nothing was started. */
  Usage: 2,
  /** The deletion is parked, awaiting an operator's retry or abandon. */
  AwaitingRetry: 3,
  /** Temporal could not be reached. */
  TemporalUnavailable: 4,
  /** No worker answered on the deletion's task queue within --worker-timeout. */
  NoWorker: 5,
  /**
   * --wait / --dry-run only: the progress query failed on the worker, the deletion's workflow task is
   * failing, or a worker answered with a report this imgdel cannot read.
   */
  ProgressUnreadable: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForStatus(status: DeletionStatus): ExitCodeValue {
  switch (status) {
    case 'deleted':
    case 'planned':
    case 'running':
      return ExitCode.Ok;
    case 'awaiting-retry':
      return ExitCode.AwaitingRetry;
    case 'rejected':
    case 'compensated':
    case 'abandoned':
    case 'failed':
    case 'cancelled':
      return ExitCode.Failed;
  }
}

export function exitCodeForError(error: unknown): ExitCodeValue {
  if (error instanceof InvalidDeletionInputError || error instanceof ConfigError) return ExitCode.Usage;
  if (error instanceof TemporalUnavailableError) return ExitCode.TemporalUnavailable;
  if (error instanceof NoWorkerAnsweredError) return ExitCode.NoWorker;
  if (error instanceof ProgressUnreadableError) return ExitCode.ProgressUnreadable;
  if (error instanceof DeletionNotFoundError || error instanceof DeletionUpdateRefusedError) return ExitCode.Failed;
  return ExitCode.Failed;
}

const PROGRESS_ERROR_CODES = {
  'query-failed': 'ProgressQueryFailed',
  'task-failing': 'WorkflowTaskFailing',
  'unrecognized-report': 'ProgressUnreadable',
} as const;

/** The `code` of the JSON error object printed with --json when there is no outcome to print. */
export function errorCodeFor(error: unknown): string {
  if (error instanceof InvalidDeletionInputError) return 'InvalidInput';
  if (error instanceof ConfigError) return 'InvalidConfiguration';
  if (error instanceof TemporalUnavailableError) return 'TemporalUnavailable';
  if (error instanceof AbandonNotFinishedError) return 'AbandonNotFinished';
  if (error instanceof NoWorkerAnsweredError) return 'NoWorkerAnswered';
  if (error instanceof ProgressUnreadableError) return PROGRESS_ERROR_CODES[error.reason];
  if (error instanceof DeletionNotFoundError) return 'NotFound';
  if (error instanceof RetryNotStartedError) return 'RetryNotStarted';
  if (error instanceof DeletionUpdateRefusedError) return error.update === 'retry' ? 'NothingToRetry' : 'UpdateRefused';
  return 'Error';
}
