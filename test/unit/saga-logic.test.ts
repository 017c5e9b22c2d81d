/** Pure pieces of the saga: input schema, bounded parallelism, rules, failures, narrative. */
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureFromCloudError, type CloudFailureDetails } from '../../src/activities/failures.js';
import { refusalFor } from '../../src/activities/validation.js';
import { CloudError } from '../../src/cloud/errors.js';
import type { CloudImage } from '../../src/cloud/port.js';
import { runBounded } from '../../src/workflows/bounded.js';
import { attemptsOf, causeFailureOf, stepErrorFrom, unansweredFailure } from '../../src/workflows/failure-causes.js';
import { checkInput, resolveInput, DEFAULTS } from '../../src/workflows/input.js';
import type { DeletionProgress, Phase } from '../../src/workflows/model.js';
import { narrate } from '../../src/workflows/narrative.js';

describe('workflow input', () => {
  it('accepts a minimal input and fills safe defaults', () => {
    const check = checkInput({ imageId: 'img-0123abcd' });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(resolveInput(check.input)).toMatchObject({ dryRun: false, regionConcurrency: DEFAULTS.regionConcurrency });
  });

  it('lets a cancellation wait 2 minutes for the deletes in flight unless the input says otherwise', () => {
    const defaults = checkInput({ imageId: 'img-0123abcd' });
    const shorter = checkInput({ imageId: 'img-0123abcd', cancelDrainSeconds: 5 });
    if (!defaults.ok || !shorter.ok) throw new Error('expected valid inputs');
    expect(resolveInput(defaults.input).cancelDrainSeconds).toBe(120);
    expect(resolveInput(shorter.input).cancelDrainSeconds).toBe(5);
  });

  it('waits 30 s for a region delete that got no answer unless the input says otherwise (0: not at all)', () => {
    const defaults = checkInput({ imageId: 'img-0123abcd' });
    const none = checkInput({ imageId: 'img-0123abcd', unansweredDeleteWaitSeconds: 0 });
    if (!defaults.ok || !none.ok) throw new Error('expected valid inputs');
    expect(resolveInput(defaults.input).unansweredDeleteWaitSeconds).toBe(30);
    expect(resolveInput(none.input).unansweredDeleteWaitSeconds).toBe(0);
  });

  it.each([
    ['missing', {}, 'imageId: '],
    ['null', null, 'input: '],
    ['wrong prefix', { imageId: 'm-0123abcd' }, 'imageId: '],
    ['upper case', { imageId: 'img-ABCD1234' }, 'imageId: '],
    ['look-alike letters', { imageId: 'іmg-0123abcd' }, 'imageId: '],
    ['too long', { imageId: `img-${'a'.repeat(80)}` }, 'imageId: '],
    ['extra field', { imageId: 'img-0123abcd', force: true }, 'input: unknown field "force"'],
    ['concurrency 0', { imageId: 'img-0123abcd', regionConcurrency: 0 }, 'regionConcurrency: '],
    ['park timeout of a year', { imageId: 'img-0123abcd', parkTimeoutSeconds: 365 * 86400 }, 'parkTimeoutSeconds: '],
    ['no drain on cancel', { imageId: 'img-0123abcd', cancelDrainSeconds: 0 }, 'cancelDrainSeconds: '],
    ['a drain of two hours', { imageId: 'img-0123abcd', cancelDrainSeconds: 7200 }, 'cancelDrainSeconds: '],
    ['a negative wait for an unanswered delete', { imageId: 'img-0123abcd', unansweredDeleteWaitSeconds: -1 }, 'unansweredDeleteWaitSeconds: '],
    ['a wait of two hours for an unanswered delete', { imageId: 'img-0123abcd', unansweredDeleteWaitSeconds: 7200 }, 'unansweredDeleteWaitSeconds: '],
  ])('rejects %s with a message that begins with the field', (_label, input, prefix) => {
    const check = checkInput(input);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problems.slice(0, prefix.length)).toBe(prefix);
  });

  it('says what the smallest allowed duration is, in words a person reads', () => {
    const check = checkInput({ imageId: 'img-0123abcd', cancelDrainSeconds: 0 });
    expect(check.ok ? '' : check.problems).toContain('cancelDrainSeconds: must be at least 1 second');
    expect(check.ok ? '' : check.problems).not.toContain('1 seconds');
  });
});

