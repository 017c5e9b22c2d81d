/**
 * The saga of deletion-saga.md, outcome by outcome, on the real Temporal dev server.
 * The activities are the real ones over a scripted cloud port (test/helpers/scripted-cloud.ts),
 * so each test states what the cloud answers and checks what the workflow did.
 */
import { ApplicationFailure, CancelledFailure, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createActivities } from '../../src/activities/index.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import {
  abandonUpdate,
  deletionStatusKey,
  imageIdKey,
  progressQuery,
  retryUpdate,
  WORKFLOW_TYPE,
  type DeletionProgress,
} from '../../src/workflows/model.js';
import { ACCOUNT, scriptedCloud, template, type CloudScript, type ScriptedCloud } from '../helpers/scripted-cloud.js';
import { recordHistoryIfAsked } from '../helpers/histories.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { newImageId, useWorkflowRig, waitForStatus } from '../helpers/workflow-rig.js';

const REGIONS = ['ap-southeast-1', 'cn-hangzhou', 'cn-shanghai'];

const rig = useWorkflowRig();

interface Scenario {
  imageId: string;
  cloud: ScriptedCloud;
  taskQueue: string;
}

/** Runs `body` with a worker whose activities talk to a cloud scripted for a fresh image id. */
async function withScenario<T>(
  script: (imageId: string) => CloudScript,
  body: (scenario: Scenario) => Promise<T>,
  regions: string[] = REGIONS,
  activityOptions: { confirmTimeoutMs?: number } = {},
): Promise<T> {
  const imageId = newImageId();
  const cloud = scriptedCloud(imageId, regions, script(imageId));
  const scenario = { imageId, cloud, taskQueue: uniqueTaskQueue('saga') };
  const worker = await scenarioWorker(scenario, activityOptions);
  return worker.runUntil(body(scenario));
}

/** A worker for the scenario's task queue (a test may stop one and start another). */
function scenarioWorker(scenario: Scenario, activityOptions: { confirmTimeoutMs?: number } = {}): Promise<Worker> {
  return Worker.create({
    connection: rig.nativeConnection,
    taskQueue: scenario.taskQueue,
    workflowBundle: rig.bundle,
    activities: createActivities(scenario.cloud, { accountId: ACCOUNT, confirmPollMs: 10, ...activityOptions }),
    // A cancelled activity hears of it in the answer to a heartbeat it sends; at the SDK's default
    // throttle (0.8 × the 30 s heartbeat timeout) a hung delete would take 24 s to stop here.
    maxHeartbeatThrottleInterval: '200 ms',
  });
}

/** Waits until the scripted cloud has received `call` (the activity is running, its request on the wire). */
async function waitForCall(scenario: Scenario, call: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (scenario.cloud.calls.includes(call)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the cloud never received ${call}`);
}

/** `promise`'s outcome, or 'timed out' if it takes longer than `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function start(scenario: Scenario, input: Partial<DeleteImageInput> = {}): Promise<WorkflowHandle> {
  return rig.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: scenario.taskQueue,
    workflowId: `delete-image-${scenario.imageId}`,
    args: [{ imageId: scenario.imageId, retryInitialIntervalMs: 10, transientAttempts: 3, templateAttempts: 3, ...input }],
  });
}

/** The failure a workflow ended with (its cause), or a test failure if it did not fail. */
async function failureOf(handle: WorkflowHandle): Promise<Error> {
  try {
    await handle.result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause) return error.cause;
    throw error;
  }
  throw new Error('expected the workflow to fail');
}

function reportOf(failure: Error): DeletionProgress {
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return (failure as ApplicationFailure).details?.[0] as DeletionProgress;
}

const patchData = z.object({ id: z.string() });

/** The ids of the patches a deletion's history records. */
async function patchesOf(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const payloads = events.flatMap((event) => event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []);
  return payloads.map((payload) => patchData.parse(JSON.parse(new TextDecoder().decode(payload.data ?? new Uint8Array()))).id);
}

async function searchStatus(handle: WorkflowHandle): Promise<string | undefined> {
  return (await handle.describe()).typedSearchAttributes.get(deletionStatusKey);
}

const twoTemplates = (imageId: string): CloudScript => ({
  templates: [template('b-1', imageId), template('b-2', imageId)],
});

describe('deleteImage: deleted', () => {
  it('deletes the templates first, then the image in every region, and reports it', async () => {
    await withScenario(twoTemplates, async (scenario) => {
      const handle = await start(scenario);
      const report = (await handle.result()) as DeletionProgress;
      expect(report.status).toBe('deleted');
      expect(report.phase).toBe('finished');
      expect(report.templates.map((t) => [t.templateId, t.status])).toEqual([
        ['b-1', 'deleted'],
        ['b-2', 'deleted'],
      ]);
      expect(report.regions.map((r) => [r.regionId, r.status, r.requestId])).toEqual(
        REGIONS.map((r) => [r, 'deleted', `req-delete-${r}`]),
      );
      expect(REGIONS).toContain(report.pivotRegion);
      const calls = scenario.cloud.calls;
      const lastTemplateCall = calls.map((c) => c.startsWith('deleteTemplate')).lastIndexOf(true);
      const firstRegionCall = calls.findIndex((c) => c.startsWith('deleteImageInRegion'));
      expect(lastTemplateCall).toBeGreaterThan(-1);
      expect(lastTemplateCall).toBeLessThan(firstRegionCall);
      expect(scenario.cloud.recreated).toEqual([]);
      expect(await searchStatus(handle)).toBe('Deleted');
      expect((await handle.describe()).typedSearchAttributes.get(imageIdKey)).toBe(scenario.imageId);
    });
  });

  it('counts a region whose copy is already gone (Image.NotExist) as deleted', async () => {
    await withScenario(
      () => ({ deleteRegion: (regionId) => (regionId === 'cn-hangzhou' ? { code: 'Image.NotExist' } : 'ok') }),
      async (scenario) => {
        const report = (await (await start(scenario)).result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        const hangzhou = report.regions.find((r) => r.regionId === 'cn-hangzhou');
        expect(hangzhou).toMatchObject({ status: 'deleted', alreadyGone: true });
      },
    );
  });

  it('counts a template that is already gone (InvalidTemplate.NotFound) as deleted', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'InvalidTemplate.NotFound' } : 'ok'),
      }),
      async (scenario) => {
        const report = (await (await start(scenario)).result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        expect(report.templates.find((t) => t.templateId === 'b-2')?.status).toBe('deleted');
      },
    );
  });

  it('retries transient errors (InternalError, Throttling, ServiceUnavailable) and still deletes', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (_id, call) => (call === 1 ? { code: 'Throttling.User' } : 'ok'),
        deleteRegion: (_id, call) => (call === 1 ? { code: 'InternalError' } : call === 2 ? { code: 'ServiceUnavailable' } : 'ok'),
      }),
      async (scenario) => {
        const report = (await (await start(scenario)).result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        expect(report.regions.map((r) => r.attempts)).toEqual([3, 3, 3]);
        expect(report.templates.map((t) => t.attempts)).toEqual([2, 2]);
      },
    );
  });

  it('retries only the usage look-ups that failed (progress kept in the heartbeat)', async () => {
    await withScenario(
      () => ({ listUsages: (source, call) => (source === 'DesktopGroup@cn-hangzhou' && call <= 2 ? { code: 'InternalError' } : 'ok') }),
      async (scenario) => {
        const report = (await (await start(scenario)).result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        const lookups = scenario.cloud.calls.filter((c) => c.startsWith('listImageUsages'));
        expect(lookups.filter((c) => c === 'listImageUsages DesktopGroup@cn-hangzhou')).toHaveLength(3);
        expect(lookups.filter((c) => c === 'listImageUsages DesktopGroup@cn-shanghai')).toHaveLength(1);
        expect(lookups.filter((c) => c === 'listImageUsages AppInstanceGroup')).toHaveLength(1);
      },
    );
  });

  it('dry run: validates and returns the plan, changing nothing', async () => {
    await withScenario(twoTemplates, async (scenario) => {
      const handle = await start(scenario, { dryRun: true });
      const report = (await handle.result()) as DeletionProgress;
      expect(report.status).toBe('planned');
      expect(report.templates.map((t) => t.templateId)).toEqual(['b-1', 'b-2']);
      expect(report.regions.map((r) => r.regionId)).toEqual(REGIONS);
      expect(scenario.cloud.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      expect(await searchStatus(handle)).toBe('Planned');
    });
  });
});

