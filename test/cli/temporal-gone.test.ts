/**
 * Temporal goes away while an Update waits for a worker: that is exit 4 (Temporal cannot be
 * reached), not exit 5 (no worker answered), although the SDK's retries end in DEADLINE_EXCEEDED.
 * A dev server of its own, stopped half-way through the call.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { deletionStartOptions } from '../../src/client/client.js';
import { startDevServer } from '../../src/dev/dev-server.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { imgdel, uniqueImageId } from '../client/fixtures.js';

describe('Temporal unreachable during an Update', () => {
  it('retry exits 4, naming the address, when the server stops while the retry waits for a worker', async () => {
    const server = await startDevServer({ ignoreTemporalAddress: true, headless: true, log: () => undefined });
    try {
      const connection = await Connection.connect({ address: server.address });
      const imageId = uniqueImageId();
      await new Client({ connection, namespace: server.namespace }).workflow.start(
        WORKFLOW_TYPE,
        deletionStartOptions({ imageId, requestedBy: 'temporal-gone test' }, 'nobody-polls-this', randomUUID()),
      );
      await connection.close();
      const env = { TEMPORAL_ADDRESS: server.address, IMGDEL_TASK_QUEUE: 'nobody-polls-this' };
      const run = imgdel(['retry', imageId, '--worker-timeout', '6'], env);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await server.stop();
      const ended = await run;
      expect(ended.code, ended.stderr).toBe(4);
      expect(ended.stderr).toContain(`cannot reach Temporal at ${server.address}`);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