describe('runBounded', () => {
  it('never runs more than the concurrency at once and runs everything', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await Promise.resolve();
      await Promise.resolve();
      done.push(item);
      inFlight -= 1;
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('launches nothing new once asked to stop, but lets the ones in flight finish', async () => {
    const started: number[] = [];
    let stop = false;
    await runBounded(
      [1, 2, 3, 4],
      2,
      async (item) => {
        started.push(item);
        await Promise.resolve();
        if (item === 1) stop = true;
      },
      () => stop,
    );
    expect(started).toEqual([1, 2]);
  });
});

const customImage: CloudImage = {
  imageId: 'img-rules001',
  imageName: 'rules',
  imageType: 'User',
  ownerAccountId: '100',
  status: 'AVAILABLE',
  productType: 'CloudDesktop',
  regions: ['cn-hangzhou'],
  hasCommunityChildren: false,
  hasSharedChildren: false,
};

describe('deletion rules', () => {
  it.each<[string, Partial<CloudImage>, string | undefined]>([
    ['a custom image of this account', {}, undefined],
    ['a shared image', { imageType: 'Shared' }, 'ImageDeleteFailed.NotAllowSharedImage'],
    ['a system image', { imageType: 'System' }, 'ImageDeleteFailed.NotAllow'],
    ['another account’s image', { ownerAccountId: '200' }, 'ImageDeleteFailed.NotAllow'],
    ['a community parent', { hasCommunityChildren: true }, 'ImageDeleteFailed.NotAllowCommunityParent'],
    ['an image with shared copies', { hasSharedChildren: true }, 'ImageDeleteFailed.HasSharedImage'],
  ])('%s → %s', (_label, change, code) => {
    expect(refusalFor({ ...customImage, ...change }, '100')?.code).toBe(code);
  });
});

describe('failureFromCloudError', () => {
  const context = { step: 'templateDelete' as const, what: 'delete template t', attempt: 2, attemptBudget: 3 };

  function failure(code: string, attempt: number): ApplicationFailure {
    const error = failureFromCloudError(new CloudError({ code, message: 'cloud says no', requestId: 'R1' }), { ...context, attempt });
    expect(error).toBeInstanceOf(ApplicationFailure);
    return error as ApplicationFailure;
  }

  it('keeps a bounded code retryable until the budget is spent', () => {
    expect(failure('DeleteTemplate.Failed', 2).nonRetryable).toBe(false);
    const spent = failure('DeleteTemplate.Failed', 3);
    expect(spent.nonRetryable).toBe(true);
    expect(spent.type).toBe('DeleteTemplate.Failed');
    expect((spent.details?.[0] as CloudFailureDetails).budgetSpent).toBe(true);
    expect(spent.message).toContain('gave up after 3 attempts');
  });

  it('fails rejected and blocked codes at once, transient ones never', () => {
    expect(failure('ImageDeleteFailed.NotAllow', 1).nonRetryable).toBe(true);
    expect(failure('ImageNotAllowDelete', 1).nonRetryable).toBe(true);
    expect(failure('InternalError', 99).nonRetryable).toBe(false);
  });

  it('carries the cloud code, request id and an actionable sentence', () => {
    const refused = failure('ImageNotAllowDelete', 1);
    expect(refused.type).toBe('ImageNotAllowDelete');
    expect((refused.details?.[0] as CloudFailureDetails).requestId).toBe('R1');
    expect(refused.message).toMatch(/Cloud says no\. .*then retry/);
  });

  it('keeps an id that begins the cloud message as the cloud wrote it (a capital would make it another, invalid id)', () => {
    const shared = failureFromCloudError(
      new CloudError({ code: 'ImageDeleteFailed.NotAllowSharedImage', message: 'img-demo0004 is a shared image', httpStatus: 400 }),
      context,
    ) as ApplicationFailure;
    expect(shared.message).toContain(': img-demo0004 is a shared image. ');
    expect(failure('ImageNotAllowDelete', 1).message).toContain(': Cloud says no. ');
  });

  it('retries an HTTP 429 with a code it does not know as transient, past the bounded budget', () => {
    const throttled = failureFromCloudError(
      new CloudError({ code: 'Quota.Exceeded.Rate', message: 'slow down', httpStatus: 429 }),
      { ...context, attempt: 3 },
    ) as ApplicationFailure;
    expect(throttled.nonRetryable).toBe(false);
    expect(throttled.details?.[0]).toMatchObject({ errorClass: 'transient', httpStatus: 429, budgetSpent: false });
    // The same code without the 429 is unknown: bounded, and this attempt spends the budget.
    const unknown = failureFromCloudError(
      new CloudError({ code: 'Quota.Exceeded.Rate', message: 'slow down', httpStatus: 400 }),
      { ...context, attempt: 3 },
    ) as ApplicationFailure;
    expect(unknown.nonRetryable).toBe(true);
  });

  it('waits as long as the cloud asked (x-acs-retry-after) before retrying a transient failure', () => {
    const throttled = failureFromCloudError(
      new CloudError({ code: 'Throttling.User', message: 'slow down', httpStatus: 400, retryAfterMs: 1_500 }),
      context,
    ) as ApplicationFailure;
    expect(throttled.nextRetryDelay).toBe(1_500);
    expect((throttled.details?.[0] as CloudFailureDetails).retryAfterMs).toBe(1_500);
    // Without the header, the retry policy's backoff applies.
    expect(failure('Throttling.User', 1).nextRetryDelay).toBeUndefined();
    expect((failure('Throttling.User', 1).details?.[0] as CloudFailureDetails).retryAfterMs).toBeUndefined();
  });

  it('sets no retry delay on a failure that is not retried as transient', () => {
    const refused = failureFromCloudError(
      new CloudError({ code: 'ImageNotAllowDelete', message: 'in use', retryAfterMs: 1_500 }),
      context,
    ) as ApplicationFailure;
    expect(refused.nextRetryDelay).toBeUndefined();
    expect((refused.details?.[0] as CloudFailureDetails).retryAfterMs).toBeUndefined();
  });

  it('passes non-cloud errors through unchanged for the retry policy', () => {
    const bug = new TypeError('oops');
    expect(failureFromCloudError(bug, context)).toBe(bug);
  });
});

describe('narrative', () => {
  const base: DeletionProgress = {
    imageId: 'img-story001',
    status: 'running',
    phase: 'validating',
    templates: [],
    regions: [
      { regionId: 'cn-hangzhou', status: 'deleted', attempts: 1 },
      { regionId: 'cn-shanghai', status: 'failed', attempts: 3, lastError: { code: 'InternalError', message: 'x' } },
    ],
    retries: 0,
    details: '',
  };
  const phases: Phase[] = ['validating', 'waiting-for-creation', 'deleting-templates', 'deleting-regions', 'compensating', 'awaiting-retry', 'finished'];

  it.each(phases)('says something about the image in phase %s', (phase) => {
    const text = narrate({ ...base, phase }, 3600, DEFAULTS.maxRetryRounds);
    expect(text).toContain('img-story001');
  });

  it('tells the operator what to do when parked', () => {
    const text = narrate({ ...base, phase: 'awaiting-retry', status: 'awaiting-retry' }, 7 * 86400, DEFAULTS.maxRetryRounds);
    expect(text).toContain('cn-shanghai (InternalError)');
    expect(text).toContain('imgdel retry img-story001');
    expect(text).toContain('7 days');
  });

  it('counts in words a person reads: one region, two regions, never "region(s)"', () => {
    const oneRegion = { regionId: 'cn-hangzhou', status: 'deleted' as const, attempts: 1 };
    const template = { templateId: 'b-story001', templateName: 'story', status: 'deleted' as const, attempts: 1 };
    const finished = { ...base, phase: 'finished' as const, status: 'deleted' as const };
    expect(narrate({ ...finished, regions: [oneRegion], templates: [template] }, 3600, 1)).toBe(
      'Image img-story001 is deleted in its only region, with the template that referenced it.',
    );
    expect(narrate({ ...finished, regions: [oneRegion, { ...oneRegion, regionId: 'cn-shanghai' }] }, 3600, 1)).toBe(
      'Image img-story001 is deleted in all 2 regions (no template referenced it).',
    );
    const parked = narrate({ ...base, phase: 'awaiting-retry', status: 'awaiting-retry', retries: 1 }, 86400, 1);
    expect(parked).toContain('deleted in 1 of 2 regions');
    expect(parked).toContain('retried 1 time,');
    expect(parked).toContain('at most 1 day.');
    expect(parked).not.toContain('(s)');
  });
});

describe('failure causes', () => {
  const timedOut = new ActivityFailure(
    'Activity task timed out',
    'deleteImageInRegion',
    '7',
    RetryState.MAXIMUM_ATTEMPTS_REACHED,
    'worker',
    new TimeoutFailure('activity StartToClose timeout', undefined, TimeoutType.START_TO_CLOSE),
  );

  it('keeps an activity timeout as the cause (no ApplicationFailure to report instead)', () => {
    expect(causeFailureOf(timedOut)).toBe(timedOut);
    expect(stepErrorFrom(timedOut).code).toBe('ActivityTimeout');
  });

  it('tells a delete that got no answer (it may still land) from one the cloud answered', () => {
    const failedWith = (code: string) => ({ status: 'failed', lastError: { code } });
    expect(unansweredFailure(failedWith('RequestTimeout'))).toBe('lost-answer');
    expect(unansweredFailure(failedWith('NetworkError'))).toBe('lost-answer');
    expect(unansweredFailure(failedWith(stepErrorFrom(timedOut).code))).toBe('timed-out');
    expect(unansweredFailure(failedWith('DeleteTemplate.Failed'))).toBeUndefined();
    expect(unansweredFailure(failedWith('RegionDeleteUnconfirmed'))).toBeUndefined();
    expect(unansweredFailure({ status: 'failed' })).toBeUndefined();
    expect(unansweredFailure({ status: 'pending', lastError: { code: 'RequestTimeout' } })).toBeUndefined();
  });

  it('reports the cloud error of an activity failure as the cause', () => {
    const cloud = ApplicationFailure.create({ type: 'ImageNotAllowDelete', message: 'in use', nonRetryable: true });
    const failure = new ActivityFailure('Activity task failed', 'deleteImageInRegion', '8', RetryState.NON_RETRYABLE_FAILURE, 'worker', cloud);
    expect(causeFailureOf(failure)).toBe(cloud);
    expect(causeFailureOf(undefined)).toBeUndefined();
  });

  it('counts the attempts of a step whose attempts ran out without a cloud error: the policy maximum', () => {
    const unconfirmed = ApplicationFailure.create({ type: 'RegionDeleteUnconfirmed', message: 'still listed' });
    const ranOut = new ActivityFailure('Activity task failed', 'deleteImageInRegion', '9', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', unconfirmed);
    expect(attemptsOf(ranOut, 10)).toBe(10);
    expect(attemptsOf(timedOut, 10)).toBe(10);
    // A cloud failure says which attempt it was; a step that failed for good at once made one.
    const cloud = failureFromCloudError(new CloudError({ code: 'InternalError', message: 'boom' }), {
      step: 'regionDelete',
      what: 'delete',
      attempt: 4,
      attemptBudget: 10,
    });
    expect(attemptsOf(new ActivityFailure('failed', 'deleteImageInRegion', '9', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cloud), 10)).toBe(4);
    const refused = ApplicationFailure.create({ type: 'Mystery', message: 'no', nonRetryable: true });
    expect(attemptsOf(new ActivityFailure('failed', 'deleteImageInRegion', '9', RetryState.NON_RETRYABLE_FAILURE, 'worker', refused), 10)).toBe(1);
  });
});
