import { describe, expect, it } from 'vitest';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { deleteImageInputSchema, resolveInput } from '../../src/workflows/input.js';
import { activityOptionsFor } from '../../src/workflows/retry-policies.js';

describe('activityOptionsFor', () => {
  const options = activityOptionsFor(resolveInput(deleteImageInputSchema().parse({ imageId: 'img-policy' })));

  it('gives every activity a 30 s heartbeat timeout, well inside its start-to-close timeout', () => {
    // An attempt that never runs sends no heartbeat: it is retried after 30 s, not minutes later.
    for (const [name, set] of Object.entries(options)) {
      expect(set.heartbeatTimeout, name).toBe('30 seconds');
      const startToCloseMs = msToNumber(set.startToCloseTimeout ?? 0);
      expect(startToCloseMs, name).toBeGreaterThanOrEqual(2 * msToNumber('30 seconds'));
    }
  });

  it('lets the activities spend every attempt budget they enforce: the policy never gives up first', () => {
    // The activity marks a bounded code non-retryable once its budget is spent; a policy allowing
    // fewer attempts would end the step earlier, without the budget being spent.
    const input = resolveInput(deleteImageInputSchema().parse({ imageId: 'img-policy', transientAttempts: 4, templateAttempts: 9 }));
    const byInput = activityOptionsFor(input);
    expect(byInput.templateDelete.retry?.maximumAttempts).toBe(9);
    // DeleteTemplate.Failed answered by DeleteImage spends the template budget (deletion-saga.md).
    expect(byInput.regionDelete.retry?.maximumAttempts).toBe(9);
    expect(byInput.reads.retry?.maximumAttempts).toBe(4);
  });
});
