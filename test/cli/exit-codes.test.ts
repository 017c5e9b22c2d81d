import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import {
  AbandonNotFinishedError,
  DeletionNotFoundError,
  DeletionUpdateRefusedError,
  IMGDEL_ERROR_CODES,
  ImgdelClientClosedError,
  ImgdelError,
  InvalidDeletionInputError,
  NamespaceNotFoundError,
  TemporalRefusedError,
  TemporalServerError,
  NoWorkerAnsweredError,
  NothingToRetryError,
  ProgressUnreadableError,
  RetryNotStartedError,
  TemporalUnavailableError,
} from '../../src/client/errors.js';
import { errorCodeFor, ExitCode, exitCodeForError, exitCodeForStatus } from '../../src/cli/exit-codes.js';

describe('exit codes', () => {
  it('are the documented numbers', () => {
    expect(ExitCode).toEqual({ Ok: 0, Failed: 1, Usage: 2, AwaitingRetry: 3, TemporalUnavailable: 4, NoWorker: 5, ProgressUnreadable: 6, TemporalServerError: 7 });
  });

  it('follow the deletion status', () => {
    expect(exitCodeForStatus('deleted')).toBe(0);
    expect(exitCodeForStatus('planned')).toBe(0);
    expect(exitCodeForStatus('running')).toBe(0);
    expect(exitCodeForStatus('awaiting-retry')).toBe(3);
    for (const status of ['rejected', 'compensated', 'abandoned', 'failed', 'cancelled'] as const) {
      expect(exitCodeForStatus(status)).toBe(1);
    }
  });

  it('an abandon accepted but not finished in time is exit 5 with a message that says it was accepted', () => {
    const error = new AbandonNotFinishedError('img-a1b2c3d4', 'image-deletion', 60_000);
    expect(exitCodeForError(error)).toBe(ExitCode.NoWorker);
    expect(errorCodeFor(error)).toBe('AbandonNotFinished');
    expect(error.message).toContain('the abandon of img-a1b2c3d4 was accepted, but the deletion did not finish within 60 s');
    expect(error.message).not.toContain('not accepted');
  });

  it('follow the error', () => {
    expect(exitCodeForError(new InvalidDeletionInputError('imageId: bad'))).toBe(2);
    expect(exitCodeForError(new ConfigError('TEMPORAL_ADDRESS: bad'))).toBe(2);
    expect(exitCodeForError(new TemporalUnavailableError('127.0.0.1:1', 'refused'))).toBe(4);
    // A namespace the server does not have is a setting to correct, like a bad TEMPORAL_ADDRESS.
    expect(exitCodeForError(new NamespaceNotFoundError('127.0.0.1:7233', 'nope'))).toBe(2);
    // So are credentials the server refuses.
    expect(exitCodeForError(new TemporalRefusedError('temporal.example:7233', 'prod', 'Request unauthorized'))).toBe(2);
    // A failure of the server's own is worth trying again, unlike a refused or failed deletion.
    expect(exitCodeForError(new TemporalServerError('temporal.example:7233', 'RESOURCE_EXHAUSTED', 'namespace rate limit exceeded'))).toBe(7);
    expect(exitCodeForError(new DeletionNotFoundError('img-a1b2', 'delete-image-img-a1b2', 'default'))).toBe(1);
    expect(exitCodeForError(new NothingToRetryError('img-a1b2', 'nothing failed'))).toBe(1);
    expect(exitCodeForError(new NoWorkerAnsweredError('img-a1b2', 'image-deletion', 60_000, 'retry'))).toBe(5);
    expect(errorCodeFor(new NoWorkerAnsweredError('img-a1b2', 'image-deletion', 60_000, 'retry'))).toBe('NoWorkerAnswered');
    expect(exitCodeForError(new Error('boom'))).toBe(1);
    expect(errorCodeFor(new NothingToRetryError('img-a1b2', 'nothing failed'))).toBe('NothingToRetry');
    expect(errorCodeFor(new TemporalUnavailableError('127.0.0.1:1', 'refused'))).toBe('TemporalUnavailable');
  });

  it('every client error carries its --json code as `code`', () => {
    const errors: [Error & { code: string }, string][] = [
      [new InvalidDeletionInputError('imageId: bad'), 'InvalidInput'],
      [new DeletionNotFoundError('img-a1b2', 'delete-image-img-a1b2', 'default'), 'NotFound'],
      [new DeletionUpdateRefusedError('abandon', 'img-a1b2', 'not parked'), 'UpdateRefused'],
      [new NothingToRetryError('img-a1b2', 'nothing failed'), 'NothingToRetry'],
      [new RetryNotStartedError('img-a1b2', 'ended first'), 'RetryNotStarted'],
      [new TemporalUnavailableError('127.0.0.1:1', 'refused'), 'TemporalUnavailable'],
      [new NamespaceNotFoundError('127.0.0.1:7233', 'nope'), 'NamespaceNotFound'],
      [new TemporalRefusedError('temporal.example:7233', 'prod', 'Request unauthorized'), 'TemporalRefused'],
      [new TemporalServerError('temporal.example:7233', 'INTERNAL', 'shard closed'), 'TemporalServerError'],
      [new NoWorkerAnsweredError('img-a1b2', 'image-deletion', 60_000, 'retry'), 'NoWorkerAnswered'],
      [new AbandonNotFinishedError('img-a1b2', 'image-deletion', 60_000), 'AbandonNotFinished'],
      [new ProgressUnreadableError('img-a1b2', 'image-deletion', 'query-failed', 'boom'), 'ProgressQueryFailed'],
      [new ProgressUnreadableError('img-a1b2', 'image-deletion', 'task-failing', 'boom'), 'WorkflowTaskFailing'],
      [new ProgressUnreadableError('img-a1b2', 'image-deletion', 'unrecognized-report', 'phase'), 'ProgressUnreadable'],
      [new ImgdelClientClosedError(), 'ClientClosed'],
    ];
    for (const [error, code] of errors) {
      expect(error.code, error.name).toBe(code);
      expect(errorCodeFor(error)).toBe(code);
      expect(error).toBeInstanceOf(ImgdelError);
    }
    expect(new Set(errors.map(([, code]) => code))).toEqual(new Set(IMGDEL_ERROR_CODES));
  });

  it('maps by code, so an error of another copy of the client module maps the same; other codes do not count', () => {
    const fromAnotherCopy = Object.assign(new Error('no worker answered'), { code: 'NoWorkerAnswered' });
    expect(exitCodeForError(fromAnotherCopy)).toBe(ExitCode.NoWorker);
    expect(errorCodeFor(fromAnotherCopy)).toBe('NoWorkerAnswered');
    const systemError = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(exitCodeForError(systemError)).toBe(ExitCode.Failed);
    expect(errorCodeFor(systemError)).toBe('Error');
  });

  it('a retry that did not start because the deletion ended first: exit 1, code RetryNotStarted', () => {
    const error = new RetryNotStartedError('img-a1b2', 'The retry of the deletion of img-a1b2 did not start: the deletion ended first (abandoned).');
    expect(exitCodeForError(error)).toBe(1);
    expect(errorCodeFor(error)).toBe('RetryNotStarted');
  });
});
