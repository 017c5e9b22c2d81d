/**
 * What anyone with read access to Temporal sees of a deletion — workflow id, search
 * attributes, the start summary and every activity summary — names the image and its
 * status only: never a credential, never an account id.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { ImgdelClient } from '../../src/client/index.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { SEARCH_STATUS } from '../../src/workflows/model.js';
import { seedImage, useClientStack } from '../client/fixtures.js';
import type { TestStack } from '../helpers/stack.js';

/** Nothing of these may show up where a workflow is listed or summarised. */
const NEVER_SHOWN = [
  EMULATOR_DEFAULTS.accessKeyId,
  EMULATOR_DEFAULTS.accessKeySecret,
  EMULATOR_DEFAULTS.accountId,
  EMULATOR_DEFAULTS.otherAccountId,
];
const STATUS_VALUES = new Set(Object.values(SEARCH_STATUS));
/** Temporal's own attributes: the worker builds that ran it, and the patches it went through. */
const TEMPORAL_OWN = new Set(['BuildIds', 'TemporalChangeVersion']);

let stack: TestStack;
let imgdel: ImgdelClient;

useClientStack((started, client) => {
  stack = started;
  imgdel = client;
});

function expectNothingSecret(text: string, where: string): void {
  for (const value of NEVER_SHOWN) expect(text.includes(value), `${where} shows ${value}`).toBe(false);
}

function decode(data: Uint8Array | null | undefined): unknown {
  return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as unknown) : undefined;
}

/** Every activity summary and every search-attribute value the history recorded. */
async function recordedMetadata(handle: WorkflowHandle): Promise<{ summaries: string[]; searchAttributes: Array<[string, unknown]> }> {
  const history = await handle.fetchHistory();
  const summaries: string[] = [];
  const searchAttributes: Array<[string, unknown]> = [];
  for (const event of history.events ?? []) {
    const summary = decode(event.userMetadata?.summary?.data);
    if (typeof summary === 'string') summaries.push(summary);
    const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
    for (const [name, payload] of Object.entries(fields)) {
      if (!TEMPORAL_OWN.has(name)) searchAttributes.push([name, decode(payload.data)]);
    }
  }
  return { summaries, searchAttributes };
}

async function checkDeletion(imageId: string): Promise<void> {
  const handle = stack.client.workflow.getHandle(`delete-image-${imageId}`);
  await handle.result().catch(() => undefined);
  const description = await handle.describe();

  expect(description.workflowId).toBe(`delete-image-${imageId}`);
  const attributes = description.typedSearchAttributes.getAll();
  const ours = attributes.filter((pair) => !TEMPORAL_OWN.has(pair.key.name));
  expect(ours.map((pair) => pair.key.name).sort()).toEqual(['DeletionStatus', 'ImageId']);
  for (const pair of ours) {
    if (pair.key.name === 'ImageId') expect(pair.value).toBe(imageId);
    else expect(STATUS_VALUES.has(String(pair.value))).toBe(true);
  }

  const summary = await description.staticSummary();
  expect(summary).toBe(`Delete image ${imageId}`);

  const recorded = await recordedMetadata(handle);
  expect(recorded.summaries.length).toBeGreaterThan(0);
  for (const activitySummary of recorded.summaries) {
    expect(activitySummary).toContain(imageId);
    expectNothingSecret(activitySummary, 'an activity summary');
  }
  expect(recorded.searchAttributes.length).toBeGreaterThan(0);
  for (const [name, value] of recorded.searchAttributes) {
    expect(['ImageId', 'DeletionStatus']).toContain(name);
    if (name === 'ImageId') expect(value).toBe(imageId);
    else expect(STATUS_VALUES.has(String(value))).toBe(true);
  }
  expectNothingSecret(JSON.stringify({ id: description.workflowId, attributes, summary, recorded }), 'the listing');
}

describe('workflow ids, search attributes and summaries', () => {
  it('name only the image and its status, for a deletion that succeeds', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-hangzhou', 'cn-shanghai'], templates: 2 });
    await imgdel.startDeletion({ imageId, reason: 'retired', requestedBy: 'security test' });
    await checkDeletion(imageId);
  });

  it('name only the image and its status, for a deletion that compensates', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-hangzhou'], templates: 2 });
    await stack.admin.addFault({ action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: `b-${imageId.slice(4)}0`, times: -1 });
    await imgdel.startDeletion({ imageId, transientAttempts: 2, templateAttempts: 2, retryInitialIntervalMs: 20 });
    await checkDeletion(imageId);
    expect((await imgdel.outcome(imageId)).status).toBe('compensated');
    await stack.admin.clearFaults();
  });

  it("name only the image and its status, for another account's image (whose refusal names the accounts)", async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-hangzhou'] });
    await stack.admin.seed({
      images: [{ imageId, imageType: 'User', aliUid: EMULATOR_DEFAULTS.otherAccountId, status: 'AVAILABLE', productType: 'CloudDesktop', regions: ['cn-hangzhou'] }],
    });
    await imgdel.startDeletion({ imageId });
    await checkDeletion(imageId);
    const outcome = await imgdel.outcome(imageId);
    expect(outcome.status).toBe('rejected');
    expect(outcome.error?.code).toBe('ImageDeleteFailed.NotAllow');
    expect(outcome.error?.message).toContain(`belongs to account ${EMULATOR_DEFAULTS.otherAccountId}`);
  });

  it('give a dry run an id made of the image id and a fixed suffix only', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-hangzhou'] });
    const started = await imgdel.startDeletion({ imageId, dryRun: true });
    expect(started.workflowId).toBe(`delete-image-${imageId}-dry-run`);
    const description = await stack.client.workflow.getHandle(started.workflowId).describe();
    expect(await description.staticSummary()).toBe(`Dry run: delete image ${imageId}`);
  });
});
