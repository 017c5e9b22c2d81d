/**
 * classify() against the failure table of docs/deletion-saga.md, row by row (and per
 * step where the table gives a code different meanings), and explain() for every code.
 */
import { describe, expect, it } from 'vitest';
import { CloudError, ImgdelCode, SyntheticCode, classify, codeForHttpStatus, explain, isCloudError, type ErrorClass, type SagaStep } from '../../src/cloud/errors.js';

const ALL_STEPS: readonly SagaStep[] = [
  'validate',
  'templateLookup',
  'templateDelete',
  'templateRecreate',
  'regionDelete',
  'regionConfirm',
];

/** Codes whose class is the same wherever they show up ("any call" rows). */
const SAME_AT_EVERY_STEP: ReadonlyArray<[code: string, expected: ErrorClass]> = [
  ['InternalError', 'transient'],
  ['ServiceUnavailable', 'transient'],
  ['Throttling', 'transient'],
  ['Throttling.User', 'transient'],
  ['Throttling.Api', 'transient'],
  [SyntheticCode.NetworkError, 'transient'],
  [SyntheticCode.RequestTimeout, 'transient'],
  [SyntheticCode.HttpServerError, 'transient'],
  // A 4xx without a code: nothing says a retry helps ("anything unknown").
  [SyntheticCode.HttpClientError, 'bounded'],
  [SyntheticCode.MalformedResponse, 'transient'],
  // "from the DeleteImage call itself … same class as when they come from the template calls"
  ['QueryTemplate.Failed', 'transient'],
  ['DeleteTemplate.Failed', 'bounded'],
  ['ImageDeleteFailed.NotAllow', 'rejected'],
  ['ImageDeleteFailed.NotAllowSharedImage', 'rejected'],
  ['ImageDeleteFailed.NotAllowCommunityParent', 'rejected'],
  ['ImageDeleteFailed.HasSharedImage', 'rejected'],
  // blocked at validation and in a region delete; what follows (fail, compensate, park) is the workflow's choice
  ['ImageNotAllowDelete', 'blocked'],
  ['InvalidImageOperation.ImageIsCreating', 'blocked'],
];

describe('classify', () => {
  for (const [code, expected] of SAME_AT_EVERY_STEP) {
    it(`puts ${code} in class ${expected} at every step`, () => {
      for (const step of ALL_STEPS) expect(classify(code, step), `${code} at ${step}`).toBe(expected);
    });
  }

  it('rejects Image.NotExist during validation: nothing was changed', () => {
    expect(classify('Image.NotExist', 'validate')).toBe('rejected');
  });

  it('counts Image.NotExist in a region delete (and its confirmation) as done: the copy is already gone', () => {
    expect(classify('Image.NotExist', 'regionDelete')).toBe('done');
    expect(classify('Image.NotExist', 'regionConfirm')).toBe('done');
  });

  it("rejects imgdel's own ImageHasNoRegions at validation: nothing was changed", () => {
    expect(classify(ImgdelCode.ImageHasNoRegions, 'validate')).toBe('rejected');
  });

  it('counts InvalidTemplate.NotFound as done at every step but the region delete', () => {
    for (const step of ALL_STEPS.filter((step) => step !== 'regionDelete')) {
      expect(classify('InvalidTemplate.NotFound', step), step).toBe('done');
    }
  });

  it('retries InvalidTemplate.NotFound from DeleteImage (transient): the template is gone, the region\'s copy is not', () => {
    expect(classify('InvalidTemplate.NotFound', 'regionDelete')).toBe('transient');
  });

  it('retries DeleteTemplate.Failed only up to a budget (bounded), not as plain transient', () => {
    expect(classify('DeleteTemplate.Failed', 'templateDelete')).toBe('bounded');
    expect(classify('DeleteTemplate.Failed', 'regionDelete')).toBe('bounded');
  });

  it('treats any Throttling.* code as transient, including ones not seen yet', () => {
    expect(classify('Throttling.Concurrency', 'regionDelete')).toBe('transient');
  });

  it('never swallows an unknown code: bounded retries, then a failure', () => {
    for (const code of ['SomethingNew.Failed', 'InvalidAccessKeyId.NotFound', 'SignatureDoesNotMatch', 'Forbidden.RAM', '']) {
      for (const step of ALL_STEPS) {
        const errorClass = classify(code, step);
        expect(errorClass, `${code} at ${step}`).toBe('bounded');
        expect(errorClass).not.toBe('done');
      }
    }
  });

  it('treats an HTTP 429 as throttling whatever unknown code it carries, but keeps a known code\'s class', () => {
    for (const step of ALL_STEPS) {
      expect(classify('Quota.Exceeded.Rate', step, 429), step).toBe('transient');
      expect(classify('Quota.Exceeded.Rate', step, 400), step).toBe('bounded');
      expect(classify('ImageDeleteFailed.NotAllow', step, 429), step).toBe('rejected');
    }
  });

  it('gives an HTTP error without a code the code its status implies', () => {
    expect(codeForHttpStatus(429)).toBe('Throttling');
    expect(codeForHttpStatus(500)).toBe(SyntheticCode.HttpServerError);
    expect(codeForHttpStatus(503)).toBe(SyntheticCode.HttpServerError);
    expect(codeForHttpStatus(400)).toBe(SyntheticCode.HttpClientError);
    expect(codeForHttpStatus(403)).toBe(SyntheticCode.HttpClientError);
  });

  it('does not mistake a code that merely contains "Throttling" for throttling', () => {
    expect(classify('NotThrottling', 'validate')).toBe('bounded');
  });
});

