/**
 * --wait when a worker does answer the progress query, but not with a report imgdel can show:
 * that is not "no worker answered" (exit 5 after the worker timeout), it is said at once for what
 * it is (exit 6: the query failed on the worker, or the report is from a newer worker). The
 * worker timeout given (600 s) is longer than a test may run, so waiting it out would fail the test.
 * Real test server; the worker runs an impostor deleteImage (test/client/impostor/workflows.ts).
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletionStartOptions } from '../../src/client/client.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { imgdel, uniqueImageId } from './fixtures.js';
import { connectTestClient, createTestNativeConnection, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';

const taskQueue = uniqueTaskQueue('imgdel-progress-query');
const env = { TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: testNamespace(), IMGDEL_TASK_QUEUE: taskQueue };
let client: Client;
let connection: Connection;
let workerConnection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
const started: string[] = [];

async function startImpostor(reason: string, dryRun = false): Promise<string> {
  const imageId = uniqueImageId();
  const options = deletionStartOptions({ imageId, reason, requestedBy: 'progress-query test', dryRun }, taskQueue, randomUUID());
  await client.workflow.start(WORKFLOW_TYPE, options);
  started.push(options.workflowId);
  return imageId;
}

beforeAll(async () => {
  ({ client, connection } = await connectTestClient());
  workerConnection = await createTestNativeConnection();
  worker = await Worker.create({
    connection: workerConnection,
    namespace: testNamespace(),
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./impostor/workflows.ts', import.meta.url)),
  });
  workerRun = worker.run();
}, 60_000);

afterAll(async () => {
  for (const workflowId of started) {
    await client.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
  }
  worker?.shutdown();
  await workerRun;
  await workerConnection?.close();
  await connection?.close();
});

describe('a worker answers the progress query, but not with a readable report', () => {
  it('a report from a newer worker (unknown phase): exit 6 at once, not exit 5 after the worker timeout', async () => {
    const imageId = await startImpostor('newer-worker');
    const run = await imgdel(['delete', imageId, '--wait', '--worker-timeout', '600'], env);
    expect(run.code, run.stderr).toBe(6);
    expect(run.stderr).toContain('cannot read');
    expect(run.stderr).toContain('phase');
    expect(run.stderr).not.toContain('no worker answered');
  });

  it('a query that fails on the worker: exit 6 with the worker\'s error, well before the worker timeout', async () => {
    const imageId = await startImpostor('failing-query');
    const run = await imgdel(['delete', imageId, '--wait', '--json', '--worker-timeout', '600'], env);
    expect(run.code, run.stderr).toBe(6);
    const printed: unknown = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ error: { code: 'ProgressQueryFailed' } });
    expect(JSON.stringify(printed)).toContain('impostor: this worker cannot answer');
  });

  it('a completed run whose report cannot be read: a dry run shows as planned, never as deleted, and both say why', async () => {
    for (const [dryRun, status] of [
      [true, 'planned'],
      [false, 'deleted'],
    ] as const) {
      const imageId = await startImpostor('completes-unreadable', dryRun);
      await client.workflow.getHandle(`delete-image-${imageId}${dryRun ? '-dry-run' : ''}`).result();
      const run = await imgdel(['status', imageId, '--json', ...(dryRun ? ['--dry-run'] : [])], env);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ status, details: expect.stringContaining('cannot read its report') });
    }
  });

  it('imgdel status says the progress cannot be shown, and why', async () => {
    const imageId = await startImpostor('failing-query');
    const run = await imgdel(['status', imageId, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'running' });
    expect(run.stdout).toContain('impostor: this worker cannot answer');
  });
});
