import { describe, expect, it } from 'vitest';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { deleteImageInputSchema, resolveInput } from '../../src/workflows/input.js';
import { activityOptionsFor } from '../../src/workflows/retry-policies.js';

describe('activityOptionsFor', () => {
  const options = activityOptionsFor(resolveInput(deleteImageInputSchema.parse({ imageId: 'img-policy' })));

  it('gives every activity a 30 s heartbeat timeout, well inside its start-to-close timeout', () => {
    // An attempt that never runs sends no heartbeat: it is retried after 30 s, not minutes later.
    for (const [name, set] of Object.entries(options)) {
      expect(set.heartbeatTimeout, name).toBe('30 seconds');
      const startToCloseMs = msToNumber(set.startToCloseTimeout ?? 0);
      expect(startToCloseMs, name).toBeGreaterThanOrEqual(2 * msToNumber('30 seconds'));
    }
  });
});