describe('explain', () => {
  const documented = [
    ...SAME_AT_EVERY_STEP.map(([code]) => code),
    'Image.NotExist',
    'InvalidTemplate.NotFound',
    'SignatureDoesNotMatch',
    'InvalidAccessKeyId.NotFound',
    'InvalidCredentials',
    ImgdelCode.ImageHasNoRegions,
  ];

  for (const code of documented) {
    it(`gives an actionable sentence for ${code}`, () => {
      const sentence = explain(code);
      expect(sentence.length).toBeGreaterThan(20);
      expect(sentence).toMatch(/^[A-Z].*\.$/);
      // A known code gets its own sentence, not the fallback for unknown codes.
      expect(sentence).not.toContain('does not know');
    });
  }

  it('sends a refusal only validation meets to a new start, never to retry (that deletion has ended), and names the CLI option for an image being created', () => {
    for (const code of ['ImageDeleteFailed.NotAllowCommunityParent', 'ImageDeleteFailed.HasSharedImage']) {
      expect(explain(code)).toContain('start the deletion again');
      expect(explain(code)).not.toContain('imgdel retry');
    }
    // A deletion can park on these (a region delete refused after the point of no return).
    expect(explain('ImageNotAllowDelete')).toContain('imgdel retry when it is parked');
    expect(explain('InvalidImageOperation.ImageIsCreating')).toContain('--wait-for-creation');
  });

  it('names an unknown code in its sentence', () => {
    expect(explain('Weird.Code')).toContain('Weird.Code');
    expect(explain('Weird.Code')).toContain('does not know');
  });

  it('tells what to do about an image in no region: nothing changed, delete it in the console', () => {
    expect(explain(ImgdelCode.ImageHasNoRegions)).toMatch(/^Nothing was changed.*console/);
  });

  it('points a signature failure at the secret, without printing any secret', () => {
    expect(explain('SignatureDoesNotMatch')).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  });
});

describe('CloudError', () => {
  it('keeps code, status, request id and action, and serializes them', () => {
    const error = new CloudError({
      code: 'Image.NotExist',
      message: 'gone',
      httpStatus: 400,
      requestId: 'req-1',
      action: 'DeleteImage',
    });
    expect(isCloudError(error)).toBe(true);
    expect(error.toJSON()).toEqual({
      code: 'Image.NotExist',
      message: 'gone',
      httpStatus: 400,
      requestId: 'req-1',
      action: 'DeleteImage',
    });
  });

  it('is recognised by shape, not by class', () => {
    expect(isCloudError({ name: 'CloudError', code: 'X', message: 'm' })).toBe(true);
    expect(isCloudError(new Error('plain'))).toBe(false);
    expect(isCloudError({ name: 'CloudError' })).toBe(false);
  });
});
