/**
 * The worker's access key secret never leaves it: a real worker process runs deletions
 * that succeed, compensate, get rejected and park, with a recognisable secret, and the
 * secret appears in none of its output, none of the workflow histories (payloads
 * decoded), no query answer, no failure, and not in the emulator's call log.
 *
 * Signatures: the emulator's refusal of unsigned and badly signed requests is tested at
 * the HTTP level in test/emulator/signature.test.ts; here a worker holding the wrong
 * secret is refused too (SignatureDoesNotMatch), changes nothing, and leaks neither secret.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, type Client, type Connection, type WorkflowHandle, WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '../../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import { abandonUpdate, progressQuery, WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { seedImage } from '../client/fixtures.js';
import { connectTestClient, testTemporalAddress } from '../helpers/temporal.js';
import { startWorkerProcess, type WorkerProcess } from '../worker/worker-process.js';

const SECRET = `imgdel-canary-secret-${randomUUID()}`;
const WRONG_SECRET = `imgdel-wrong-secret-${randomUUID()}`;

let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let worker: WorkerProcess;
let wrongWorker: WorkerProcess;
let client: Client;
let connection: Connection;
const taskQueue = `security-secret-${randomUUID()}`;
const wrongQueue = `security-wrong-secret-${randomUUID()}`;
const handles: WorkflowHandle[] = [];

function workerEnv(queue: string, secret: string): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    IMGDEL_TASK_QUEUE: queue,
    IMGDEL_CLOUD_ENDPOINT: emulator.endpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret,
    IMGDEL_ACCOUNT_ID: EMULATOR_DEFAULTS.accountId,
    IMGDEL_CLOUD_RATE: '1000',
    // The most talkative level: the more it prints, the more a leak would show.
    IMGDEL_LOG_LEVEL: 'DEBUG',
  };
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, accessKeySecret: SECRET });
  admin = new EmulatorAdmin(emulator.url);
  worker = startWorkerProcess(workerEnv(taskQueue, SECRET));
  wrongWorker = startWorkerProcess(workerEnv(wrongQueue, WRONG_SECRET));
  const running = (line: { message?: string }) => line.message === 'imgdel worker running';
  await Promise.all([worker.waitForLog(running, 120_000), wrongWorker.waitForLog(running, 120_000)]);
  ({ client, connection } = await connectTestClient());
});

afterAll(async () => {
  await worker?.kill();
  await wrongWorker?.kill();
  await connection?.close();
  await emulator?.close();
});

async function start(queue: string, imageId: string, input: Partial<DeleteImageInput> = {}): Promise<WorkflowHandle> {
  const handle = await client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: queue,
    workflowId: `delete-image-${imageId}`,
    args: [{ imageId, retryInitialIntervalMs: 20, transientAttempts: 2, templateAttempts: 2, ...input }],
  });
  handles.push(handle);
  return handle;
}

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure | undefined> {
  const error = await handle.result().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** A history as text with every payload decoded (its JSON form keeps payload data base64). */
async function decodedHistory(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  return JSON.stringify(history, (key, value: unknown) =>
    key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
  );
}

function expectNoSecretIn(text: string, where: string): void {
  for (const secret of [SECRET, WRONG_SECRET]) {
    expect(text.includes(secret), `${where} contains a secret`).toBe(false);
    expect(text.includes(encodeURIComponent(secret)), `${where} contains a URL-encoded secret`).toBe(false);
  }
}

describe('the access key secret stays inside the worker', () => {
  it('runs deletions that end every way, with a recognisable secret', async () => {
    const deleted = await seedImage(admin, { regions: ['cn-hangzhou', 'cn-shanghai'], templates: 2 });
    await admin.addFault({ action: 'DeleteImage', code: 'InternalError', imageId: deleted, times: 1 });
    expect(((await (await start(taskQueue, deleted)).result()) as DeletionProgress).status).toBe('deleted');

    const compensated = await seedImage(admin, { regions: ['cn-hangzhou'], templates: 2 });
    await admin.addFault({ action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: `b-${compensated.slice(4)}1`, times: -1 });
    expect((await failureOf(await start(taskQueue, compensated, { regionConcurrency: 1 })))?.type).toBe('Compensated');

    const rejected = await seedImage(admin, { regions: ['cn-hangzhou'], inUse: true });
    expect((await failureOf(await start(taskQueue, rejected)))?.type).toBe('ImageNotAllowDelete');

    const parked = await seedImage(admin, { regions: ['cn-beijing', 'cn-shanghai'], templates: 0 });
    await admin.addFault({ action: 'DeleteImage', code: 'ServiceUnavailable', imageId: parked, regionId: 'cn-shanghai', times: -1 });
    const parkedHandle = await start(taskQueue, parked, { regionConcurrency: 1 });
    let progress = await parkedHandle.query(progressQuery);
    while (progress.status !== 'awaiting-retry') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await parkedHandle.query(progressQuery);
    }
    expectNoSecretIn(JSON.stringify(progress), 'the progress of a parked deletion');
    await parkedHandle.executeUpdate(abandonUpdate, { args: [{ reason: 'security test' }] });
    const abandoned = await failureOf(parkedHandle);
    expect(abandoned?.type).toBe('Abandoned');
    expectNoSecretIn(JSON.stringify(abandoned?.details ?? []), 'the abandoned failure details');
    await admin.clearFaults();
  });

  it('a worker holding the wrong secret is refused by signature, changes nothing, and leaks neither secret', async () => {
    const imageId = await seedImage(admin, { regions: ['cn-hangzhou'], templates: 1 });
    const failure = await failureOf(await start(wrongQueue, imageId));
    expect(failure?.type).toBe('SignatureDoesNotMatch');
    expect(failure?.message).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
    const state = await admin.state();
    expect(state.images.find((image) => image.imageId === imageId)?.regions).toEqual(['cn-hangzhou']);
    expect(state.templates.filter((template) => template.imageId === imageId)).toHaveLength(1);
    expect((await admin.calls()).some((call) => call.code === 'SignatureDoesNotMatch')).toBe(true);
  });

  it('appears in no worker output line', () => {
    const output = `${worker.output()}\n${wrongWorker.output()}`;
    // The output is there to search: both workers logged their start and their work.
    expect(worker.logs.length).toBeGreaterThan(5);
    expect(wrongWorker.logs.some((line) => line.message === 'imgdel worker running')).toBe(true);
    expectNoSecretIn(output, 'the worker output');
  });

  it('appears in no workflow history, description or result', async () => {
    expect(handles.length).toBe(5);
    for (const handle of handles) {
      const decoded = await decodedHistory(handle);
      // The payloads really are decoded: the workflow input's fields are readable.
      expect(decoded).toContain('retryInitialIntervalMs');
      expectNoSecretIn(decoded, `the history of ${handle.workflowId}`);
      expectNoSecretIn(historyToJSON(await handle.fetchHistory()), `the JSON history of ${handle.workflowId}`);
      const description = await handle.describe();
      expectNoSecretIn(JSON.stringify(description.raw), `the description of ${handle.workflowId}`);
      const ended = await handle.result().then(
        (result: unknown) => JSON.stringify(result),
        (error: unknown) => JSON.stringify(error instanceof WorkflowFailedError ? { message: error.cause?.message, cause: error.cause } : String(error)),
      );
      expectNoSecretIn(ended, `the result of ${handle.workflowId}`);
    }
  });

  it('appears nowhere in what the emulator recorded of the calls', async () => {
    const calls = await admin.calls();
    expect(calls.length).toBeGreaterThan(10);
    expectNoSecretIn(JSON.stringify(calls), 'the emulator call log');
  });
});
