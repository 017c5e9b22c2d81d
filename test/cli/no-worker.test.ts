/**
 * With no worker on the deletion's task queue, retry, abandon and delete --wait give up after
 * --worker-timeout (exit 5) and say which task queue is silent, instead of waiting forever.
 * Real test server, a task queue nobody polls.
 */
import { randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImgdelClient, deletionStartOptions } from '../../src/client/client.js';
import { NoWorkerAnsweredError } from '../../src/client/errors.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { imgdel, uniqueImageId } from '../client/fixtures.js';
import { connectTestClient, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';

const taskQueue = uniqueTaskQueue('imgdel-no-worker');
const env = { TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: testNamespace(), IMGDEL_TASK_QUEUE: taskQueue };
let client: Client;
let connection: Connection;
const started: string[] = [];

/** A deletion started on the silent task queue, as the client would start it. */
async function startUnattended(): Promise<string> {
  const imageId = uniqueImageId();
  const options = deletionStartOptions({ imageId, requestedBy: 'no-worker test' }, taskQueue, randomUUID());
  await client.workflow.start(WORKFLOW_TYPE, options);
  started.push(options.workflowId);
  return imageId;
}

beforeAll(async () => {
  ({ client, connection } = await connectTestClient());
});

afterAll(async () => {
  for (const workflowId of started) {
    await client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
  }
  await connection?.close();
});

describe('no worker on the task queue', () => {
  it('retry gives up after --worker-timeout with exit 5, naming the task queue', async () => {
    const imageId = await startUnattended();
    const run = await imgdel(['retry', imageId, '--worker-timeout', '1.5'], env);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`no worker answered on task queue ${taskQueue} within 1.5 s`);
  });

  it('abandon --json gives up with exit 5 and error code NoWorkerAnswered', async () => {
    const imageId = await startUnattended();
    const run = await imgdel(['abandon', imageId, '--json', '--worker-timeout', '1.5'], env);
    expect(run.code).toBe(5);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'NoWorkerAnswered' } });
  });

  it('delete --wait gives up once no worker has answered for --worker-timeout', async () => {
    const imageId = uniqueImageId();
    started.push(`delete-image-${imageId}`);
    const run = await imgdel(['delete', imageId, '--wait', '--worker-timeout', '1'], env);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain(`no worker answered on task queue ${taskQueue}`);
  });

  it('the client functions take the deadline as an option', async () => {
    const imageId = await startUnattended();
    const imgdelClient = createImgdelClient({ env, workerTimeoutMs: 60_000 });
    try {
      await expect(imgdelClient.retry(imageId, { workerTimeoutMs: 1_000 })).rejects.toBeInstanceOf(NoWorkerAnsweredError);
      await expect(imgdelClient.abandon(imageId, 'test', { workerTimeoutMs: 1_000 })).rejects.toBeInstanceOf(NoWorkerAnsweredError);
    } finally {
      await imgdelClient.close();
    }
  });

  it('refuses a --worker-timeout that is not a positive number (exit 2)', async () => {
    expect((await imgdel(['retry', 'img-a1b2c3d4', '--worker-timeout', '0'], env)).code).toBe(2);
    expect((await imgdel(['retry', 'img-a1b2c3d4', '--worker-timeout', 'soon'], env)).code).toBe(2);
    // Beyond a day grpc-js would refuse the deadline; it is a usage error instead.
    expect((await imgdel(['retry', 'img-a1b2c3d4', '--worker-timeout', '86401'], env)).code).toBe(2);
    expect((await imgdel(['retry', 'img-a1b2c3d4', '--worker-timeout', '1e12'], env)).code).toBe(2);
  });
});
