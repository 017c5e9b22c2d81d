/**
 * Shutdown with an activity in flight, its cloud call a minute away (the emulator answers slowly):
 * - the first SIGTERM starts a graceful shutdown (the worker waits for running activities), a
 *   second SIGTERM exits at once;
 * - once the grace time has passed, Temporal cancels the running activities (WORKER_SHUTDOWN) and
 *   their cloud calls are abandoned on the wire, so the worker stops then instead of waiting for
 *   the answer, and the attempt fails for the server to retry elsewhere.
 */
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { ABANDONED_AT_SHUTDOWN_MESSAGE } from '../../src/observability/shutdown-log.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { connectTestClient, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';
import { seedEmulator, seedImage, startWorkerProcess, type WorkerProcess } from './worker-process.js';

interface SlowDeletion {
  worker: WorkerProcess;
  handle: WorkflowHandle;
}

let emulator: RunningEmulator;
let client: Client;
let connection: Connection;
const started: SlowDeletion[] = [];

beforeAll(async () => {
  // Every cloud call takes a minute: the first activity is still running when the signals come.
  emulator = await startEmulator({ port: 0, host: '127.0.0.1', latencyMs: 60_000 });
  ({ client, connection } = await connectTestClient());
});

afterAll(async () => {
  for (const { worker, handle } of started) {
    await worker.kill();
    await handle.terminate('test cleanup').catch(() => undefined);
  }
  await connection?.close();
  await emulator?.close();
});

/** A worker process of its own and a deletion on it, once its first activity has started. */
async function slowDeletion(imageId: string, workerEnv: Record<string, string>): Promise<SlowDeletion> {
  await seedEmulator(emulator.url, [seedImage(imageId, EMULATOR_DEFAULTS.accountId)]);
  const worker = startWorkerProcess({
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: testNamespace(),
    IMGDEL_TASK_QUEUE: uniqueTaskQueue('imgdel-shutdown'),
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_LOG_LEVEL: 'DEBUG',
    ...workerEnv,
  });
  const running = await worker.waitForLog((line) => line.message === 'imgdel worker running');
  const handle = await client.workflow.start(WORKFLOW_TYPE, {
    args: [{ imageId }],
    workflowId: workflowIdFor(imageId),
    taskQueue: String(running['taskQueue']),
    workflowIdConflictPolicy: 'TERMINATE_EXISTING',
  });
  started.push({ worker, handle });
  await worker.waitForLog((line) => line.message === 'Activity started' && line['imageId'] === imageId);
  return { worker, handle };
}

describe('worker shutdown with an activity in flight', () => {
  it('waits for running activities on the first SIGTERM and exits at once on the second', async () => {
    const { worker } = await slowDeletion('img-shutdown0001', { IMGDEL_SHUTDOWN_GRACE_MS: '600000' });
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

  it('takes a signal relayed a moment after the first (npm relaying the terminal\'s Ctrl-C) for that one, and drains', async () => {
    const { worker } = await slowDeletion('img-shutdown0003', {
      IMGDEL_SHUTDOWN_GRACE_MS: '1000',
      IMGDEL_CLOUD_READ_TIMEOUT_MS: '600000',
    });
    // The terminal's SIGINT, then npm's copy of it 20 ms later (two signals, not one merged by the kernel).
    worker.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 20));
    worker.child.kill('SIGINT');
    expect(await worker.exited, worker.output()).toBe(0);
    expect(worker.logs.some((line) => line.message === 'imgdel worker stopped: shutdown complete')).toBe(true);
    expect(worker.logs.some((line) => line.message?.startsWith('received SIGINT again: exiting now') === true)).toBe(false);
    expect(worker.logs.some((line) => line.message?.startsWith('received SIGINT again within') === true)).toBe(true);
  });

  it('abandons the cloud call once the grace time has passed, fails the attempt and exits cleanly', async () => {
    const { worker, handle } = await slowDeletion('img-shutdown0002', {
      IMGDEL_SHUTDOWN_GRACE_MS: '1000',
      // Longer than the test's own timeout: only abandoning the call lets the worker stop in time.
      IMGDEL_CLOUD_READ_TIMEOUT_MS: '600000',
    });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.logs.some((line) => line.message === 'imgdel worker stopped: shutdown complete')).toBe(true);
    expect(worker.logs.some((line) => line.level === 'ERROR')).toBe(false);
    // Visible at the default level: the SDK itself says so only at DEBUG.
    const abandoned = worker.logs.filter((line) => line.message === ABANDONED_AT_SHUTDOWN_MESSAGE);
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatchObject({ level: 'WARN', imageId: 'img-shutdown0002', workflowId: workflowIdFor('img-shutdown0002') });
    // The attempt ended as failed, not timed out: the server retries it at once on another worker.
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    expect(pending).toHaveLength(1);
    expect(pending[0]?.attempt).toBe(2);
    expect(pending[0]?.lastFailure?.message).toMatch(/^Worker is shutting down/);
  });
});