describe('deleteImage: lists with duplicates', () => {
  it('deletes a region the image lists twice once, and reports it once', async () => {
    await withScenario(
      () => ({ image: { regions: ['cn-hangzhou', 'ap-southeast-1', 'cn-hangzhou'] } }),
      async (scenario) => {
        const report = (await (await start(scenario)).result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        expect(report.regions.map((r) => [r.regionId, r.status])).toEqual([
          ['ap-southeast-1', 'deleted'],
          ['cn-hangzhou', 'deleted'],
        ]);
        expect(report.details).toContain('all 2 regions');
        expect(scenario.cloud.calls.filter((c) => c === 'deleteImageInRegion cn-hangzhou')).toHaveLength(1);
      },
      ['ap-southeast-1', 'cn-hangzhou'],
    );
  });

  it('re-creates a template listed twice (overlapping pages) once when it compensates', async () => {
    await withScenario(
      (imageId) => ({
        templates: [template('b-1', imageId)],
        listedTemplates: (templates) => [...templates, ...templates],
        deleteRegion: () => ({ code: 'ImageNotAllowDelete' }),
      }),
      async (scenario) => {
        const failure = await failureOf(await start(scenario, { regionConcurrency: 1 }));
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        expect(scenario.cloud.recreated).toEqual(['tpl-b-1']);
        expect(reportOf(failure).templates.map((t) => [t.templateId, t.status])).toEqual([['b-1', 'restored']]);
      },
    );
  });
});

describe('deleteImage: rejected', () => {
  const rejections: Array<[string, (imageId: string) => CloudScript]> = [
    ['Image.NotExist', () => ({ image: { code: 'Image.NotExist' } })],
    ['ImageDeleteFailed.NotAllow', () => ({ image: { ownerAccountId: '42' } })],
    ['ImageDeleteFailed.NotAllowSharedImage', () => ({ image: { imageType: 'Shared' } })],
    ['ImageDeleteFailed.NotAllowCommunityParent', () => ({ image: { hasCommunityChildren: true } })],
    ['ImageDeleteFailed.HasSharedImage', () => ({ image: { hasSharedChildren: true } })],
    ['InvalidImageOperation.ImageIsCreating', () => ({ image: { status: 'CREATING' } })],
    ['ImageNotAllowDelete', () => ({ usages: [{ kind: 'DesktopGroup', id: 'dg-1', regionId: 'cn-hangzhou' }] })],
    // Listed, but in no region: there is nothing to delete region by region, and "deleted" would be false.
    ['ImageHasNoRegions', () => ({ image: { regions: [] } })],
  ];

  it.each(rejections)('%s fails at once, non-retryable, and changes nothing', async (code, script) => {
    await withScenario(script, async (scenario) => {
      const handle = await start(scenario);
      const failure = await failureOf(handle);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).type).toBe(code);
      expect((failure as ApplicationFailure).nonRetryable).toBe(true);
      expect(failure.message.length).toBeGreaterThan(40);
      const report = reportOf(failure);
      expect(report.status).toBe('rejected');
      expect(report.error?.code).toBe(code);
      expect(scenario.cloud.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      expect(await searchStatus(handle)).toBe('Rejected');
    });
  });

  it('refuses with ImageNotAllowDelete when a usage is found, even while another look-up keeps failing', async () => {
    await withScenario(
      () => ({
        usages: [{ kind: 'DesktopGroup', id: 'dg-1', regionId: 'cn-hangzhou' }],
        listUsages: (source) => (source === 'WuyingServer' ? { code: 'InternalError' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario);
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('ImageNotAllowDelete');
        expect((failure as ApplicationFailure).nonRetryable).toBe(true);
        expect(failure.message).toContain('dg-1');
        expect(reportOf(failure).status).toBe('rejected');
        // At once: the look-up that fails cannot change the answer, so it is not retried.
        expect(scenario.cloud.calls.filter((c) => c === 'listImageUsages WuyingServer')).toHaveLength(1);
        expect(scenario.cloud.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      },
    );
  });

  it('waits for an image that is still being created when asked to, then fails when it stays so', async () => {
    await withScenario(
      () => ({ image: { status: 'CREATING' } }),
      async (scenario) => {
        const handle = await start(scenario, { waitForCreationSeconds: 2 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('InvalidImageOperation.ImageIsCreating');
        expect(reportOf(failure).creationWait).toEqual({ waitedSeconds: 2, limitSeconds: 2 });
        expect(scenario.cloud.calls.filter((c) => c.startsWith('getImage')).length).toBeGreaterThanOrEqual(2);
      },
    );
  });

  it('waits for an image that is still being created, then deletes it once it is available', async () => {
    await withScenario(
      () => ({ image: { status: 'CREATING' } }),
      async (scenario) => {
        const handle = await start(scenario, { waitForCreationSeconds: 3 });
        await waitForPhase(handle, 'waiting-for-creation');
        // The wait says how long so far and at most (a wait may last hours).
        const waiting = await handle.query(progressQuery);
        expect(waiting.creationWait).toEqual({ waitedSeconds: 0, limitSeconds: 3 });
        expect(waiting.details).toContain('Waited 0 s of at most 3 s so far (it is looked up again at least every 15 s).');
        scenario.cloud.script.image = { status: 'AVAILABLE' };
        expect(await handle.result()).toMatchObject({ status: 'deleted', phase: 'finished', creationWait: { waitedSeconds: 3, limitSeconds: 3 } });
        expect(scenario.cloud.calls.filter((c) => c.startsWith('getImage'))).toHaveLength(2);
        expect(scenario.cloud.calls.filter((c) => c.startsWith('deleteImageInRegion'))).toHaveLength(REGIONS.length);
      },
    );
  });

  it('rejects invalid input with InvalidInput, touching no cloud API', async () => {
    await withScenario(
      () => ({}),
      async (scenario) => {
        const handle = await rig.client.workflow.start(WORKFLOW_TYPE, {
          taskQueue: scenario.taskQueue,
          workflowId: `delete-image-invalid-${scenario.imageId}`,
          args: [{ imageId: 'IMG-not valid', extra: true }],
        });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('InvalidInput');
        expect(failure.message).toContain('imageId');
        expect(scenario.cloud.calls).toEqual([]);
      },
    );
  });
});

describe('deleteImage: compensated (before the pivot)', () => {
  it('re-creates the deleted templates when DeleteTemplate.Failed spends its budget; the image is untouched', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'DeleteTemplate.Failed' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        expect((failure.cause as ApplicationFailure | undefined)?.type).toBe('DeleteTemplate.Failed');
        const report = reportOf(failure);
        expect(report.status).toBe('compensated');
        expect(report.templates.find((t) => t.templateId === 'b-2')).toMatchObject({ status: 'kept', attempts: 3 });
        expect(report.templates.find((t) => t.templateId === 'b-1')).toMatchObject({ status: 'restored', restoredAs: 'b-1-r' });
        expect(scenario.cloud.recreated).toEqual(['tpl-b-1']);
        expect(scenario.cloud.calls.filter((c) => c === 'deleteTemplate b-2')).toHaveLength(3);
        expect(scenario.cloud.calls.some((c) => c.startsWith('deleteImageInRegion'))).toBe(false);
        expect(await searchStatus(handle)).toBe('Compensated');
      },
    );
  });

  it('gives an unknown code on a template delete the transient budget, not the template one', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'Unexpected.Failure' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 4, templateAttempts: 2 });
        const failure = await failureOf(handle);
        expect((failure.cause as ApplicationFailure | undefined)?.type).toBe('Unexpected.Failure');
        expect(reportOf(failure).templates.find((t) => t.templateId === 'b-2')).toMatchObject({ status: 'kept', attempts: 4 });
        expect(scenario.cloud.calls.filter((c) => c === 'deleteTemplate b-2')).toHaveLength(4);
      },
    );
  });

  it('gives a transient error on a template delete the transient budget, also when the template budget is larger', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'ServiceUnavailable' } : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 2, templateAttempts: 4 });
        const failure = await failureOf(handle);
        expect((failure.cause as ApplicationFailure | undefined)?.type).toBe('ServiceUnavailable');
        expect(reportOf(failure).templates.find((t) => t.templateId === 'b-2')).toMatchObject({ status: 'kept', attempts: 2 });
        expect(scenario.cloud.calls.filter((c) => c === 'deleteTemplate b-2')).toHaveLength(2);
      },
    );
  });

  it('finishes compensating when cancelled during it, and still ends Compensated', async () => {
    // Re-creating b-1 answers only once the cancel is recorded (its non-cancellable scope never hears of it).
    let cancelSent: () => void = () => undefined;
    const cancelled = new Promise<void>((resolve) => (cancelSent = resolve));
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'DeleteTemplate.Failed' } : 'ok'),
        recreateTemplate: (templateName) => (templateName === 'tpl-b-1' ? { heldUntil: cancelled, then: 'ok' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        try {
          await waitForCall(scenario, 'recreateTemplate tpl-b-1');
          await handle.cancel();
        } finally {
          // Also when the test fails: a held activity would keep its worker from stopping.
          cancelSent();
        }
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        const report = reportOf(failure);
        expect(report.status).toBe('compensated');
        expect(report.templates.map((t) => [t.templateId, t.status])).toEqual([
          ['b-1', 'restored'],
          ['b-2', 'kept'],
        ]);
        expect(scenario.cloud.recreated).toEqual(['tpl-b-1']);
        expect(await searchStatus(handle)).toBe('Compensated');
      },
    );
  });

  it('restores each of two templates identical in every field, not one twin for both', async () => {
    await withScenario(
      (imageId) => ({
        templates: [template('tw-1', imageId, 'twin'), template('tw-2', imageId, 'twin')],
        deleteTemplate: (templateId) => (templateId === 'tw-2' ? { code: 'DeleteTemplate.Failed' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const report = reportOf(await failureOf(handle));
        expect(report.status).toBe('compensated');
        // tw-2 was never deleted and is kept as itself; tw-1 must not be taken for it.
        expect(report.templates.find((t) => t.templateId === 'tw-2')).toMatchObject({ status: 'kept', restoredAs: 'tw-2' });
        expect(report.templates.find((t) => t.templateId === 'tw-1')).toMatchObject({ status: 'restored', restoredAs: 'tw-1-r' });
        expect(scenario.cloud.recreated).toEqual(['twin']);
      },
    );
  });

  it('when a template cannot be re-created: fails non-retryable, with that template failed and its snapshot in the report', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'DeleteTemplate.Failed' } : 'ok'),
        recreateTemplate: (templateName) => (templateName === 'tpl-b-1' ? { code: 'Image.NotExist' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const failure = await failureOf(handle);
        expect(failure).toMatchObject({ type: 'CompensationFailed', nonRetryable: true });
        const report = reportOf(failure);
        expect(report.status).toBe('failed');
        expect(report.templates.find((t) => t.templateId === 'b-1')).toMatchObject({
          status: 'failed',
          lastError: { code: 'Image.NotExist' },
        });
        expect(report.unrestoredTemplates).toEqual([template('b-1', scenario.imageId)]);
        expect(failure.message).toContain('unrestoredTemplates');
      },
    );
  });

  it('reports the code and the cause of the same region when regions in parallel fail differently', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) =>
          regionId === 'ap-southeast-1'
            ? { code: 'ImageNotAllowDelete' }
            : { delayMs: 500, then: { code: 'ImageDeleteFailed.NotAllowCommunityParent' } },
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 2 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        expect(failure.message).toContain('ImageNotAllowDelete');
        expect((failure.cause as ApplicationFailure | undefined)?.type).toBe('ImageNotAllowDelete');
      },
    );
  });

  // A new instance (blocked), or a community image published from the image after its validation
  // read the account's lists (rejected): the cloud refuses the region delete itself.
  for (const [code, why] of [
    ['ImageNotAllowDelete', 'is blocked by a new instance'],
    ['ImageDeleteFailed.NotAllowCommunityParent', 'is refused for a community child made after validation'],
  ] as const) {
    it(`compensates when the first region delete ${why}`, async () => {
      await withScenario(
        (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => ({ code }) }),
        async (scenario) => {
          const handle = await start(scenario, { regionConcurrency: 1 });
          const failure = await failureOf(handle);
          expect((failure as ApplicationFailure).type).toBe('Compensated');
          expect((failure.cause as ApplicationFailure | undefined)?.type).toBe(code);
          const report = reportOf(failure);
          expect(report.pivotRegion).toBeUndefined();
          expect(scenario.cloud.calls.filter((c) => c.startsWith('deleteImageInRegion'))).toHaveLength(1);
          expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        },
      );
    });
  }
});

