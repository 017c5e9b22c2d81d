/**
 * The worker process in development mode (workflows bundled from source) with every
 * observability endpoint on: Prometheus metrics from the Temporal Runtime, /healthz,
 * JSON logs, and a graceful exit on SIGTERM.
 */
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { CLOUD_CALLS_METRIC, CLOUD_CALL_LATENCY_METRIC } from '../../src/observability/cloud-metrics.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { connectTestClient, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';
import { freePort, seedEmulator, seedImage, startWorkerProcess, type WorkerProcess } from './worker-process.js';

const IMAGE_ID = 'img-metrics0001';

let emulator: RunningEmulator;
let worker: WorkerProcess;
let client: Client;
let connection: Connection;
let metricsPort: number;
let healthPort: number;
const taskQueue = uniqueTaskQueue('imgdel-metrics');

async function scrape(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** Sample lines (not # HELP/# TYPE) of one metric for this test's task queue. */
function samples(text: string, metric: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${metric}{`) && line.includes(`task_queue="${taskQueue}"`));
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
  await seedEmulator(emulator.url, [seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId)]);
  metricsPort = await freePort();
  healthPort = await freePort();
  worker = startWorkerProcess({
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: testNamespace(),
    IMGDEL_TASK_QUEUE: taskQueue,
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_METRICS_PORT: String(metricsPort),
    IMGDEL_HEALTH_PORT: String(healthPort),
    IMGDEL_SHUTDOWN_GRACE_MS: '5000',
    // DEBUG shows the SDK's per-activity lines ("Activity started"/"Activity completed").
    IMGDEL_LOG_LEVEL: 'DEBUG',
  });
  ({ client, connection } = await connectTestClient());
  await worker.waitForLog((line) => line.message === 'imgdel worker running');
});

afterAll(async () => {
  await worker?.kill();
  await connection?.close();
  await emulator?.close();
});

describe('worker observability', () => {
  it('bundles the workflows from source in development mode', () => {
    expect(worker.logs.some((line) => line.message === 'bundled the workflows from source')).toBe(true);
    expect(worker.logs.some((line) => line.message === 'loaded the prebuilt workflow bundle')).toBe(false);
  });

  it('writes every log line as one JSON object with time, level and message', () => {
    // Every line on stdout, not only those that parsed: a plain-text line there must fail this.
    const stdoutLines = worker.stdout().split('\n').filter((line) => line.trim() !== '');
    expect(stdoutLines.filter((line) => !isJsonObject(line))).toEqual([]);
    expect(worker.logs.length).toBeGreaterThan(3);
    for (const line of worker.logs) {
      expect(typeof line.time).toBe('string');
      expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
      expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).toContain(line.level);
      expect(typeof line.message).toBe('string');
    }
    // SDK lines (forwarded through the Runtime logger) come out in the same format.
    expect(worker.logs.some((line) => line['sdkComponent'] === 'worker')).toBe(true);
  });

  it('answers /healthz with 200, the worker state and the server reached', async () => {
    const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(response.status).toBe(200);
    // The worker asked the Temporal server, which answered.
    expect(await response.json()).toEqual({ status: 'ok', state: 'RUNNING', temporal: 'reachable' });
  });

  it('exposes the Temporal worker metrics on the Prometheus endpoint', async () => {
    const text = await scrape();
    expect(text.split('\n').filter((line) => line.startsWith('temporal_')).length).toBeGreaterThan(0);
    expect(samples(text, 'temporal_worker_start')).toHaveLength(1);
    expect(samples(text, 'temporal_worker_task_slots_available').length).toBeGreaterThan(0);
  });

  it('counts a completed deletion workflow', async () => {
    const progress: DeletionProgress = await client.workflow.execute(WORKFLOW_TYPE, {
      args: [{ imageId: IMAGE_ID }],
      workflowId: workflowIdFor(IMAGE_ID),
      taskQueue,
    });
    expect(progress.status).toBe('deleted');
    const completed = samples(await scrape(), 'temporal_workflow_completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatch(/workflow_type="deleteImage"/);
    expect(Number(completed[0]?.split(' ').at(-1))).toBe(1);
  });

  it('counts the cloud calls of that deletion by action and outcome, with their latency', async () => {
    const text = await scrape();
    const calls = text.split('\n').filter((line) => line.startsWith(`${CLOUD_CALLS_METRIC}`) && !line.startsWith('#'));
    const deletes = calls.filter((line) => line.includes('action="DeleteImage"') && line.includes('code="ok"'));
    expect(deletes, text.split('\n').filter((line) => line.includes('imgdel_')).join('\n')).toHaveLength(1);
    // One DeleteImage per region of the seeded image.
    expect(Number(deletes[0]?.split(' ').at(-1))).toBe(seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId).regions.length);
    expect(calls.some((line) => line.includes('action="ListImage"'))).toBe(true);
    const latencyCounts = text
      .split('\n')
      .filter((line) => line.startsWith(CLOUD_CALL_LATENCY_METRIC) && line.includes('_count{') && line.includes('action="DeleteImage"'));
    expect(latencyCounts).toHaveLength(1);
    expect(Number(latencyCounts[0]?.split(' ').at(-1))).toBe(Number(deletes[0]?.split(' ').at(-1)));
  });

  it('logs activity lines with the workflow and activity in their fields', async () => {
    const regions = new Set(seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId).regions);
    // A region delete's lines name their region (all but "Activity started", written before its input is read).
    const regionLines = () => worker.logs.filter((line) => line['activityType'] === 'deleteImageInRegion' && line.message !== 'Activity started');
    // The worker's output arrives through a pipe: its last lines may still be on the way.
    for (let waited = 0; waited < 10_000 && new Set(regionLines().map((line) => line['regionId'])).size < regions.size; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const activityLines = worker.logs.filter((line) => line['activityType'] !== undefined);
    expect(activityLines.length).toBeGreaterThan(0);
    expect(activityLines.every((line) => line['workflowId'] === workflowIdFor(IMAGE_ID))).toBe(true);
    expect(activityLines.every((line) => line['imageId'] === IMAGE_ID)).toBe(true);
    expect(new Set(regionLines().map((line) => line['regionId']))).toEqual(regions);
  });

  it('exits 0 on SIGTERM after a graceful shutdown', async () => {
    worker.child.kill('SIGTERM');
    // A worker that never exits fails at the test's timeout.
    expect(await worker.exited).toBe(0);
    expect(worker.logs.some((line) => line.message === 'received SIGTERM: shutting down gracefully')).toBe(true);
    expect(worker.logs.some((line) => line.message === 'Worker state changed' && line['state'] === 'STOPPED')).toBe(true);
    expect(worker.logs.at(-1)?.message).toBe('imgdel worker stopped: shutdown complete');
  });
});

function isJsonObject(line: string): boolean {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}
