/**
 * End to end: the real activities and adapter, over signed HTTP, against the
 * emulator, with faults injected through its admin API.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import type { SeedImage, SeedTemplate } from '../../src/emulator/admin-client.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import { progressQuery, retryUpdate, WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { recordHistoryIfAsked } from '../helpers/histories.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const FIVE_REGIONS = ['ap-southeast-1', 'cn-beijing', 'cn-hangzhou', 'cn-shanghai', 'cn-shenzhen'];

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.close();
});

function image(imageId: string, regions: string[] = FIVE_REGIONS): SeedImage {
  return {
    imageId,
    imageName: `e2e ${imageId}`,
    imageType: 'User',
    aliUid: EMULATOR_DEFAULTS.accountId,
    status: 'AVAILABLE',
    productType: 'CloudDesktop',
    regions,
  };
}

function templatesOf(imageId: string, count = 2): SeedTemplate[] {
  return Array.from({ length: count }, (_, index) => ({
    templateId: `b-${imageId.slice(4)}${index}`,
    templateName: `${imageId}-template-${index}`,
    imageId,
    Description: 'kept verbatim through a compensation',
    SystemDiskSize: 80,
    TemplateType: 'USER',
    DataDiskList: [{ Size: 40, PerformanceLevel: 'PL0' }],
  }));
}

async function seeded(regions?: string[], templateCount = 2): Promise<string> {
  const imageId = `img-e2e${randomBytes(5).toString('hex')}`;
  await stack.admin.seed({ images: [image(imageId, regions)], templates: templatesOf(imageId, templateCount) });
  return imageId;
}

function start(imageId: string, input: Partial<DeleteImageInput> = {}): Promise<WorkflowHandle> {
  return stack.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: stack.taskQueue,
    workflowId: `delete-image-${imageId}`,
    args: [{ imageId, retryInitialIntervalMs: 20, transientAttempts: 4, templateAttempts: 3, ...input }],
  });
}

/** The ApplicationFailure a deletion failed with (a test failure if it did not fail so). */
async function applicationFailureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = (failure as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

async function cloudView(imageId: string) {
  const state = await stack.admin.state();
  return {
    image: state.images.find((candidate) => candidate.imageId === imageId),
    templates: state.templates.filter((template) => template.imageId === imageId),
  };
}

describe('end to end against the emulator', () => {
  it('deletes a clean 5-region image with 2 templates, in a small history', async () => {
    const imageId = await seeded();
    const handle = await start(imageId);
    const report = (await handle.result()) as DeletionProgress;
    expect(report.status).toBe('deleted');
    expect(report.regions.map((region) => region.regionId)).toEqual(FIVE_REGIONS);
    expect(report.regions.every((region) => region.status === 'deleted' && region.requestId)).toBe(true);
    const view = await cloudView(imageId);
    expect(view.image).toBeUndefined();
    expect(view.templates).toEqual([]);
    const history = await handle.fetchHistory();
    const events = history.events?.length ?? 0;
    // Issue budget: about 10 + 8 × (regions + templates) events for a clean run.
    expect(events).toBeLessThanOrEqual(10 + 8 * (5 + 2));
    await recordHistoryIfAsked('clean-5-regions-2-templates', handle);
  });

  it('gets through transient faults on every step', async () => {
    const imageId = await seeded(['cn-hangzhou', 'cn-shanghai']);
    const imageFaults: Array<[string, string]> = [
      ['ListImage', 'InternalError'],
      ['ListAppInstanceGroup', 'ServiceUnavailable'],
      ['ListWuyingServer', 'Throttling.User'],
      ['DescribeDesktopGroups', 'InternalError'],
      ['DescribeTemplates', 'QueryTemplate.Failed'],
      ['DeleteImage', 'Throttling.Api'],
    ];
    for (const [action, code] of imageFaults) await stack.admin.addFault({ action, code, imageId, times: 1 });
    // DeleteTemplates names templates, not the image: its fault is matched by template id.
    for (const template of templatesOf(imageId)) {
      await stack.admin.addFault({ action: 'DeleteTemplates', code: 'ServiceUnavailable', templateId: template.templateId, times: 1 });
    }
    const handle = await start(imageId);
    const report = (await handle.result()) as DeletionProgress;
    expect(report.status).toBe('deleted');
    const calls = await stack.admin.calls();
    // Every fault was answered (by action: a code alone may come from another step's fault).
    for (const [action, code] of [...imageFaults, ['DeleteTemplates', 'ServiceUnavailable']]) {
      expect(calls.some((call) => call.action === action && call.code === code), `${action} answered ${code}`).toBe(true);
    }
    expect((await cloudView(imageId)).image).toBeUndefined();
    await recordHistoryIfAsked('transient-faults', handle);
  });

  it('DeleteTemplate.Failed forever → compensated; the emulator shows the templates back and the image whole', async () => {
    const imageId = await seeded(['cn-hangzhou', 'cn-shanghai']);
    const [first, second] = templatesOf(imageId);
    if (!first || !second) throw new Error('two templates expected');
    await stack.admin.addFault({ action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: second.templateId, times: -1 });
    const handle = await start(imageId, { regionConcurrency: 1 });
    const cause = await applicationFailureOf(handle);
    expect(cause.type).toBe('Compensated');
    const view = await cloudView(imageId);
    expect(view.image?.regions).toEqual(['cn-hangzhou', 'cn-shanghai']);
    expect(view.templates.map((template) => template.templateName).sort()).toEqual([first.templateName, second.templateName]);
    const restored = view.templates.find((template) => template.templateName === first.templateName);
    expect(restored?.Description).toBe(first.Description);
    const creates = (await stack.admin.calls()).filter((call) => call.action === 'CreateTemplate' && call.code === null);
    expect(creates.filter((call) => call.params.TemplateName === first.templateName)).toHaveLength(1);
    expect((await stack.admin.calls()).some((call) => call.action === 'DeleteImage' && call.params.ImageId === imageId)).toBe(false);
    await stack.admin.clearFaults();
    await recordHistoryIfAsked('compensated-template-delete-failed', handle);
  });

  it('an image listed with no regional copy is rejected with ImageHasNoRegions, and nothing is deleted', async () => {
    const imageId = await seeded([]);
    const handle = await start(imageId);
    const cause = await applicationFailureOf(handle);
    expect(cause.type).toBe('ImageHasNoRegions');
    expect(cause.nonRetryable).toBe(true);
    // Refused at validation: its templates were not touched either.
    expect((await stack.admin.calls()).some((call) => call.action === 'DeleteImage' && call.params.ImageId === imageId)).toBe(false);
    expect((await cloudView(imageId)).templates).toHaveLength(2);
  });

  it('one region failing forever → parked → fault removed → retry → deleted', async () => {
    const imageId = await seeded(['cn-beijing', 'cn-hangzhou', 'cn-shanghai'], 1);
    await stack.admin.addFault({ action: 'DeleteImage', code: 'InternalError', imageId, regionId: 'cn-shanghai', times: -1 });
    const handle = await start(imageId, { regionConcurrency: 1 });
    let progress: DeletionProgress;
    for (;;) {
      progress = await handle.query(progressQuery);
      if (progress.status === 'awaiting-retry') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(progress.regions.find((region) => region.regionId === 'cn-shanghai')?.lastError?.code).toBe('InternalError');
    expect((await cloudView(imageId)).image?.regions).toEqual(['cn-shanghai']);
    await stack.admin.clearFaults();
    const afterRetry = await handle.executeUpdate(retryUpdate);
    expect(afterRetry.retries).toBe(1);
    const report = (await handle.result()) as DeletionProgress;
    expect(report.status).toBe('deleted');
    expect((await cloudView(imageId)).image).toBeUndefined();
    await recordHistoryIfAsked('parked-then-retried', handle);
  });
});