describe('deleteImage: compensated with no template to re-create', () => {
  it('does not say templates were re-created when the image had none', async () => {
    await withScenario(
      () => ({ deleteRegion: () => ({ code: 'ImageNotAllowDelete' }) }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        const report = reportOf(failure);
        expect(report.templates).toEqual([]);
        expect(failure.message).not.toMatch(/re-created/);
        expect(report.details).not.toMatch(/re-created/);
        expect(failure.message).toContain('untouched');
      },
    );
  });

  it('does not say templates were re-created when the only one was never deleted (its delete failed)', async () => {
    await withScenario(
      (imageId) => ({ templates: [template('b-1', imageId)], deleteTemplate: () => ({ code: 'DeleteTemplate.Failed' }) }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        const report = reportOf(failure);
        expect(report.templates.map((t) => t.status)).toEqual(['kept']);
        expect(scenario.cloud.recreated).toEqual([]);
        expect(failure.message).not.toMatch(/templates were re-created/);
        expect(report.details).not.toMatch(/templates were re-created/);
      },
    );
  });
});

describe('deleteImage: the pivot is the first copy this deletion removed', () => {
  it('does not pass it on a copy gone before the first DeleteImage for it: a refusal after it still compensates', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) =>
          regionId === 'ap-southeast-1' ? { code: 'Image.NotExist' } : regionId === 'cn-hangzhou' ? { code: 'ImageNotAllowDelete' } : 'ok',
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const failure = await failureOf(handle);
        await recordHistoryIfAsked('pivot-not-passed-by-a-copy-gone-before', handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        expect((failure.cause as ApplicationFailure | undefined)?.type).toBe('ImageNotAllowDelete');
        const report = reportOf(failure);
        expect(report.pivotRegion).toBeUndefined();
        expect(report.regions.find((r) => r.regionId === 'ap-southeast-1')).toMatchObject({ status: 'deleted', alreadyGone: true, attempts: 1 });
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(scenario.cloud.calls).not.toContain('deleteImageInRegion cn-shanghai');
      },
    );
  });

  it('passes it on a copy found gone at a retry, since the attempt before may have removed it', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        // The first answer is lost after the copy was deleted; the retry finds it gone.
        deleteRegion: (regionId, call) =>
          regionId === 'ap-southeast-1' && call === 1 ? { code: 'InternalError' } : regionId === 'cn-hangzhou' ? { code: 'ImageNotAllowDelete' } : 'ok',
        deleteRegionApplied: (regionId, call) => regionId === 'ap-southeast-1' && call === 1,
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.pivotRegion).toBe('ap-southeast-1');
        expect(parked.regions.find((r) => r.regionId === 'ap-southeast-1')).toMatchObject({ status: 'deleted', alreadyGone: true, attempts: 2 });
        expect(parked.regions.find((r) => r.regionId === 'cn-hangzhou')).toMatchObject({ status: 'failed' });
        expect(scenario.cloud.recreated).toEqual([]);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
    );
  });
});

