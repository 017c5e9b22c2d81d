/**
 * The CLI's exit codes. Scripts depend on them: never renumber.
 */
import { ConfigError } from '../config.js';
import { exitCodeForSignal } from '../signal-counter.js';
import { CommandInterrupted } from './interrupted.js';
import { isImgdelError, type ImgdelErrorCode } from '../client/errors.js';
import type { DeletionStatus } from '../workflows/model.js';

export const ExitCode = {
  /** Deleted, a dry-run plan printed, or the command did what it was asked (deletion still running). */
  Ok: 0,
  /** Rejected, compensated, abandoned, cancelled or failed; also: no such deletion, update refused. */
  Failed: 1,
  /**
   * Bad usage, invalid input or configuration (a namespace Temporal does not have, credentials it
   * refuses): nothing was started.
   */
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
  /**
   * Temporal answered with a failure of its own (RESOURCE_EXHAUSTED after the SDK's retries,
   * INTERNAL, UNKNOWN, …): worth trying again; a start or Update it was handling may have taken effect.
   */
  TemporalServerError: 7,
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

const EXIT_CODE_FOR_ERROR: Partial<Record<ImgdelErrorCode, ExitCodeValue>> = {
  InvalidInput: ExitCode.Usage,
  NamespaceNotFound: ExitCode.Usage,
  TemporalRefused: ExitCode.Usage,
  TemporalUnavailable: ExitCode.TemporalUnavailable,
  NoWorkerAnswered: ExitCode.NoWorker,
  AbandonNotFinished: ExitCode.NoWorker,
  ProgressQueryFailed: ExitCode.ProgressUnreadable,
  WorkflowTaskFailing: ExitCode.ProgressUnreadable,
  ProgressUnreadable: ExitCode.ProgressUnreadable,
  TemporalServerError: ExitCode.TemporalServerError,
};

/**
 * By the error's code (not `instanceof`): not found, refused updates and anything else fail with 1;
 * a command stopped by a signal exits as the shell expects of one (130 for Ctrl-C).
 */
export function exitCodeForError(error: unknown): number {
  if (error instanceof CommandInterrupted) return exitCodeForSignal(error.signal);
  if (error instanceof ConfigError) return ExitCode.Usage;
  if (isImgdelError(error)) return EXIT_CODE_FOR_ERROR[error.code] ?? ExitCode.Failed;
  return ExitCode.Failed;
}

/** The `code` of the JSON error object printed with --json when there is no outcome to print. */
export function errorCodeFor(error: unknown): string {
  if (error instanceof CommandInterrupted) return 'Interrupted';
  if (error instanceof ConfigError) return 'InvalidConfiguration';
  if (isImgdelError(error)) return error.code;
  return 'Error';
}
