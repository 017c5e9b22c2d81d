/**
 * What an activity's cancellation does to the cloud call it is waiting for: a read is abandoned
 * whatever the reason; a write is abandoned when its attempt is given up (a worker shutting
 * down), but not when the workflow asked for the cancellation, which needs the write's answer.
 */
import { CancelledFailure } from '@temporalio/activity';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import type { CallOptions, CloudImage, CloudPort } from '../../src/cloud/port.js';

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

describe('an activity cancelled while its cloud call is on the wire', () => {
  it('abandons a read at once when the workflow cancels', async () => {
    const { cloud, held } = heldCloud();
    const activities = createActivities(cloud, { accountId: ACCOUNT });
    const env = new MockActivityEnvironment();
    const validating = env.run(activities.validateImage, { imageId: IMAGE_ID, allowCreating: false });
    await until(() => held.length === 1);
    env.cancel('CANCELLED', WORKFLOW_CANCEL);
    await expect(validating).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });

  it('waits for a template delete when the workflow cancels, and reports what it answered', async () => {
    const { cloud, held } = heldCloud();
    const activities = createActivities(cloud, { accountId: ACCOUNT });
    const env = new MockActivityEnvironment();
    const deleting = env.run(activities.deleteTemplate, { templateId: 't-1', templateName: 'tpl', attemptBudget: 3 });
    await until(() => held.length === 1);
    env.cancel('CANCELLED', WORKFLOW_CANCEL);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held[0]?.signal?.aborted).toBe(false);
    held[0]?.answer({ requestId: 'req-delete-t-1' });
    await expect(deleting).resolves.toMatchObject({ outcome: 'deleted', requestId: 'req-delete-t-1' });
  });

  it('abandons a template delete when the worker shuts down: the attempt fails and its retry asks again', async () => {
    const { cloud, held } = heldCloud();
    const activities = createActivities(cloud, { accountId: ACCOUNT });
    const env = new MockActivityEnvironment();
    const deleting = env.run(activities.deleteTemplate, { templateId: 't-1', templateName: 'tpl', attemptBudget: 3 });
    await until(() => held.length === 1);
    env.cancel('WORKER_SHUTDOWN', WORKER_SHUTDOWN);
    await expect(deleting).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });

  it('reports a region deleted when the workflow cancels it mid-delete: the delete is waited for, its confirmation not', async () => {
    const { cloud, held } = heldCloud();
    const activities = createActivities(cloud, { accountId: ACCOUNT, confirmPollMs: 10 });
    const env = new MockActivityEnvironment();
    const deleting = env.run(activities.deleteImageInRegion, { imageId: IMAGE_ID, regionId: 'cn-shanghai', attemptBudget: 3 });
    await until(() => held.length === 1);
    env.cancel('CANCELLED', WORKFLOW_CANCEL);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held[0]?.signal?.aborted).toBe(false);
    held[0]?.answer({ requestId: 'req-delete-region' });
    // The cloud accepted the delete: past the point of no return, whatever the confirmation would say.
    await expect(deleting).resolves.toMatchObject({ outcome: 'deleted', requestId: 'req-delete-region' });
    expect(held.map((call) => call.name)).toEqual(['deleteImageInRegion', 'isImageGoneFromRegion']);
    expect(held[1]?.signal?.aborted).toBe(true);
  });

  it('abandons a region delete when the worker shuts down', async () => {
    const { cloud, held } = heldCloud();
    const activities = createActivities(cloud, { accountId: ACCOUNT });
    const env = new MockActivityEnvironment();
    const deleting = env.run(activities.deleteImageInRegion, { imageId: IMAGE_ID, regionId: 'cn-shanghai', attemptBudget: 3 });
    await until(() => held.length === 1);
    env.cancel('WORKER_SHUTDOWN', WORKER_SHUTDOWN);
    await expect(deleting).rejects.toBeInstanceOf(CancelledFailure);
    expect(held[0]?.signal?.aborted).toBe(true);
  });
});
