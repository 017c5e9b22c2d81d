/**
 * What an activity's cancellation does to the cloud call it is waiting for: a read is abandoned
 * whatever the reason; a write is abandoned when its attempt is given up (a worker shutting
 * down), but not when the workflow asked for the cancellation, which needs the write's answer;
 * unless it has not been sent yet, when nothing can land.
 */
import { CancelledFailure } from '@temporalio/activity';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities, type ActivityOptions, type ImgdelActivities } from '../../src/activities/index.js';
import { createAlibabaCloudAdapter } from '../../src/cloud/alibaba-adapter.js';
import { EmulatorAdmin } from '../../src/emulator/admin-client.js';
import type { CallOptions, CloudImage, CloudPort } from '../../src/cloud/port.js';
import { loadConfig } from '../../src/config.js';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator } from '../../src/emulator/server.js';
import { seedImage } from '../worker/worker-process.js';

const ACCOUNT = '1234567890123456';
const IMAGE_ID = 'img-cancel00001';

interface HeldCall {
  name: string;
  signal: AbortSignal | undefined;
  answer: (value: unknown) => void;
}

/** A cloud whose every call waits until the test answers it, or until its signal aborts (as the adapter's calls do). */
function heldCloud() {
  const held: HeldCall[] = [];
  const hold = <T>(name: string, options: CallOptions | undefined) =>
    new Promise<T>((resolve, reject) => {
      const signal = options?.signal;
      held.push({ name, signal, answer: (value) => resolve(value as T) });
      if (signal?.aborted) reject(signal.reason);
      else signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  const cloud: CloudPort = {
    getImage: (_imageId, options) => hold<CloudImage>('getImage', options),
    imageRegions: (_imageId, options) => hold<string[]>('imageRegions', options),
    listImageUsages: (_imageId, _source, options) => hold('listImageUsages', options),
    listTemplates: (_imageId, options) => hold('listTemplates', options),
    deleteTemplate: (_templateId, options) => hold('deleteTemplate', options),
    recreateTemplate: (_snapshot, _claimed, options) => hold('recreateTemplate', options),
    deleteImageInRegion: (_imageId, _regionId, options) => hold('deleteImageInRegion', options),
    isImageGoneFromRegion: (_imageId, _regionId, options) => hold<boolean>('isImageGoneFromRegion', options),
  };
  return { cloud, held };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const WORKFLOW_CANCEL = new ActivityCancellationDetails({ cancelRequested: true });
const WORKER_SHUTDOWN = new ActivityCancellationDetails({ workerShutdown: true });

/**
 * Runs one activity on a held cloud and, once its first cloud call is on the wire, cancels it:
 * as the workflow asks (CANCELLED) or as a worker shutting down does (WORKER_SHUTDOWN).
 */
async function cancelledOnTheWire<T>(
  run: (activities: ImgdelActivities, env: MockActivityEnvironment) => Promise<T>,
  reason: 'CANCELLED' | 'WORKER_SHUTDOWN',
  options: Partial<ActivityOptions> = {},
) {
  const { cloud, held } = heldCloud();
  const env = new MockActivityEnvironment();
  const running = run(createActivities(cloud, { accountId: ACCOUNT, ...options }), env);
  await until(() => held.length === 1);
  env.cancel(reason, reason === 'CANCELLED' ? WORKFLOW_CANCEL : WORKER_SHUTDOWN);
  return { held, running };
}

const deleteTemplate = (activities: ImgdelActivities, env: MockActivityEnvironment) =>
  env.run(activities.deleteTemplate, { templateId: 't-1', templateName: 'tpl', attemptBudget: 3 });
const deleteRegion = (activities: ImgdelActivities, env: MockActivityEnvironment) =>
  env.run(activities.deleteImageInRegion, { imageId: IMAGE_ID, regionId: 'cn-shanghai', attemptBudget: 3 });

describe('an activity cancelled while its cloud call is on the wire', () => {
  it('abandons a read at once when the workflow cancels', async () => {
    const { held, running } = await cancelledOnTheWire(
      (activities, env) => env.run(activities.validateImage, { imageId: IMAGE_ID, allowCreating: false }),
      'CANCELLED',
    );
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });

  it('waits for a template delete when the workflow cancels, and reports what it answered', async () => {
    const { held, running } = await cancelledOnTheWire(deleteTemplate, 'CANCELLED');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held[0]?.signal?.aborted).toBe(false);
    held[0]?.answer({ requestId: 'req-delete-t-1' });
    await expect(running).resolves.toMatchObject({ outcome: 'deleted', requestId: 'req-delete-t-1' });
  });

  it('abandons a template delete when the worker shuts down: the attempt fails and its retry asks again', async () => {
    const { held, running } = await cancelledOnTheWire(deleteTemplate, 'WORKER_SHUTDOWN');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });

  it('reports a region deleted when the workflow cancels it mid-delete: the delete is waited for, its confirmation not', async () => {
    const { held, running } = await cancelledOnTheWire(deleteRegion, 'CANCELLED', { confirmPollMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held[0]?.signal?.aborted).toBe(false);
    held[0]?.answer({ requestId: 'req-delete-region' });
    // The cloud accepted the delete: past the point of no return, whatever the confirmation would say.
    await expect(running).resolves.toMatchObject({ outcome: 'deleted', requestId: 'req-delete-region' });
    expect(held.map((call) => call.name)).toEqual(['deleteImageInRegion', 'isImageGoneFromRegion']);
    expect(held[1]?.signal?.aborted).toBe(true);
  });

  it('abandons a region delete when the worker shuts down', async () => {
    const { held, running } = await cancelledOnTheWire(deleteRegion, 'WORKER_SHUTDOWN');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });
});

describe('a write still waiting for the rate limiter', () => {
  it('is dropped when the workflow cancels: it never goes out, and the attempt ends cancelled', async () => {
    const emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    try {
      const admin = new EmulatorAdmin(emulator.url);
      const seeded = await fetch(`${emulator.url}/_emulator/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ images: [{ ...seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId), regions: ['cn-shanghai', 'cn-hangzhou'] }] }),
      });
      expect(seeded.ok).toBe(true);
      // One DeleteImage a second: the first goes at once, the second waits about a second.
      const config = loadConfig({ ...emulatorCloudEnv(emulator.endpoint), IMGDEL_CLOUD_RATE_LIMITS: 'DeleteImage=1' });
      const activities = createActivities(createAlibabaCloudAdapter(config.cloud), { accountId: EMULATOR_DEFAULTS.accountId, confirmPollMs: 10 });
      const deleteIn = (regionId: string, env: MockActivityEnvironment) =>
        env.run(activities.deleteImageInRegion, { imageId: IMAGE_ID, regionId, attemptBudget: 3 });
      await expect(deleteIn('cn-shanghai', new MockActivityEnvironment())).resolves.toMatchObject({ outcome: 'deleted' });
      const waiting = new MockActivityEnvironment();
      const second = deleteIn('cn-hangzhou', waiting);
      await new Promise((resolve) => setTimeout(resolve, 100));
      waiting.cancel('CANCELLED', WORKFLOW_CANCEL);
      await expect(second).rejects.toBeInstanceOf(CancelledFailure);
      // Well past the limiter's second: the dropped delete never reached the cloud.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const deletes = (await admin.calls()).filter((call) => call.action === 'DeleteImage');
      expect(deletes.map((call) => call.params['BizRegionId'])).toEqual(['cn-shanghai']);
    } finally {
      await emulator.close();
    }
  });
});

describe('an activity whose cloud calls all listen to its cancellation', () => {
  it('checks the usage of an image in 12 regions without a listener-leak warning', async () => {
    const emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const regions = Array.from({ length: 12 }, (_, index) => `cn-region-${index + 1}`);
      const seeded = await fetch(`${emulator.url}/_emulator/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ images: [{ ...seedImage(IMAGE_ID, EMULATOR_DEFAULTS.accountId), regions }] }),
      });
      expect(seeded.ok).toBe(true);
      const cloud = createAlibabaCloudAdapter(loadConfig(emulatorCloudEnv(emulator.endpoint)).cloud);
      const activities = createActivities(cloud, { accountId: EMULATOR_DEFAULTS.accountId });
      // One check per desktop-group region and the two account-wide lists, all at once on one signal.
      await new MockActivityEnvironment().run(activities.checkImageUsage, { imageId: IMAGE_ID, regions });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await emulator.close();
    }
  });
});
