/**
 * createImgdelWorker as a library: an injected connection and cloud, one task queue per
 * test, and close() releasing the worker whether it ran or not.
 */
import type { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createImgdelWorker } from '../../src/worker.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { ACCOUNT, scriptedCloud } from '../helpers/scripted-cloud.js';
import { connectTestClient, createTestNativeConnection, testNamespace, uniqueTaskQueue } from '../helpers/temporal.js';

let connection: NativeConnection;
beforeAll(async () => {
  connection = await createTestNativeConnection();
});
afterAll(async () => {
  await connection?.close();
});

const config = () => loadConfig({ IMGDEL_ACCOUNT_ID: ACCOUNT, TEMPORAL_NAMESPACE: testNamespace() });

describe('createImgdelWorker', () => {
  it('runs deletions on the injected cloud and task queue, and leaves an injected connection open', async () => {
    const imageId = 'img-library0001';
    const cloud = scriptedCloud(imageId, ['cn-shanghai']);
    const lines: string[] = [];
    const taskQueue = uniqueTaskQueue('imgdel-library');
    const imgdel = await createImgdelWorker({
      config: config(),
      connection,
      cloud,
      taskQueue,
      logger: createLogger({ level: 'INFO', format: 'json', write: (line) => lines.push(line) }),
    });
    expect(imgdel.taskQueue).toBe(taskQueue);
    expect(imgdel.connection).toBe(connection);
    expect(imgdel.workflowSource.kind).toBe('source');
    const running = imgdel.run();
    const { client, connection: clientConnection } = await connectTestClient();
    try {
      const progress: DeletionProgress = await client.workflow.execute(WORKFLOW_TYPE, {
        args: [{ imageId }],
        workflowId: workflowIdFor(imageId),
        taskQueue,
      });
      expect(progress.status).toBe('deleted');
    } finally {
      await clientConnection.close();
    }
    expect(cloud.calls).toContain('deleteImageInRegion cn-shanghai');
    await imgdel.close();
    await running;
    expect(imgdel.worker.getState()).toBe('STOPPED');
    expect(lines.some((line) => JSON.parse(line).message === 'bundled the workflows from source')).toBe(true);
    // Still open: the caller owns it.
    await expect(connection.ensureConnected()).resolves.toBeUndefined();
  });

  it('releases a worker that never ran', async () => {
    const imgdel = await createImgdelWorker({
      config: config(),
      connection,
      cloud: scriptedCloud('img-unused0001', ['cn-shanghai']),
      taskQueue: uniqueTaskQueue('imgdel-unused'),
      logger: createLogger({ level: 'WARN', format: 'json', write: () => undefined }),
    });
    expect(imgdel.worker.getState()).toBe('INITIALIZED');
    await imgdel.close();
    expect(imgdel.worker.getState()).toBe('STOPPED');
  });
});
