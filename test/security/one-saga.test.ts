/**
 * One saga per image, whatever the callers do: concurrent starts of the same image (client
 * module and raw starts with USE_EXISTING) attach to one workflow run, and the emulator's
 * call log shows each region and template deleted exactly once. After success, starting
 * again answers "already deleted" and never calls DeleteImage.
 */
import { describe, expect, it } from 'vitest';
import type { ImgdelClient } from '../../src/client/index.js';
import type { EmulatorCall } from '../../src/emulator/admin-client.js';
import { listParam } from '../../src/emulator/params.js';
import { WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { imgdel as runCli, seedImage, stackEnv, useClientStack } from '../client/fixtures.js';
import type { TestStack } from '../helpers/stack.js';

const REGIONS = ['cn-beijing', 'cn-hangzhou', 'cn-shanghai'];

let stack: TestStack;
let imgdel: ImgdelClient;

useClientStack((started, client) => {
  stack = started;
  imgdel = client;
});

async function deletesOf(imageId: string): Promise<{ images: EmulatorCall[]; templates: EmulatorCall[] }> {
  const calls = await stack.admin.calls();
  return {
    images: calls.filter((call) => call.action === 'DeleteImage' && listParam(call.params, 'ImageId').includes(imageId)),
    templates: calls.filter((call) => call.action === 'DeleteTemplates' && listParam(call.params, 'TemplateIds').some((id) => id.includes(imageId.slice(4)))),
  };
}

describe('one deletion per image', () => {
  it('concurrent starts of one image run one saga that deletes each region and template once', async () => {
    const imageId = await seedImage(stack.admin, { regions: REGIONS, templates: 2 });
    // Slow deletes keep the saga running while every start arrives.
    await stack.admin.addFault({ action: 'DeleteTemplates', latencyMs: 300, times: -1 });
    const workflowId = `delete-image-${imageId}`;
    const starts = await Promise.all([
      ...Array.from({ length: 6 }, () => imgdel.startDeletion({ imageId })),
      ...Array.from({ length: 4 }, () =>
        stack.client.workflow
          .start(WORKFLOW_TYPE, { taskQueue: stack.taskQueue, workflowId, args: [{ imageId }], workflowIdConflictPolicy: 'USE_EXISTING' })
          .then((handle) => ({ runId: handle.firstExecutionRunId, started: undefined })),
      ),
    ]);
    expect(new Set(starts.map((start) => start.runId)).size).toBe(1);
    // Exactly one of the client's starts (or none, when a raw one won the race) started it.
    expect(starts.filter((start) => start.started === true).length).toBeLessThanOrEqual(1);
    const outcome = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(outcome.status).toBe('deleted');
    await stack.admin.clearFaults();

    const { count } = await stack.client.workflow.count(`WorkflowId = '${workflowId}'`);
    expect(count).toBe(1);
    const deletes = await deletesOf(imageId);
    const succeeded = deletes.images.filter((call) => call.code === null);
    expect(succeeded.map((call) => call.params['BizRegionId']).sort()).toEqual(REGIONS);
    expect(deletes.images).toHaveLength(REGIONS.length);
    expect(deletes.templates.filter((call) => call.code === null)).toHaveLength(2);
  });

  it('a start after a completed deletion answers "already deleted" and calls nothing', async () => {
    const imageId = await seedImage(stack.admin, { regions: REGIONS, templates: 1 });
    const first = await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
    const callsBefore = (await stack.admin.calls()).length;

    const again = await imgdel.startDeletion({ imageId });
    expect(again).toMatchObject({ alreadyDeleted: true, started: false, runId: first.runId });
    const cli = await runCli(['delete', imageId], stackEnv(stack));
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('already deleted');

    // Not even a read: the answer comes from the finished workflow, not from the cloud.
    expect((await stack.admin.calls()).length).toBe(callsBefore);
    const { count } = await stack.client.workflow.count(`WorkflowId = 'delete-image-${imageId}'`);
    expect(count).toBe(1);
  });

  it('a raw start after a completed deletion runs a new saga that stops at validation, before any DeleteImage', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-hangzhou'], templates: 0 });
    await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
    const deletesBefore = (await deletesOf(imageId)).images.length;
    const handle = await stack.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: stack.taskQueue,
      workflowId: `delete-image-${imageId}`,
      args: [{ imageId, retryInitialIntervalMs: 20 }],
    });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeDefined();
    expect((await imgdel.outcome(imageId)).error?.code).toBe('Image.NotExist');
    expect((await deletesOf(imageId)).images.length).toBe(deletesBefore);
  });
});