describe('deleteImage: a region delete that failed but was applied', () => {
  it('goes forward, not backward, when the cloud no longer lists the region whose delete failed', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        // The first answer is lost on the way back after the copy was deleted; the retries see only errors.
        deleteRegion: (regionId) => (regionId === 'ap-southeast-1' ? { code: 'InternalError' } : 'ok'),
        deleteRegionApplied: (regionId, call) => regionId === 'ap-southeast-1' && call === 1,
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const report = (await handle.result()) as DeletionProgress;
        expect(report.status).toBe('deleted');
        expect(report.pivotRegion).toBe('ap-southeast-1');
        expect(report.regions.map((r) => [r.regionId, r.status])).toEqual(REGIONS.map((r) => [r, 'deleted']));
        expect(scenario.cloud.recreated).toEqual([]);
      },
    );
  });

  it('parks a region whose delete failed when another region is found deleted', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) => (regionId === 'ap-southeast-1' ? { code: 'InternalError' } : regionId === 'cn-hangzhou' ? { code: 'ImageNotAllowDelete' } : 'ok'),
        deleteRegionApplied: (regionId, call) => regionId === 'ap-southeast-1' && call === 1,
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 2 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.pivotRegion).toBe('ap-southeast-1');
        expect(parked.regions.map((r) => [r.regionId, r.status])).toEqual([
          ['ap-southeast-1', 'deleted'],
          ['cn-hangzhou', 'failed'],
          ['cn-shanghai', 'deleted'],
        ]);
        expect(scenario.cloud.recreated).toEqual([]);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
    );
  });
});

describe('deleteImage: a region delete that got no answer, before the pivot', () => {
  it('waits for it to show before compensating: a delete the cloud applied late passes the pivot, and the deletion goes on', async () => {
    let reads = 0;
    await withScenario(
      // Every attempt times out; the first was applied all the same, which the list shows only later.
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) => (regionId === 'ap-southeast-1' ? { code: 'RequestTimeout' } : 'ok'),
        remainingRegions: () => {
          reads += 1;
          return reads === 1 ? REGIONS : REGIONS.filter((regionId) => regionId !== 'ap-southeast-1');
        },
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, unansweredDeleteWaitSeconds: 2 });
        const report: DeletionProgress = await handle.result();
        expect(report.status).toBe('deleted');
        expect(report.pivotRegion).toBe('ap-southeast-1');
        expect(report.regions.map((r) => r.status)).toEqual(['deleted', 'deleted', 'deleted']);
        expect(scenario.cloud.recreated).toEqual([]);
        expect(reads).toBe(2);
      },
    );
  });
});

describe('deleteImage: a delete whose last attempt Temporal timed out, before the pivot', () => {
  // The scripted cloud answers with the code the saga records for an attempt Temporal timed out (a
  // worker that stopped or hung mid-call): the real timeout takes the 30 s heartbeat timeout.
  const timedOut = { code: 'ActivityTimeout' } as const;

  it('counts as unanswered: a region delete that landed late passes the pivot instead of the templates being re-created', async () => {
    let reads = 0;
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) => (regionId === 'ap-southeast-1' ? timedOut : 'ok'),
        remainingRegions: () => {
          reads += 1;
          return reads === 1 ? REGIONS : REGIONS.filter((regionId) => regionId !== 'ap-southeast-1');
        },
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 1, unansweredDeleteWaitSeconds: 2 });
        const report: DeletionProgress = await handle.result();
        expect(report.status).toBe('deleted');
        expect(report.pivotRegion).toBe('ap-southeast-1');
        expect(scenario.cloud.recreated).toEqual([]);
        expect(reads).toBe(2);
        expect(await patchesOf(handle)).toContain('timed-out-deletes-unanswered');
        await recordHistoryIfAsked('deleted-after-a-timed-out-region-delete-landed-late', handle);
      },
    );
  });

  it('counts as unanswered: a template delete is waited for before the templates are re-created', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? timedOut : 'ok'),
        deleteTemplateLandsAfterMs: (templateId, call) => (templateId === 'b-2' && call === 1 ? 500 : undefined),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 1, templateAttempts: 1, unansweredDeleteWaitSeconds: 2 });
        const report = reportOf(await failureOf(handle));
        expect(report.status).toBe('compensated');
        expect(report.templates.find((t) => t.templateId === 'b-2')).toMatchObject({ status: 'restored', restoredAs: 'b-2-r' });
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(await patchesOf(handle)).toContain('timed-out-deletes-unanswered');
      },
    );
  });
});

describe('deleteImage: a template delete that got no answer, before the pivot', () => {
  it('waits for it to land before re-creating the templates, so a template it removed late is re-created, not reported in place', async () => {
    await withScenario(
      // b-2's delete times out, and the cloud applies it half a second later.
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'RequestTimeout' } : 'ok'),
        deleteTemplateLandsAfterMs: (templateId, call) => (templateId === 'b-2' && call === 1 ? 500 : undefined),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 1, unansweredDeleteWaitSeconds: 2 });
        const report = reportOf(await failureOf(handle));
        expect(report.status).toBe('compensated');
        expect(report.templates.find((t) => t.templateId === 'b-2')).toMatchObject({ status: 'restored', restoredAs: 'b-2-r' });
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(report.error?.message).toContain('The 2 templates it had deleted were re-created');
        const events = (await handle.fetchHistory()).events ?? [];
        expect(events.filter((event) => event.timerStartedEventAttributes)).toHaveLength(1);
        await recordHistoryIfAsked('compensated-after-an-unanswered-template-delete-landed-late', handle);
      },
    );
  });

  it('does not wait when no template delete went unanswered', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'DeleteTemplate.Failed' } : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, templateAttempts: 1, unansweredDeleteWaitSeconds: 2 });
        expect(reportOf(await failureOf(handle)).status).toBe('compensated');
        const events = (await handle.fetchHistory()).events ?? [];
        expect(events.filter((event) => event.timerStartedEventAttributes)).toEqual([]);
        // The patches are not even consulted: a history without such a delete is unchanged.
        const patchIds = await patchesOf(handle);
        expect(patchIds.length).toBeGreaterThan(0);
        expect(patchIds).not.toContain('wait-for-unanswered-template-deletes');
        expect(patchIds).not.toContain('timed-out-deletes-unanswered');
      },
    );
  });
});

describe('deleteImage: a region delete that got no answer and never showed, before the pivot', () => {
  it('compensates, and its report says the delete may still land instead of that the image is untouched', async () => {
    await withScenario(
      // Every attempt in the first region times out and the list keeps naming it.
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: (regionId) => (regionId === 'ap-southeast-1' ? { code: 'RequestTimeout' } : 'ok'), remainingRegions: () => REGIONS }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, unansweredDeleteWaitSeconds: 1 });
        const failure = await failureOf(handle);
        expect((failure as ApplicationFailure).type).toBe('Compensated');
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(failure.message).toContain('The delete in ap-southeast-1 (RequestTimeout) got no answer');
        expect(failure.message).not.toContain('untouched');
        const report = reportOf(failure);
        expect(report.details).toContain('got no answer');
        expect(report.details).not.toContain('untouched');
      },
    );
  });
});

