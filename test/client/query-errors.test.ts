/**
 * How a failed progress query is read (only the worker's own failure is ProgressQueryFailed;
 * server errors are rethrown), and --wait's clocks: "no usable answer since" for the worker
 * timeout, "failing since" for a failing query's grace. No server.
 */
import { QueryNotRegisteredError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { classifyQueryError, QueryTrouble, withQueryReason } from '../../src/client/client.js';
import { AbandonNotFinishedError, NoWorkerAnsweredError, ProgressUnreadableError, TemporalUnavailableError } from '../../src/client/errors.js';
import { errorCodeFor, exitCodeForError } from '../../src/cli/exit-codes.js';
import { grpcError } from './fixtures.js';

describe('classifyQueryError', () => {
  it('CANCELLED ("Call cancelled") and DEADLINE_EXCEEDED are no answer, also wrapped in a ServiceError', () => {
    expect(classifyQueryError(grpcError(1, 'Call cancelled'))).toEqual({ kind: 'no-answer' });
    expect(classifyQueryError(new ServiceError('Failed to query Workflow', { cause: grpcError(1, 'Call cancelled') }))).toEqual({ kind: 'no-answer' });
    expect(classifyQueryError(grpcError(4, 'Deadline exceeded'))).toEqual({ kind: 'no-answer' });
  });

  it('the worker failing the query is query-failed', () => {
    expect(classifyQueryError(new QueryNotRegisteredError('boom in handler', 3))).toEqual({ kind: 'query-failed', message: 'boom in handler' });
  });

  it('"Workflow Task in failed state" is task-failing, not a worker answer', () => {
    const error = new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'FAILED_PRECONDITION: Workflow Task in failed state.') });
    expect(classifyQueryError(error)).toMatchObject({ kind: 'task-failing' });
  });

  it('server errors are not the worker’s: PERMISSION_DENIED, INTERNAL, UNAVAILABLE, not found, other FAILED_PRECONDITION', () => {
    for (const error of [
      grpcError(7, 'PERMISSION_DENIED: no'),
      grpcError(13, 'INTERNAL: oops'),
      grpcError(14, 'UNAVAILABLE: gone'),
      grpcError(9, 'FAILED_PRECONDITION: something else'),
      new WorkflowNotFoundError('not found', 'wf', undefined),
    ]) {
      expect(classifyQueryError(error)).toBeUndefined();
    }
  });
});

describe('withQueryReason', () => {
  it('a rethrown server error keeps its type and cause and says why', () => {
    const cause = grpcError(7, 'PERMISSION_DENIED: namespace denied');
    const rethrown = withQueryReason(new ServiceError('Failed to query Workflow', { cause }));
    expect(rethrown).toBeInstanceOf(ServiceError);
    expect(rethrown).toMatchObject({ message: 'Failed to query Workflow: namespace denied', cause });
    expect(exitCodeForError(rethrown)).toBe(1);
  });

  it('other errors are rethrown as they are', () => {
    const notFound = new WorkflowNotFoundError('not found', 'wf', undefined);
    expect(withQueryReason(notFound)).toBe(notFound);
  });
});

describe('QueryTrouble (--wait)', () => {
  const noAnswer = new NoWorkerAnsweredError('img-1', 'q', 1_000, 'no answer to the progress query');
  const failed = new ProgressUnreadableError('img-1', 'q', 'query-failed', 'boom');

  it('a worker alternating failed and unanswered queries is given up on; the last problem decides', () => {
    const trouble = new QueryTrouble('img-1', 10_000, 5_000);
    let now = 0;
    let verdict: Error | undefined;
    for (let poll = 0; verdict === undefined && poll < 100; poll++) {
      // Each failure alone is within its grace; each silence alone is within the worker timeout.
      verdict = trouble.check(poll % 2 === 0 ? failed : noAnswer, now, now + 1_000);
      now += 3_000;
    }
    expect(now).toBeLessThanOrEqual(12_000);
    // Given up on at the worker timeout, during a silence: no answer (exit 5).
    expect(verdict).toBeInstanceOf(NoWorkerAnsweredError);
  });

  it('a failure at the worker timeout is the last problem: it decides the error', () => {
    const trouble = new QueryTrouble('img-1', 10_000, 5_000);
    expect(trouble.check(noAnswer, 0, 6_000)).toBeUndefined();
    expect(trouble.check(failed, 6_000, 10_000)).toBe(failed);
  });

  it('a slow worker’s first failure after a long silence gets its own grace, not an exit at once', () => {
    const trouble = new QueryTrouble('img-1', 60_000, 5_000);
    expect(trouble.check(noAnswer, 0, 6_000)).toBeUndefined();
    expect(trouble.check(failed, 6_000, 6_100)).toBeUndefined();
    expect(trouble.check(failed, 9_000, 9_100)).toBeUndefined();
    // Failing for the whole grace ends the wait with the failure (exit 6).
    expect(trouble.check(failed, 11_000, 11_100)).toBe(failed);
  });

  it('any result that is not a failure restarts the failure grace', () => {
    const trouble = new QueryTrouble('img-1', 60_000, 5_000);
    expect(trouble.check(failed, 0, 100)).toBeUndefined();
    expect(trouble.check(noAnswer, 3_000, 4_000)).toBeUndefined();
    expect(trouble.check(failed, 6_000, 6_100)).toBeUndefined();
    expect(trouble.check(failed, 11_000, 11_100)).toBe(failed);
  });

  it('only a real answer resets the clock', () => {
    const trouble = new QueryTrouble('img-1', 10_000, 5_000);
    expect(trouble.check(noAnswer, 0, 9_000)).toBeUndefined();
    expect(trouble.check(undefined, 9_000, 9_000)).toBeUndefined();
    expect(trouble.check(noAnswer, 9_500, 18_000)).toBeUndefined();
    expect(trouble.check(noAnswer, 18_000, 20_000)).toBeInstanceOf(NoWorkerAnsweredError);
  });
});

describe('AbandonNotFinishedError', () => {
  it('has its own --json code, and exit 5', () => {
    const error = new AbandonNotFinishedError('img-1', 'q', 1_000);
    expect(errorCodeFor(error)).toBe('AbandonNotFinished');
    expect(exitCodeForError(error)).toBe(5);
    expect(new AbandonNotFinishedError('img-1', 'q', 1_000, '14 UNAVAILABLE').message).toContain('was accepted');
  });
});

describe('TemporalUnavailableError', () => {
  it.each(['localhost:7233', '127.0.0.1:7233', '[::1]:7233'])('suggests npm start for a server on this machine (%s)', (address) => {
    expect(new TemporalUnavailableError(address, 'refused').message).toContain('Start it with `npm start`');
  });

  it('asks to check a remote server instead of suggesting npm start', () => {
    const message = new TemporalUnavailableError('temporal.example.internal:7233', '14 UNAVAILABLE: timed out').message;
    expect(message).toBe(
      'cannot reach Temporal at temporal.example.internal:7233: 14 UNAVAILABLE: timed out. ' +
        'Check that the server is running and reachable from here, and that TEMPORAL_ADDRESS / TEMPORAL_PROFILE name the right one.',
    );
  });
});
