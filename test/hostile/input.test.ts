/**
 * Hostile and malformed deletion requests, through every door: the CLI, the client
 * module, and a raw `client.workflow.start` with the workflow type name (which skips every
 * client-side check). The CLI and the client refuse with a clear error and start nothing;
 * the raw workflow fails at once with InvalidInput. No door reaches the cloud API: the
 * emulator's call log stays empty for the whole file.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImgdelClient, InvalidDeletionInputError, type ImgdelClient } from '../../src/client/index.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import { FailureType, WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { imgdel, stackEnv } from '../client/fixtures.js';
import { startTestStack, type TestStack, workflowExists } from '../helpers/stack.js';

const ONE_MEGABYTE = 1024 * 1024;
const HUGE_ID = `img-${'a'.repeat(ONE_MEGABYTE)}`;
const VALID_ID = 'img-hostile0001';

/** Whole workflow inputs, each wrong in one way. */
const BAD_INPUTS: ReadonlyArray<readonly [label: string, input: unknown, mentions: string]> = [
  ['null', null, 'input'],
  ['a bare image id string instead of an object', VALID_ID, 'input'],
  ['a number', 42, 'input'],
  ['an array', [{ imageId: VALID_ID }], 'input'],
  ['an empty object', {}, 'imageId'],
  ['an empty image id', { imageId: '' }, 'imageId'],
  ['a whitespace image id', { imageId: '   ' }, 'imageId'],
  ['an image id with surrounding spaces', { imageId: ` ${VALID_ID} ` }, 'imageId'],
  ['a 1 MB image id', { imageId: HUGE_ID }, 'imageId'],
  ['a NUL character', { imageId: 'img-host\u0000ile01' }, 'imageId'],
  ['a newline', { imageId: 'img-host\nile01' }, 'imageId'],
  ['an ANSI escape sequence', { imageId: 'img-hostile01\u001b[2J' }, 'imageId'],
  ['a zero-width space', { imageId: 'img-host\u200bile01' }, 'imageId'],
  ['a right-to-left override', { imageId: 'img-\u202ehostile01' }, 'imageId'],
  ['a Cyrillic look-alike letter', { imageId: 'img-h\u043estile01' }, 'imageId'],
  ['a Cyrillic look-alike in the prefix', { imageId: '\u0456mg-hostile01' }, 'imageId'],
  ['fullwidth digits', { imageId: 'img-hostile\uff10\uff11' }, 'imageId'],
  ['upper case', { imageId: 'IMG-HOSTILE01' }, 'imageId'],
  ['the wrong prefix image-', { imageId: 'image-hostile01' }, 'imageId'],
  ['a system image prefix m-', { imageId: 'm-hostile01' }, 'imageId'],
  ['a template id', { imageId: 'b-hostile01' }, 'imageId'],
  ['a too short id', { imageId: 'img-ab' }, 'imageId'],
  ['path traversal', { imageId: 'img-../../etc/passwd' }, 'imageId'],
  ['shell metacharacters', { imageId: 'img-hostile01;rm -rf /' }, 'imageId'],
  ['a numeric image id', { imageId: 12345 }, 'imageId'],
  ['an object as image id', { imageId: { id: VALID_ID } }, 'imageId'],
  ['an array as image id', { imageId: [VALID_ID] }, 'imageId'],
  ['a null image id', { imageId: null }, 'imageId'],
  ['an extra field', { imageId: VALID_ID, force: true }, 'force'],
  ['a __proto__ field', JSON.parse(`{"imageId":"${VALID_ID}","__proto__":{"admin":true}}`) as unknown, '__proto__'],
  ['regionConcurrency 0', { imageId: VALID_ID, regionConcurrency: 0 }, 'regionConcurrency'],
  ['a fractional regionConcurrency', { imageId: VALID_ID, regionConcurrency: 1.5 }, 'regionConcurrency'],
  ['negative transientAttempts', { imageId: VALID_ID, transientAttempts: -1 }, 'transientAttempts'],
  ['a park timeout of 30 000 years', { imageId: VALID_ID, parkTimeoutSeconds: 1e12 }, 'parkTimeoutSeconds'],
  ['dryRun as a string', { imageId: VALID_ID, dryRun: 'yes' }, 'dryRun'],
  ['a 501-character reason', { imageId: VALID_ID, reason: 'r'.repeat(501) }, 'reason'],
  ['a 1 ms retry interval', { imageId: VALID_ID, retryInitialIntervalMs: 1 }, 'retryInitialIntervalMs'],
  ['waitForCreationSeconds as a string', { imageId: VALID_ID, waitForCreationSeconds: '60' }, 'waitForCreationSeconds'],
];