describe('deleteImage: a region delete the cloud accepted but never confirmed', () => {
  it('passes the pivot and parks the region, re-creating nothing: an accepted delete is not undone', async () => {
    await withScenario(
      // The first region's copy stays listed however long the saga confirms, also when it asks what remains.
      (imageId) => ({ ...twoTemplates(imageId), stillListed: (regionId) => regionId === 'ap-southeast-1', remainingRegions: () => REGIONS }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.pivotRegion).toBe('ap-southeast-1');
        expect(parked.regions.find((r) => r.regionId === 'ap-southeast-1')).toMatchObject({
          status: 'failed',
          lastError: { code: 'RegionDeleteUnconfirmed' },
        });
        // Forward only: the other regions went on, and no template came back.
        expect(parked.regions.filter((r) => r.status === 'deleted').map((r) => r.regionId)).toEqual(['cn-hangzhou', 'cn-shanghai']);
        expect(scenario.cloud.recreated).toEqual([]);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
      REGIONS,
      { confirmTimeoutMs: 200 },
    );
  });
});

describe('deleteImage: a region delete the cloud accepted whose confirmation could not be read', () => {
  // The first region's DeleteImage is accepted, but every read that would confirm it fails, and the
  // list read before compensating still names the copy (it lags behind the delete).
  const confirmationFails = (imageId: string): CloudScript => ({
    ...twoTemplates(imageId),
    confirmRegion: (regionId) => (regionId === 'ap-southeast-1' ? { code: 'InternalError' } : 'ok'),
    remainingRegions: () => REGIONS,
  });

  it.each([
    // One attempt: its own DeleteImage was accepted.
    [1, 'the cloud accepted the delete (attempt 1)'],
    // Three: the first was accepted, the later ones found the copy gone.
    [3, 'the copy was already gone at attempt 3'],
  ])('with %i attempt(s): passes the pivot and parks the region, re-creating nothing', async (transientAttempts, says) => {
    await withScenario(confirmationFails, async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1, transientAttempts });
      const parked = await waitForStatus(handle, 'awaiting-retry');
      expect(parked.pivotRegion).toBe('ap-southeast-1');
      const region = parked.regions.find((r) => r.regionId === 'ap-southeast-1');
      expect(region).toMatchObject({
        status: 'failed',
        attempts: transientAttempts,
        lastError: { code: 'RegionDeleteUnconfirmed', requestId: 'req-ListImage' },
      });
      expect(region?.lastError?.message).toContain(says);
      expect(region?.lastError?.message).toContain('reading whether the region still lists the copy failed');
      expect(region?.lastError?.message).toContain('InternalError');
      // Forward only: the other regions went on, and no template came back.
      expect(parked.regions.filter((r) => r.status === 'deleted').map((r) => r.regionId)).toEqual(['cn-hangzhou', 'cn-shanghai']);
      expect(scenario.cloud.recreated).toEqual([]);
      await handle.executeUpdate(abandonUpdate, { args: [{}] });
    });
  });
});

