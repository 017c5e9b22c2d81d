/**
 * The Temporal UI's "Stack Trace" tab (the `__stack_trace` query) must still say where a deletion
 * waits: the workflow bundle caps the frames a stack keeps (src/workflows/stack-traces.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { progressQuery, WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { WORKFLOW_STACK_TRACE_FRAMES } from '../../src/workflows/stack-traces.js';
import { seedImage } from '../client/fixtures.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.close();
});

/** The region delete is held this long at the emulator: the query runs while the saga waits for it. */
const HELD_DELETE_MS = 10_000;
/** How long the deletion may take to reach its region delete on a busy machine. */
const REACH_REGION_DELETE_MS = 30_000;

it('the stack trace of a deletion waiting for a region delete names the saga step, in its TypeScript source', async () => {
  const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai'], templates: 0 });
  await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: HELD_DELETE_MS, times: 1 });
  const handle = await stack.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: stack.taskQueue,
    workflowId: `delete-image-${imageId}`,
    args: [{ imageId }],
  });
  await expect
    .poll(async () => (await handle.query(progressQuery)).regions[0]?.status, { timeout: REACH_REGION_DELETE_MS, interval: 50 })
    .toBe('deleting');

  const trace = await handle.query<string>('__stack_trace');

  // The region delete's activity, reached from the saga's own step, mapped to its source file.
  expect(trace).toMatch(/deleteRegion \(.*src\/workflows\/delete-image\.ts:\d+:\d+\)/);
  // Each promise's stack keeps the capped number of frames: the cap reached the workflow context.
  const stacks = trace.split(/\n\s*\n/).filter((block) => block.includes(' at '));
  expect(stacks.length).toBeGreaterThan(1);
  const framesPerStack = stacks.map((block) => block.split('\n').filter((line) => /^\s+at /.test(line)).length);
  expect(Math.max(...framesPerStack)).toBeLessThanOrEqual(WORKFLOW_STACK_TRACE_FRAMES);
  expect((await handle.result()).status).toBe('deleted');
});