/** `imgdel delete …` argument lists, each wrong in one way. */
const BAD_COMMAND_LINES: ReadonlyArray<readonly [label: string, argv: string[], stderr: RegExp]> = [
  ['an empty id', ['delete', ''], /invalid deletion input \(nothing was started\): imageId/],
  ['a whitespace id', ['delete', '   '], /invalid deletion input \(nothing was started\): imageId/],
  ['a 1 MB id', ['delete', HUGE_ID], /imageId: is longer than 64 characters/],
  ['a bell character', ['delete', 'img-host\u0007ile01'], /invalid deletion input \(nothing was started\): imageId/],
  ['an ANSI escape', ['delete', 'img-hostile01\u001b[31m'], /invalid deletion input \(nothing was started\): imageId/],
  ['a newline', ['delete', 'img-hostile01\nimg-other01'], /invalid deletion input \(nothing was started\): imageId/],
  ['a Cyrillic look-alike', ['delete', 'img-h\u043estile01'], /invalid deletion input \(nothing was started\): imageId/],
  ['fullwidth digits', ['delete', 'img-hostile\uff10\uff11'], /invalid deletion input \(nothing was started\): imageId/],
  ['a zero-width space', ['delete', 'img-host\u200bile01'], /invalid deletion input \(nothing was started\): imageId/],
  ['the wrong prefix', ['delete', 'image-hostile01'], /invalid deletion input \(nothing was started\): imageId/],
  ['a template id', ['delete', 'b-hostile01'], /invalid deletion input \(nothing was started\): imageId/],
  ['a number', ['delete', '12345'], /invalid deletion input \(nothing was started\): imageId/],
  ['a JSON object', ['delete', `{"imageId":"${VALID_ID}"}`], /invalid deletion input \(nothing was started\): imageId/],
  ['null', ['delete', 'null'], /invalid deletion input \(nothing was started\): imageId/],
  ['an unknown option', ['delete', VALID_ID, '--force'], /unknown option '--force'/],
  ['a region concurrency of 0', ['delete', VALID_ID, '--region-concurrency', '0'], /--region-concurrency: must be a whole number from 1 to 32/],
  ['a region concurrency that is not a number', ['delete', VALID_ID, '--region-concurrency', 'many'], /--region-concurrency: must be a whole number from 1 to 32/],
  ['an absurd park timeout', ['delete', VALID_ID, '--park-timeout', '1e12'], /--park-timeout: must be at most 2592000 seconds/],
  ['a 501-character reason', ['delete', VALID_ID, '--reason', 'r'.repeat(501)], /reason/],
];

let stack: TestStack;
/** Points the CLI and the client at a queue nobody polls: anything they started would wait there. */
let env: Record<string, string>;
let client: ImgdelClient;
const unpolledQueue = `hostile-unpolled-${randomUUID()}`;

beforeAll(async () => {
  stack = await startTestStack();
  env = { ...stackEnv(stack), IMGDEL_TASK_QUEUE: unpolledQueue };
  client = createImgdelClient({ env });
});

afterAll(async () => {
  await client?.close();
  await stack?.close();
});

/** For image ids short enough to be a workflow id: no deletion of it exists. */
async function expectNoDeletionOf(input: unknown): Promise<void> {
  const imageId = typeof input === 'object' && input !== null && 'imageId' in input ? input.imageId : input;
  if (typeof imageId === 'string' && imageId.length < 200) {
    expect(await workflowExists(stack.client, `delete-image-${imageId}`)).toBe(false);
  }
}

describe('the client module refuses malformed input and starts nothing', () => {
  for (const [label, input, mentions] of BAD_INPUTS) {
    it(`refuses ${label}`, async () => {
      // The client's type says DeleteImageInput; a JavaScript caller (or JSON from elsewhere) may send anything.
      const attempt = client.startDeletion(input as DeleteImageInput);
      await expect(attempt).rejects.toBeInstanceOf(InvalidDeletionInputError);
      const error = await attempt.catch((caught: unknown) => caught);
      expect(error instanceof Error ? error.message : '').toMatch(/^invalid deletion input \(nothing was started\): /);
      expect(error instanceof Error ? error.message : '').toContain(mentions);
      // A clear error is a short one: it never echoes a megabyte back.
      expect((error instanceof Error ? error.message : '').length).toBeLessThan(2_000);
      await expectNoDeletionOf(input);
    });
  }
});

describe('the CLI refuses malformed input with exit code 2 and starts nothing', () => {
  for (const [label, argv, stderr] of BAD_COMMAND_LINES) {
    it(`refuses ${label}`, async () => {
      const run = await imgdel(argv, env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(stderr);
      expect(run.stderr.length).toBeLessThan(4_000);
      expect(run.stdout).not.toContain('workflow id');
      await expectNoDeletionOf(argv[1]);
    });
  }

  it('started no workflow at all on the queue the CLI and the client used', async () => {
    const { count } = await stack.client.workflow.count(`TaskQueue = '${unpolledQueue}'`);
    expect(count).toBe(0);
  });
});

describe('a raw start with the workflow type name fails fast with InvalidInput', () => {
  for (const [label, input, mentions] of BAD_INPUTS) {
    it(`fails on ${label}`, async () => {
      const handle = await stack.client.workflow.start(WORKFLOW_TYPE, {
        taskQueue: stack.taskQueue,
        workflowId: `hostile-raw-${randomUUID()}`,
        args: [input],
      });
      const failure = await handle.result().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = failure instanceof WorkflowFailedError ? failure.cause : undefined;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      const applicationFailure = cause instanceof ApplicationFailure ? cause : undefined;
      expect(applicationFailure?.type).toBe(FailureType.InvalidInput);
      expect(applicationFailure?.nonRetryable).toBe(true);
      expect(applicationFailure?.message).toMatch(/^The deletion request is invalid, nothing was started: /);
      expect(applicationFailure?.message).toContain(mentions);
      expect(applicationFailure?.message.length).toBeLessThan(2_000);
      // Fast: it fails in its first workflow task, and schedules no activity, no timer.
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      expect(events.some((event) => event.activityTaskScheduledEventAttributes)).toBe(false);
      expect(events.some((event) => event.timerStartedEventAttributes)).toBe(false);
      expect(events.filter((event) => event.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    });
  }
});

describe('no door reached the cloud', () => {
  it('left the emulator call log empty', async () => {
    expect(await stack.admin.calls()).toEqual([]);
  });
});