describe('deleteImage: parked after the pivot', () => {
  const failingRegion = (fixed: { value: boolean }) => (imageId: string): CloudScript => ({
    ...twoTemplates(imageId),
    deleteRegion: (regionId) => (regionId === 'cn-shanghai' && !fixed.value ? { code: 'Mystery.Error' } : 'ok'),
  });

  /** A deletion parked by a worker that has stopped since: what is sent now reaches the workflow in one workflow task. */
  async function parkedWithNoWorker(): Promise<{ scenario: Scenario; handle: WorkflowHandle }> {
    const imageId = newImageId();
    const scenario = { imageId, cloud: scriptedCloud(imageId, REGIONS, failingRegion({ value: false })(imageId)), taskQueue: uniqueTaskQueue('saga') };
    const handle = await (await scenarioWorker(scenario)).runUntil(async () => {
      const started = await start(scenario, { regionConcurrency: 1 });
      await waitForStatus(started, 'awaiting-retry');
      return started;
    });
    return { scenario, handle };
  }

  it('reports a parked region found gone at a cancel as deleted, without the error it no longer has', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1 });
      await waitForStatus(handle, 'awaiting-retry');
      // Its copy went meanwhile (someone deleted it in the console).
      scenario.cloud.script.remainingRegions = () => [];
      await handle.cancel();
      expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
      const report = await handle.query(progressQuery);
      const shanghai = report.regions.find((r) => r.regionId === 'cn-shanghai');
      expect(shanghai?.status).toBe('deleted');
      expect(shanghai?.lastError).toBeUndefined();
    });
  });

  it('parks a region whose budget is spent, then completes on retry', async () => {
    const fixed = { value: false };
    await withScenario(failingRegion(fixed), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1 });
      const parked = await waitForStatus(handle, 'awaiting-retry');
      expect(parked.pivotRegion).toBe('ap-southeast-1');
      expect(parked.regions.find((r) => r.regionId === 'cn-shanghai')).toMatchObject({
        status: 'failed',
        attempts: 3,
        lastError: { code: 'Mystery.Error' },
      });
      expect(parked.details).toContain('imgdel retry');
      expect(await searchStatus(handle)).toBe('AwaitingRetry');
      fixed.value = true;
      const afterRetry = await handle.executeUpdate(retryUpdate);
      expect(afterRetry.retries).toBe(1);
      const report = (await handle.result()) as DeletionProgress;
      expect(report.status).toBe('deleted');
      expect(report.regions.every((r) => r.status === 'deleted')).toBe(true);
      expect(scenario.cloud.recreated).toEqual([]);
    });
  });

  it('rejects retry (validator) when nothing has failed', async () => {
    await withScenario(
      () => ({ deleteRegion: () => 'hang' }),
      async (scenario) => {
        const handle = await start(scenario);
        await waitForStatus(handle, 'running');
        const refusal = await handle.executeUpdate(retryUpdate).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/Nothing to retry/);
        await handle.terminate('test done');
      },
    );
  });

  it('abandon ends a parked deletion with type Abandoned and the full report', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1 });
      await waitForStatus(handle, 'awaiting-retry');
      const answered = await handle.executeUpdate(abandonUpdate, { args: [{ reason: 'region retired' }] });
      expect(answered.status).toBe('abandoned');
      const failure = await failureOf(handle);
      expect((failure as ApplicationFailure).type).toBe('Abandoned');
      expect(failure.message).toContain('region retired');
      const report = reportOf(failure);
      expect(report.regions.filter((r) => r.status === 'deleted').map((r) => r.regionId)).toEqual(['ap-southeast-1', 'cn-hangzhou']);
      expect(await searchStatus(handle)).toBe('Abandoned');
    });
  });

  it('refuses an abandon request with a field it does not know, instead of abandoning without the reason', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1 });
      await waitForStatus(handle, 'awaiting-retry');
      // As another SDK could send it: the reason under a misspelt key.
      const refusal = await handle
        .executeUpdate<DeletionProgress, [Record<string, string>]>('abandon', { args: [{ Reason: 'region retired' }] })
        .then(() => 'accepted', (error: unknown) => error);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refusal as WorkflowUpdateFailedError).cause?.message).toBe(
        'The abandon request is invalid: request: has an unknown field "Reason"; the only field is "reason".',
      );
      expect((await handle.query(progressQuery)).status).toBe('awaiting-retry');
      await handle.executeUpdate(abandonUpdate, { args: [{ reason: 'region retired' }] });
      expect((await failureOf(handle)).message).toContain('(region retired)');
    });
  });

  it.each([
    ['no argument', (handle: WorkflowHandle) => handle.executeUpdate<DeletionProgress, []>('abandon')],
    ['null', (handle: WorkflowHandle) => handle.executeUpdate<DeletionProgress, [null]>('abandon', { args: [null] })],
  ])('abandon with %s abandons (no reason), after refusing a request that is not an object', async (_label, abandon) => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1 });
      await waitForStatus(handle, 'awaiting-retry');
      const refusal = await handle.executeUpdate<DeletionProgress, [string]>('abandon', { args: ['region retired'] }).then(() => 'accepted', (error: unknown) => error);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/must be an object such as \{"reason"/);
      const answered = await abandon(handle);
      expect(answered.status).toBe('abandoned');
      const failure = await failureOf(handle);
      expect(failure).toMatchObject({ type: 'Abandoned', message: expect.stringMatching(/^An operator abandoned the deletion of \S+\. /) });
      expect(await searchStatus(handle)).toBe('Abandoned');
    });
  });

  it('a retry and an abandon that arrive together end the deletion, and both are answered', async () => {
    const { scenario, handle } = await parkedWithNoWorker();
    // No worker polls now, so both updates reach the workflow in one workflow task.
    const settle = (update: Promise<DeletionProgress>) => update.then((progress) => progress.status, (error: unknown) => error);
    const retry = settle(handle.executeUpdate(retryUpdate));
    const abandon = settle(handle.executeUpdate(abandonUpdate, { args: [{ reason: 'both at once' }] }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await (await scenarioWorker(scenario)).runUntil(async () => {
      const answers = await within(30_000, Promise.all([retry, abandon]));
      expect(answers).not.toBe('timed out');
      if (answers !== 'timed out' && answers[1] !== 'abandoned') {
        // The abandon was refused while the retry was pending: the retry ran, and the region is parked again.
        expect(answers[0]).toBe('running');
        await waitForStatus(handle, 'awaiting-retry');
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      }
      expect((await failureOf(handle)) as ApplicationFailure).toMatchObject({ type: 'Abandoned' });
      expect(await searchStatus(handle)).toBe('Abandoned');
    });
  });

  it('refuses a retry past maxRetryRounds, saying to abandon and start again; the abandon still works', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1, maxRetryRounds: 1 });
      await waitForStatus(handle, 'awaiting-retry');
      await handle.executeUpdate(retryUpdate);
      const parkedAgain = await waitForStatus(handle, 'awaiting-retry');
      expect(parkedAgain.retries).toBe(1);
      const refusal = await handle.executeUpdate(retryUpdate).then(() => 'accepted', (error: unknown) => error);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/retried 1 time, as often as one deletion may be \(maxRetryRounds\)\. Abandon it/);
      await handle.executeUpdate(abandonUpdate, { args: [{}] });
      expect((await failureOf(handle)) as ApplicationFailure).toMatchObject({ type: 'Abandoned' });
    });
  });

  it('once parked with no retry round left, its details say to abandon, not to run imgdel retry (which is refused)', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { regionConcurrency: 1, maxRetryRounds: 1 });
      const firstPark = await waitForStatus(handle, 'awaiting-retry');
      expect(firstPark.details).toContain(`imgdel retry ${scenario.imageId}`);
      await handle.executeUpdate(retryUpdate);
      const parkedAgain = await waitForStatus(handle, 'awaiting-retry');
      expect(parkedAgain.retries).toBe(1);
      expect(parkedAgain.details).not.toContain(`run "imgdel retry ${scenario.imageId}"`);
      expect(parkedAgain.details).toContain(`imgdel abandon ${scenario.imageId}`);
      expect(parkedAgain.details).toMatch(/maxRetryRounds/);
      await handle.executeUpdate(abandonUpdate, { args: [{}] });
      expect((await failureOf(handle)) as ApplicationFailure).toMatchObject({ type: 'Abandoned' });
    });
  });

  it('refuses a retry while a region has failed but others still run, without saying that nothing failed', async () => {
    await withScenario(
      // After the pivot (ap-southeast-1), cn-hangzhou fails for good while cn-shanghai is still being deleted.
      () => ({ deleteRegion: (regionId) => (regionId === 'cn-hangzhou' ? { code: 'Mystery.Error' } : regionId === 'cn-shanghai' ? 'hang' : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario);
        for (;;) {
          const progress = await handle.query(progressQuery);
          if (progress.regions.some((r) => r.status === 'failed')) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const refusal = await handle.executeUpdate(retryUpdate).then(() => 'accepted', (error: unknown) => error);
        expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
        const message = (refusal as WorkflowUpdateFailedError).cause?.message ?? '';
        expect(message).not.toMatch(/no step .* has failed/);
        expect(message).toContain('cn-hangzhou');
        expect(message).toContain('retry it if it parks');
        await handle.terminate('test done');
      },
    );
  });

  it('refuses a retry while it compensates for a failed template, saying it cannot be retried rather than that nothing failed', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteTemplate: (templateId) => (templateId === 'b-2' ? { code: 'DeleteTemplate.Failed' } : 'ok'),
        recreateTemplate: (templateName) => (templateName === 'tpl-b-1' ? { heldUntil: released, then: 'ok' } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        let message = '';
        try {
          await waitForCall(scenario, 'recreateTemplate tpl-b-1');
          const refusal = await handle.executeUpdate(retryUpdate).then(() => 'accepted', (error: unknown) => error);
          expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
          message = (refusal as WorkflowUpdateFailedError).cause?.message ?? '';
        } finally {
          release();
        }
        expect(message).not.toMatch(/no step .* has failed/);
        expect(message).toContain('cannot be retried');
        expect(message).toContain('rolled back');
        expect(message).not.toContain('if it parks');
        expect((await failureOf(handle)) as ApplicationFailure).toMatchObject({ type: 'Compensated' });
      },
    );
  });

  it('refuses a retry or an abandon once the deletion is being cancelled', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      // Reads retried 1 s then 2 s apart: the cancellation stays in its region read for about 3 s.
      const handle = await start(scenario, { regionConcurrency: 1, retryInitialIntervalMs: 1000, transientAttempts: 3 });
      await waitForStatus(handle, 'awaiting-retry');
      // The read after the cancel fails, so the deletion stays in its cancellation a while.
      scenario.cloud.script.image = { code: 'ServiceUnavailable' };
      await handle.cancel();
      await waitForCall(scenario, `imageRegions ${scenario.imageId}`);
      // One at a time: a refusal is awaited as it comes, never left unhandled while another is awaited.
      for (const send of [() => handle.executeUpdate(retryUpdate), () => handle.executeUpdate(abandonUpdate, { args: [{}] })]) {
        const refusal = await send().then(() => 'accepted', (error: unknown) => error);
        expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((refusal as WorkflowUpdateFailedError).cause?.message).toMatch(/is being cancelled/);
      }
      expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
      expect((await handle.query(progressQuery)).status).toBe('cancelled');
    });
  });

  it.each([
    ['an abandon', 'abandon', (handle: WorkflowHandle) => handle.executeUpdate(abandonUpdate, { args: [{ reason: 'with a cancel' }] })],
    ['a retry', 'retry', (handle: WorkflowHandle) => handle.executeUpdate(retryUpdate)],
  ])('%s that arrives with a cancel is answered by what happened, never with the cancellation', async (_kind, update, send) => {
    const { scenario, handle } = await parkedWithNoWorker();
    // No worker polls now, so the update and the cancel reach the workflow in one workflow task.
    const answer = send(handle).then((progress) => progress.status, (error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await handle.cancel();
    await (await scenarioWorker(scenario)).runUntil(async () => {
      const answered = await within(30_000, answer);
      expect(answered).not.toBe('timed out');
      const ending = await handle.result().then(() => undefined, (error: unknown) => (error instanceof WorkflowFailedError ? error.cause : error));
      const report = await handle.query(progressQuery);
      if (answered instanceof WorkflowUpdateFailedError) {
        // Refused or not started: never failed by the cancellation itself, and the report agrees.
        expect(answered.cause).not.toBeInstanceOf(CancelledFailure);
        expect(answered.cause?.message).toMatch(/is being cancelled|did not start/);
        expect(report.retries).toBe(0);
      } else {
        // Accepted: the abandon ended the deletion, or the retry's round began before the cancel stopped it.
        expect(answered).toBe(update === 'abandon' ? 'abandoned' : 'running');
      }
      // No round that deleted nothing: a region the saga gave up on is still reported failed.
      expect(report.regions.filter((r) => r.status === 'pending' && r.lastError !== undefined)).toEqual([]);
      // The report's status and the way the workflow ended say the same.
      if (ending instanceof CancelledFailure) expect(report.status).toBe('cancelled');
      else expect([report.status, (ending as ApplicationFailure).type]).toEqual(['abandoned', 'Abandoned']);
      await recordHistoryIfAsked(`${update}-with-a-cancel`, handle);
    });
  });

  it('retries a region whose DeleteImage answers InvalidTemplate.NotFound: the copy is not gone', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: (regionId) => (regionId === 'cn-shanghai' ? { code: 'InvalidTemplate.NotFound' } : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.regions.find((r) => r.regionId === 'cn-shanghai')).toMatchObject({
          status: 'failed',
          attempts: 3,
          lastError: { code: 'InvalidTemplate.NotFound' },
        });
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
      REGIONS,
      { confirmTimeoutMs: 300 },
    );
  });

  it('parks a region whose copy stays listed after the delete, with every attempt counted', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), stillListed: (regionId) => regionId === 'cn-shanghai' }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        const shanghai = parked.regions.find((r) => r.regionId === 'cn-shanghai');
        // transientAttempts is 3 here: the unconfirmed delete carries no cloud details, and the
        // attempts come from the policy Temporal ran out of.
        expect(shanghai).toMatchObject({ status: 'failed', attempts: 3, lastError: { code: 'RegionDeleteUnconfirmed' } });
        expect(shanghai?.lastError?.message).toMatch(/still listed the copy 300 ms later/);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
      REGIONS,
      { confirmTimeoutMs: 300 },
    );
  });

  it('gives DeleteTemplate.Failed from DeleteImage the template-attempts budget', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: (regionId) => (regionId === 'cn-shanghai' ? { code: 'DeleteTemplate.Failed' } : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 5, templateAttempts: 2 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.regions.find((r) => r.regionId === 'cn-shanghai')).toMatchObject({
          status: 'failed',
          attempts: 2,
          lastError: { code: 'DeleteTemplate.Failed' },
        });
        expect(scenario.cloud.calls.filter((c) => c === 'deleteImageInRegion cn-shanghai')).toHaveLength(2);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
    );
  });

  it('gives a transient error on a region delete the transient budget, also when the template budget is larger', async () => {
    await withScenario(
      () => ({ deleteRegion: (regionId) => (regionId === 'cn-shanghai' ? { code: 'InternalError' } : 'ok') }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1, transientAttempts: 2, templateAttempts: 4 });
        const parked = await waitForStatus(handle, 'awaiting-retry');
        expect(parked.regions.find((r) => r.regionId === 'cn-shanghai')).toMatchObject({
          status: 'failed',
          attempts: 2,
          lastError: { code: 'InternalError' },
        });
        expect(scenario.cloud.calls.filter((c) => c === 'deleteImageInRegion cn-shanghai')).toHaveLength(2);
        await handle.executeUpdate(abandonUpdate, { args: [{}] });
      },
    );
  });

  it('fails with ParkTimeout when nobody acts within the park timeout', async () => {
    await withScenario(failingRegion({ value: false }), async (scenario) => {
      const handle = await start(scenario, { parkTimeoutSeconds: 2 });
      const failure = await failureOf(handle);
      expect((failure as ApplicationFailure).type).toBe('ParkTimeout');
      expect(reportOf(failure).status).toBe('failed');
      expect(await searchStatus(handle)).toBe('Failed');
    });
  });
});

