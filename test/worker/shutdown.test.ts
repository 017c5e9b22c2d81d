/**
 * Shutdown with an activity in flight: the first SIGTERM starts a graceful shutdown (the worker
 * waits for running activities), a second SIGTERM exits at once. The emulator answers slowly
 * so that an activity is still running when the signals arrive.
 */
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { connectTestClient, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';
import { seedEmulator, seedImage, startWorkerProcess, type WorkerProcess } from './worker-process.js';

const IMAGE_ID = 'img-shutdown0001';

let emulator: RunningEmulator;
let worker: WorkerProcess;
let client: Client;
let connection: Connection;
let handle: WorkflowHandle | undefined;

beforeAll(async () => {
  // Every cloud call takes a minute: the first activity is still running when the signals come.
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', latencyMs: 60_000 });
  await seedEmulator(emulator.url, [seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId)]);
  worker = startWorkerProcess({
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: testNamespace(),
    IMGDEL_TASK_QUEUE: uniqueTaskQueue('imgdel-shutdown'),
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_SHUTDOWN_GRACE_MS: '600000',
    IMGDEL_LOG_LEVEL: 'DEBUG',
  });
  ({ client, connection } = await connectTestClient());
  const running = await worker.waitForLog((line) => line.message === 'imgdel worker running');
  handle = await client.workflow.start(WORKFLOW_TYPE, {
    args: [{ imageId: IMAGE_ID }],
    workflowId: workflowIdFor(IMAGE_ID),
    taskQueue: String(running['taskQueue']),
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
  });
});

afterAll(async () => {
  await worker?.kill();
  await handle?.terminate('test cleanup').catch(() => undefined);
  await connection?.close();
  await emulator?.close();
});

describe('worker shutdown with an activity in flight', () => {
  it('waits for running activities on the first SIGTERM and exits at once on the second', async () => {
    await worker.waitForLog((line) => line.message === 'Activity started' && line['imageId'] === IMAGE_ID);
    worker.child.kill('SIGTERM');
    await worker.waitForLog((line) => line.message === 'received SIGTERM: shutting down gracefully');
    // Draining: the activity is still running (its cloud call takes a minute), so the worker has not exited.
    await worker.waitForLog((line) => line.message === 'Worker state changed' && line['state'] === 'DRAINING');
    // Still draining two seconds on: a worker that did not wait for its activity would have ended by now.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(worker.child.exitCode).toBeNull();
    expect(worker.logs.some((line) => line.message === 'imgdel worker stopped: shutdown complete')).toBe(false);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(128 + 15);
    expect(worker.logs.some((line) => line.message?.startsWith('received SIGTERM again: exiting now') === true)).toBe(true);
  });
});
