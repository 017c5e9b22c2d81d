/**
 * Production mode end to end: the workflow bundle prebuilt with bundleWorkflowCode, a worker
 * process started as the container starts it (NODE_ENV=production, IMGDEL_WORKFLOW_BUNDLE),
 * the emulator as the cloud, and a real deletion through the test Temporal server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CLOUD_ACTIONS } from '../../src/cloud/actions.js';
import { buildWorkflowBundle } from '../../src/dev/build-bundle.js';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { connectTestClient, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';
import {
  emulatorImageIds,
  freePort,
  PROJECT_ROOT,
  seedEmulator,
  seedImage,
  startWorkerProcess,
  type WorkerProcess,
} from '../worker/worker-process.js';

const IMAGE_ID = 'img-prod0001';
const ramPolicySchema = z.object({ Statement: z.array(z.object({ Effect: z.literal('Allow'), Action: z.array(z.string()) })) });
const callsSchema = z.array(z.object({ action: z.string() }));
const GRACE_MS = 5_000;

let directory: string;
let bundlePath: string;
let emulator: RunningEmulator;
let worker: WorkerProcess;
let client: Client;
let connection: Connection;
let healthPort: number;
const taskQueue = uniqueTaskQueue('imgdel-production');

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'imgdel-bundle-'));
  ({ codePath: bundlePath } = await buildWorkflowBundle({
    outputPath: join(directory, 'workflow-bundle.js'),
    logger: createLogger({ level: 'WARN', format: 'pretty', write: (line) => process.stderr.write(line) }),
  }));
  emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
  await seedEmulator(emulator.url, [seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId)]);
  healthPort = await freePort();
  worker = startWorkerProcess({
    NODE_ENV: 'production',
    IMGDEL_WORKFLOW_BUNDLE: bundlePath,
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: testNamespace(),
    IMGDEL_TASK_QUEUE: taskQueue,
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_HEALTH_PORT: String(healthPort),
    IMGDEL_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    IMGDEL_LOG_FORMAT: 'json',
  });
  ({ client, connection } = await connectTestClient());
  await worker.waitForLog((line) => line.message === 'imgdel worker running');
});

afterAll(async () => {
  await worker?.kill();
  await connection?.close();
  await emulator?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('the production worker', () => {
  it('loads the prebuilt bundle instead of bundling the source', () => {
    const loaded = worker.logs.find((line) => line.message === 'loaded the prebuilt workflow bundle');
    expect(loaded?.['workflowBundle']).toBe(bundlePath);
    expect(worker.logs.some((line) => line.message === 'bundled the workflows from source')).toBe(false);
    expect(worker.logs.find((line) => line.message === 'imgdel worker running')?.['workflowSource']).toBe('bundle');
  });

  it('shares zod across workflows: the bundle preloads src/workflows/shared-modules.ts', () => {
    const code = readFileSync(bundlePath, 'utf8');
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    expect(preload).toContain('"./src/workflows/shared-modules.ts"');
  });

  it('logs its effective configuration without the secrets', () => {
    const starting = worker.logs.find((line) => line.message === 'imgdel worker starting');
    expect(starting?.['config']).toMatchObject({ taskQueue, worker: { production: true, workflowBundlePath: bundlePath } });
    expect(JSON.stringify(starting)).toContain('[redacted]');
    expect(worker.output()).not.toContain(EMULATOR_DEFAULTS.accessKeySecret);
  });

  it('answers /healthz while running', async () => {
    const response = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', state: 'RUNNING', temporal: 'reachable' });
  });

  it('serves a deletion', async () => {
    const progress: DeletionProgress = await client.workflow.execute(WORKFLOW_TYPE, {
      args: [{ imageId: IMAGE_ID }],
      workflowId: workflowIdFor(IMAGE_ID),
      taskQueue,
    });
    expect(progress.status).toBe('deleted');
    expect(progress.imageId).toBe(IMAGE_ID);
    expect(progress.regions.map((region) => region.status)).toEqual(['deleted', 'deleted']);
    expect(await emulatorImageIds(emulator.url)).not.toContain(IMAGE_ID);
  });

  it('calls only actions the RAM policy in deploy/ allows', async () => {
    const policy = ramPolicySchema.parse(JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'deploy/ram-policy.json'), 'utf8')));
    const allowed = new Set(policy.Statement.flatMap((statement) => statement.Action).map((action) => action.split(':')[1]));
    const calls = callsSchema.parse(await (await fetch(`${emulator.url}/_emulator/calls`)).json());
    const called = new Set(calls.map((call) => call.action));
    expect(called).toContain('DeleteImage');
    for (const action of called) expect(allowed, `deploy/ram-policy.json lacks ${action}`).toContain(action);
    // The list IMGDEL_CLOUD_RATE_LIMITS is checked against (and the adapter's calls are typed by) is the policy's.
    expect([...allowed].sort()).toEqual([...CLOUD_ACTIONS].sort());
  });

  it('shuts down gracefully on SIGTERM: exit status 0 and a shutdown log', async () => {
    worker.child.kill('SIGTERM');
    // A worker that never exits fails at the test's timeout.
    expect(await worker.exited).toBe(0);
    expect(worker.logs.some((line) => line.message === 'received SIGTERM: shutting down gracefully')).toBe(true);
    expect(worker.logs.some((line) => line.message === 'imgdel worker stopped: shutdown complete')).toBe(true);
  });
});