describe('deleteImage: cancelled', () => {
  it('before the pivot: compensates and leaves the image as it was', async () => {
    await withScenario(
      // Region deletes in flight are let finish (here the cloud refuses them), so none ends up deleted.
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'ImageNotAllowDelete' } }) }),
      async (scenario) => {
        const handle = await start(scenario);
        await waitForPhase(handle, 'deleting-regions');
        await handle.cancel();
        const failure = await failureOf(handle);
        expect(failure).toBeInstanceOf(CancelledFailure);
        const progress = await handle.query(progressQuery);
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBeUndefined();
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(await searchStatus(handle)).toBe('Cancelled');
      },
    );
  });

  it('after the pivot: stops and reports what is deleted and what is not, without compensating', async () => {
    await withScenario(
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: (regionId) => (regionId === 'cn-shanghai' ? { untilCancelHeard: true, then: { code: 'ImageNotAllowDelete' } } : 'ok'),
      }),
      async (scenario) => {
        const handle = await start(scenario);
        for (;;) {
          const progress = await handle.query(progressQuery);
          if (progress.regions.filter((r) => r.status === 'deleted').length === 2) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await handle.cancel();
        expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
        const progress = await handle.query(progressQuery);
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBeDefined();
        expect(progress.regions.find((r) => r.regionId === 'cn-shanghai')?.status).not.toBe('deleted');
        expect(progress.error?.message).toContain('Still present in: cn-shanghai');
        expect(scenario.cloud.recreated).toEqual([]);
        // What remains is read from the image's regions alone, not from a full image read with its children lists.
        expect(scenario.cloud.calls.filter((c) => c.startsWith('getImage'))).toHaveLength(1);
        expect(scenario.cloud.calls).toContain(`imageRegions ${scenario.imageId}`);
      },
    );
  });
});

/**
 * Starts a deletion that runs one delete at a time, cancels it once `call` has reached the cloud
 * (after `beforeCancel`, which may change the script), checks that it ended cancelled, and
 * returns it with its final report.
 */
async function cancelOnceCalled(
  scenario: Scenario,
  call: string,
  input: Partial<DeleteImageInput> = {},
  beforeCancel: () => void = () => undefined,
): Promise<{ handle: WorkflowHandle; progress: DeletionProgress }> {
  const handle = await start(scenario, { regionConcurrency: 1, ...input });
  await waitForCall(scenario, call);
  beforeCancel();
  await handle.cancel();
  expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
  return { handle, progress: await handle.query(progressQuery) };
}

