import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { retryRefusal } from '../../src/client/client.js';
import { NothingToRetryError, RetryNotStartedError } from '../../src/client/index.js';

describe('retryRefusal: why a retry Update failed', () => {
  it('a retry answered RetryNotStarted (the deletion ended before its round) is a RetryNotStartedError', () => {
    const cause = ApplicationFailure.create({
      type: 'RetryNotStarted',
      message: 'The retry of the deletion of img-a1b2 did not start: the deletion ended first (abandoned). The deletion was abandoned',
      nonRetryable: true,
    });
    const error = retryRefusal('img-a1b2', new WorkflowUpdateFailedError('Workflow Update failed', cause));
    expect(error).toBeInstanceOf(RetryNotStartedError);
    // Callers that catch NothingToRetryError catch it too.
    expect(error).toBeInstanceOf(NothingToRetryError);
    expect(error.name).toBe('RetryNotStartedError');
    expect(error.message).toBe(
      'The retry of the deletion of img-a1b2 did not start: the deletion ended first (abandoned). The deletion was abandoned. ' +
        'Nothing was retried; see imgdel status img-a1b2.',
    );
  });

  it('a validator refusal stays a plain NothingToRetryError with the workflow\'s reason', () => {
    const cause = ApplicationFailure.create({ message: 'Nothing to retry: no step of the deletion of img-a1b2 has failed' });
    const error = retryRefusal('img-a1b2', new WorkflowUpdateFailedError('Workflow Update failed', cause));
    expect(error).toBeInstanceOf(NothingToRetryError);
    expect(error).not.toBeInstanceOf(RetryNotStartedError);
    // Said once, not "nothing to retry for image img-a1b2: Nothing to retry: …".
    expect(error.message).toBe('nothing to retry for image img-a1b2: no step of the deletion of img-a1b2 has failed');
  });

  it('a validator refusal with another reason keeps it whole', () => {
    const cause = ApplicationFailure.create({ message: 'The deletion of img-a1b2 is being abandoned; it can no longer be retried.' });
    const error = retryRefusal('img-a1b2', new WorkflowUpdateFailedError('Workflow Update failed', cause));
    expect(error.message).toBe('nothing to retry for image img-a1b2: The deletion of img-a1b2 is being abandoned; it can no longer be retried.');
  });
});
