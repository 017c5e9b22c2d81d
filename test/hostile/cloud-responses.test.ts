/**
 * Hostile cloud answers: HTTP 200 with a truncated JSON body (`malformed`), HTTP 200 with
 * no body (`empty`), HTTP 500 with an HTML page (`http500-html`). A real worker process
 * must turn each into a classified error (MalformedResponse / HttpServerError), retry it
 * like any transient error, and never crash. Missing and mistyped fields in an answer
 * are covered at the adapter level (test/cloud/adapter.test.ts, zod schemas per action).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, type Client, type Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '../../src/emulator/admin-client.js';
import { emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import { progressQuery, retryUpdate, WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { seedImage } from '../client/fixtures.js';
import { connectTestClient, testTemporalAddress } from '../helpers/temporal.js';
import { startWorkerProcess, type WorkerProcess } from '../worker/worker-process.js';

const HOSTILE = ['malformed', 'empty', 'http500-html'] as const;
/** Every action a deletion calls, with how the fault finds the image's calls. */
const ACTIONS = ['ListImage', 'ListAppInstanceGroup', 'ListWuyingServer', 'DescribeDesktopGroups', 'DescribeTemplates', 'DeleteImage'] as const;

let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let worker: WorkerProcess;
let client: Client;
let connection: Connection;
const taskQueue = `hostile-cloud-${randomUUID()}`;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  admin = new EmulatorAdmin(emulator.url);
  worker = startWorkerProcess({
    TEMPORAL_ADDRESS: testTemporalAddress(),
    IMGDEL_TASK_QUEUE: taskQueue,
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_CLOUD_RATE: '1000',
  });
  await worker.waitForLog((line) => line.message === 'imgdel worker running', 120_000);
  ({ client, connection } = await connectTestClient());
});

afterAll(async () => {
  await worker?.kill();
  await connection?.close();
  await emulator?.close();
});

function start(imageId: string, input: Partial<DeleteImageInput> = {}) {
  return client.workflow.start(WORKFLOW_TYPE, {
    taskQueue,
    workflowId: `delete-image-${imageId}`,
    args: [{ imageId, retryInitialIntervalMs: 20, transientAttempts: 12, ...input }],
  });
}

async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure | undefined> {
  const error = await result.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

function expectWorkerAlive(): void {
  expect(worker.child.exitCode).toBeNull();
  expect(worker.child.signalCode).toBeNull();
  expect(worker.output()).not.toMatch(/uncaught|unhandled/i);
}

describe('malformed, empty and HTML answers from the cloud', () => {
  it('are retried on every step and the deletion still completes', async () => {
    const imageId = await seedImage(admin, { regions: ['cn-hangzhou', 'cn-shanghai'], templates: 2 });
    for (const action of ACTIONS) {
      for (const code of HOSTILE) await admin.addFault({ action, code, imageId, times: 1 });
    }
    for (const code of HOSTILE) await admin.addFault({ action: 'DeleteTemplates', code, times: 1 });
    const handle = await start(imageId);
    const report = (await handle.result()) as DeletionProgress;
    expect(report.status).toBe('deleted');
    expect((await admin.state()).images.some((image) => image.imageId === imageId)).toBe(false);
    const answered = await admin.calls();
    for (const action of [...ACTIONS, 'DeleteTemplates']) {
      const hostileCodes = answered.filter((call) => call.action === action).map((call) => call.code);
      for (const code of HOSTILE) expect(hostileCodes, action).toContain(code);
    }
    // Every fault fired, so some step needed more than one attempt.
    expect((await admin.calls()).filter((call) => call.code !== null).length).toBeGreaterThanOrEqual(HOSTILE.length * (ACTIONS.length + 1));
    expect([...report.regions, ...report.templates].some((step) => step.attempts > 1)).toBe(true);
    expectWorkerAlive();
  });

  it('a region that only answers HTML error pages parks with HttpServerError, and a retry finishes it', async () => {
    const imageId = await seedImage(admin, { regions: ['cn-beijing', 'cn-shanghai'], templates: 0 });
    await admin.addFault({ action: 'DeleteImage', code: 'http500-html', imageId, regionId: 'cn-shanghai', times: -1 });
    const handle = await start(imageId, { regionConcurrency: 1, transientAttempts: 3 });
    let progress: DeletionProgress = await handle.query(progressQuery);
    while (progress.status !== 'awaiting-retry') {
      expect(progress.status).toBe('running');
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await handle.query(progressQuery);
    }
    const parkedRegion = progress.regions.find((region) => region.regionId === 'cn-shanghai');
    expect(parkedRegion?.status).toBe('failed');
    expect(parkedRegion?.lastError?.code).toBe('HttpServerError');
    expect(parkedRegion?.lastError?.message).toMatch(/delete image .* in cn-shanghai failed with HttpServerError/);
    expectWorkerAlive();
    await admin.clearFaults();
    await handle.executeUpdate(retryUpdate);
    expect(((await handle.result()) as DeletionProgress).status).toBe('deleted');
  });

  it('a validation read that only answers truncated JSON fails as MalformedResponse and changes nothing', async () => {
    const imageId = await seedImage(admin, { regions: ['cn-hangzhou'], templates: 1 });
    await admin.addFault({ action: 'ListImage', code: 'malformed', imageId, times: -1 });
    const failure = await failureOf((await start(imageId, { transientAttempts: 3 })).result());
    await admin.clearFaults();
    expect(failure?.type).toBe('MalformedResponse');
    expect(failure?.message).toMatch(/validate image .* failed with MalformedResponse/);
    const state = await admin.state();
    expect(state.images.find((image) => image.imageId === imageId)?.regions).toEqual(['cn-hangzhou']);
    expect(state.templates.filter((template) => template.imageId === imageId)).toHaveLength(1);
    expectWorkerAlive();
  });

  it('a template list that only answers empty bodies fails as MalformedResponse and changes nothing', async () => {
    const imageId = await seedImage(admin, { regions: ['cn-hangzhou'], templates: 2 });
    await admin.addFault({ action: 'DescribeTemplates', code: 'empty', imageId, times: -1 });
    const failure = await failureOf((await start(imageId, { transientAttempts: 3 })).result());
    await admin.clearFaults();
    expect(failure?.type).toBe('MalformedResponse');
    const state = await admin.state();
    expect(state.images.some((image) => image.imageId === imageId)).toBe(true);
    expect(state.templates.filter((template) => template.imageId === imageId)).toHaveLength(2);
    expect((await admin.calls()).some((call) => call.action === 'DeleteImage' && call.params['ImageId'] === imageId)).toBe(false);
    expectWorkerAlive();
  });
});