describe('deleteImage: cancelled while a delete is on the wire', () => {
  it('waits for a region delete in flight: one that lands passes the pivot, so nothing is re-created', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => ({ untilCancelHeard: true, then: 'ok' }) }),
      async (scenario) => {
        const { handle, progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1');
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBe('ap-southeast-1');
        expect(progress.regions.map((r) => r.status)).toEqual(['deleted', 'pending', 'pending']);
        expect(progress.error?.message).toContain('after the point of no return');
        // No region delete started after the cancellation.
        expect(scenario.cloud.calls.filter((c) => c.startsWith('deleteImageInRegion'))).toEqual(['deleteImageInRegion ap-southeast-1']);
        expect(scenario.cloud.recreated).toEqual([]);
        expect(await searchStatus(handle)).toBe('Cancelled');
        // The delete was asked to stop at once (which ends its retries) and its answer was waited
        // for: no drain timer, and it completed after the cancel request.
        const events = (await handle.fetchHistory()).events ?? [];
        const cancelRequested = events.findIndex((event) => event.activityTaskCancelRequestedEventAttributes);
        const completed = events.findIndex((event, index) => index > cancelRequested && event.activityTaskCompletedEventAttributes);
        expect(events.filter((event) => event.timerStartedEventAttributes)).toHaveLength(0);
        expect(cancelRequested).toBeGreaterThan(events.findIndex((event) => event.workflowExecutionCancelRequestedEventAttributes));
        expect(completed).toBeGreaterThan(cancelRequested);
        await recordHistoryIfAsked('cancelled-waiting-for-a-region-delete', handle);
      },
    );
  });

  it('does not retry a region delete that fails after the cancel: before the pivot the templates come back', async () => {
    await withScenario(
      // The first attempt fails transiently once the cancel has arrived; a retry would succeed.
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: (_region, call) => (call === 1 ? { untilCancelHeard: true, then: { code: 'InternalError' } } : 'ok') }),
      async (scenario) => {
        const { handle, progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1');
        expect(scenario.cloud.calls.filter((c) => c.startsWith('deleteImageInRegion'))).toEqual(['deleteImageInRegion ap-southeast-1']);
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBeUndefined();
        expect(progress.regions.find((r) => r.regionId === 'ap-southeast-1')).toMatchObject({ status: 'failed', lastError: { code: 'InternalError' } });
        expect(progress.error?.message).toContain('before any region was deleted');
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        await recordHistoryIfAsked('cancelled-a-region-delete-not-retried', handle);
      },
    );
  });

  it('waits for a region delete that got no answer before re-creating anything: one that lands late passes the pivot', async () => {
    let reads = 0;
    await withScenario(
      // The delete times out once the cancel has arrived; the cloud applies it all the same, and lists that only later.
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'RequestTimeout' } }),
        remainingRegions: () => {
          reads += 1;
          return reads === 1 ? REGIONS : REGIONS.filter((regionId) => regionId !== 'ap-southeast-1');
        },
      }),
      async (scenario) => {
        const { handle, progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1', { unansweredDeleteWaitSeconds: 2 });
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBe('ap-southeast-1');
        expect(progress.regions.map((r) => [r.regionId, r.status])).toEqual([
          ['ap-southeast-1', 'deleted'],
          ['cn-hangzhou', 'pending'],
          ['cn-shanghai', 'pending'],
        ]);
        expect(progress.error?.message).toContain('after the point of no return');
        expect(scenario.cloud.recreated).toEqual([]);
        expect(reads).toBe(2);
        const events = (await handle.fetchHistory()).events ?? [];
        expect(events.filter((event) => event.timerStartedEventAttributes)).toHaveLength(1);
        await recordHistoryIfAsked('cancelled-an-unanswered-delete-landed-late', handle);
      },
    );
  });

  it('reports a region it never sent a delete to, found gone at the cancel, as already gone', async () => {
    await withScenario(
      // One delete at a time: ap-southeast-1 is refused once the cancel is heard; cn-shanghai's copy went meanwhile (not by imgdel).
      (imageId) => ({
        ...twoTemplates(imageId),
        deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'ImageNotAllowDelete' } }),
        remainingRegions: () => ['ap-southeast-1', 'cn-hangzhou'],
      }),
      async (scenario) => {
        const { progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1');
        expect(progress.pivotRegion).toBeUndefined();
        expect(scenario.cloud.calls).not.toContain('deleteImageInRegion cn-shanghai');
        expect(progress.regions.find((r) => r.regionId === 'cn-shanghai')).toMatchObject({ status: 'deleted', alreadyGone: true });
      },
    );
  });

  it('re-creates the templates when a delete that got no answer still has not shown after the wait, and says it may land', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'RequestTimeout' } }), remainingRegions: () => REGIONS }),
      async (scenario) => {
        const { progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1', { unansweredDeleteWaitSeconds: 1 });
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBeUndefined();
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(progress.error?.message).toContain('before any region was known to be deleted');
        expect(progress.error?.message).toContain('The delete in ap-southeast-1 (RequestTimeout) got no answer');
        expect(progress.error?.message).not.toContain('as they were');
      },
    );
  });

  it('with no template to restore, does not claim templates were re-created', async () => {
    await withScenario(
      () => ({ deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'RequestTimeout' } }), remainingRegions: () => REGIONS }),
      async (scenario) => {
        const { progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1', { unansweredDeleteWaitSeconds: 1 });
        expect(progress.status).toBe('cancelled');
        expect(progress.templates).toEqual([]);
        expect(progress.error?.message).toContain('before any region was known to be deleted; no template had been deleted.');
        expect(progress.error?.message).not.toContain('re-created');
      },
    );
  });

  it('counts a region delete the cloud accepted as deleted when the cancel stops its confirmation, so nothing is re-created', async () => {
    await withScenario(
      // The copy stays listed (an eventually consistent list), also when the saga asks what remains.
      (imageId) => ({
        ...twoTemplates(imageId),
        stillListed: (regionId) => regionId === 'ap-southeast-1',
        remainingRegions: () => REGIONS,
      }),
      async (scenario) => {
        // The activity hears of the cancel at its first heartbeat, a third of its 30 s heartbeat timeout in.
        const { progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1');
        expect(progress.status).toBe('cancelled');
        expect(progress.pivotRegion).toBe('ap-southeast-1');
        expect(progress.regions.map((r) => r.status)).toEqual(['deleted', 'pending', 'pending']);
        expect(progress.error?.message).toContain('after the point of no return');
        expect(scenario.cloud.recreated).toEqual([]);
      },
      REGIONS,
      { confirmTimeoutMs: 60_000 },
    );
  }, 60_000);

  it('stops a hung region delete at once and settles from what the cloud lists', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => 'hang' }),
      async (scenario) => {
        const { handle, progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1');
        expect(progress.status).toBe('cancelled');
        // The hung delete never landed: the cloud still lists every region, so the templates come back.
        expect(progress.pivotRegion).toBeUndefined();
        expect(progress.regions.map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
        expect(progress.error?.message).toContain('before any region was deleted');
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(scenario.cloud.calls).toContain(`imageRegions ${scenario.imageId}`);
        // The delete acknowledged the cancellation (at a heartbeat) before the saga read the regions.
        const events = (await handle.fetchHistory()).events ?? [];
        const cancelled = events.findIndex((event) => event.activityTaskCanceledEventAttributes);
        const regionsRead = events.findIndex((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'remainingRegions');
        expect(cancelled).toBeGreaterThan(-1);
        expect(regionsRead).toBeGreaterThan(cancelled);
        expect(events.filter((event) => event.timerStartedEventAttributes)).toHaveLength(0);
      },
    );
  });

  it('says in its progress that a cancel was requested while a delete in flight holds it, and not in the final report', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteTemplate: () => ({ heldUntil: held, then: 'ok' }) }),
      async (scenario) => {
        const handle = await start(scenario, { regionConcurrency: 1 });
        await waitForCall(scenario, 'deleteTemplate b-1');
        expect((await handle.query(progressQuery)).cancelRequested).toBeUndefined();
        await handle.cancel();
        const winding = await handle.query(progressQuery);
        expect(winding.status).toBe('running');
        expect(winding.cancelRequested).toBe(true);
        expect(winding.details).toMatch(/^Cancel requested: /);
        release();
        expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
        const report = await handle.query(progressQuery);
        expect(report.status).toBe('cancelled');
        expect(report.cancelRequested).toBeUndefined();
      },
    );
  });

  it('waits for a template delete in flight before re-creating the templates', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteTemplate: () => ({ untilCancelHeard: true, then: 'ok' }) }),
      async (scenario) => {
        const { progress } = await cancelOnceCalled(scenario, 'deleteTemplate b-1');
        expect(progress.templates.map((t) => [t.templateId, t.status])).toEqual([
          ['b-1', 'restored'],
          ['b-2', 'pending'],
        ]);
        expect(scenario.cloud.recreated).toEqual(['tpl-b-1']);
        expect(scenario.cloud.calls.filter((c) => c.startsWith('deleteTemplate'))).toEqual(['deleteTemplate b-1']);
      },
    );
  });

  it('still re-creates the templates and ends cancelled when the regions cannot be read after the cancellation', async () => {
    await withScenario(
      (imageId) => ({ ...twoTemplates(imageId), deleteRegion: () => ({ untilCancelHeard: true, then: { code: 'ImageNotAllowDelete' } }) }),
      async (scenario) => {
        const { handle, progress } = await cancelOnceCalled(scenario, 'deleteImageInRegion ap-southeast-1', {}, () => {
          scenario.cloud.script.image = { code: 'ServiceUnavailable' };
        });
        expect(progress.status).toBe('cancelled');
        expect(progress.error?.message).toMatch(/could not read/);
        expect(scenario.cloud.recreated.sort()).toEqual(['tpl-b-1', 'tpl-b-2']);
        expect(await searchStatus(handle)).toBe('Cancelled');
      },
    );
  });
});

async function waitForPhase(handle: WorkflowHandle, phase: DeletionProgress['phase']): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await handle.query(progressQuery)).phase === phase) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`workflow never reached phase ${phase}`);
}
