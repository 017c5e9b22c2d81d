/**
 * The one place where cloud error codes are understood: CloudError is how every
 * failure leaves the cloud port, classify() decides what the saga does with it, and
 * explain() turns a code into a sentence a person can act on.
 * Pure module: also imported by workflow code.
 */

/** Codes the adapter itself produces when the wire gives no usable Code. */
export const SyntheticCode = {
  NetworkError: 'NetworkError',
  RequestTimeout: 'RequestTimeout',
  /** HTTP 5xx without an error code (a gateway's page, an empty body): transient. */
  HttpServerError: 'HttpServerError',
  /** HTTP 4xx (not 429) without an error code: nothing says retrying helps, so unknown (bounded). */
  HttpClientError: 'HttpClientError',
  MalformedResponse: 'MalformedResponse',
} as const;

/** Refusals imgdel decides itself, with codes the cloud does not have (classified and explained here too). */
export const ImgdelCode = {
  /** The image is listed but has no regional copy: nothing to delete region by region, and "deleted" would be false. */
  ImageHasNoRegions: 'ImageHasNoRegions',
} as const;

/** Codes of a failed step that are not the cloud's: what imgdel found, or Temporal decided. */
export const StepCode = {
  /**
   * The cloud accepted a region delete but still listed the copy when the confirmation wait ended,
   * or the reads that would confirm it failed for good.
   */
  RegionDeleteUnconfirmed: 'RegionDeleteUnconfirmed',
  /** An activity timed out (a worker lost, a call that hung) and Temporal stopped retrying it. */
  ActivityTimeout: 'ActivityTimeout',
  /** A region delete failed without an error of its own (a fallback the saga never expects to use). */
  RegionDeleteFailed: 'RegionDeleteFailed',
} as const;

/**
 * The code of an HTTP error answer that carries no Code of its own, from its status alone:
 * 429 is throttling (docs: "Throttling* / HTTP 429"), 5xx a server error, any other 4xx a
 * client error of unknown kind.
 */
export function codeForHttpStatus(httpStatus: number): string {
  if (httpStatus === 429) return 'Throttling';
  return httpStatus >= 500 ? SyntheticCode.HttpServerError : SyntheticCode.HttpClientError;
}

export interface CloudErrorFields {
  code: string;
  message: string;
  httpStatus?: number;
  requestId?: string;
  /** The cloud action that failed, e.g. `DeleteImage`. */
  action?: string;
  /** How long the cloud asked to wait before a retry (`x-acs-retry-after`, throttling). */
  retryAfterMs?: number;
}

export class CloudError extends Error {
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly action: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(fields: CloudErrorFields) {
    super(fields.message);
    this.name = 'CloudError';
    this.code = fields.code;
    this.httpStatus = fields.httpStatus;
    this.requestId = fields.requestId;
    this.action = fields.action;
    this.retryAfterMs = fields.retryAfterMs;
  }

  toJSON(): CloudErrorFields {
    return {
      code: this.code,
      message: this.message,
      ...(this.httpStatus === undefined ? {} : { httpStatus: this.httpStatus }),
      ...(this.requestId === undefined ? {} : { requestId: this.requestId }),
      ...(this.action === undefined ? {} : { action: this.action }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    };
  }
}

export function isCloudError(value: unknown): value is CloudError {
  // Not instanceof: errors may cross module copies (and the doc warns against it).
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'CloudError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/**
 * - transient: retry with exponential backoff (bounded by the transient attempts).
 * - bounded:   retry with backoff up to a budget; a spent budget is a failure of the step.
 * - rejected:  fail at once, non-retryable; nothing was changed.
 * - done:      what the step wanted is already true (idempotent success).
 * - blocked:   something uses or holds the image; fail the step at once.
 */
export type ErrorClass = 'transient' | 'bounded' | 'rejected' | 'done' | 'blocked';

/** Where in the saga a call failed; the same code can mean different things per step. */
export type SagaStep =
  | 'validate'
  | 'templateLookup'
  | 'templateDelete'
  | 'templateRecreate'
  | 'regionDelete'
  | 'regionConfirm';

const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'QueryTemplate.Failed',
  SyntheticCode.NetworkError,
  SyntheticCode.RequestTimeout,
  SyntheticCode.HttpServerError,
  SyntheticCode.MalformedResponse,
]);

const REJECTED_CODES: ReadonlySet<string> = new Set([
  'ImageDeleteFailed.NotAllow',
  'ImageDeleteFailed.NotAllowSharedImage',
  'ImageDeleteFailed.NotAllowCommunityParent',
  'ImageDeleteFailed.HasSharedImage',
  ImgdelCode.ImageHasNoRegions,
]);

const BLOCKED_CODES: ReadonlySet<string> = new Set([
  'ImageNotAllowDelete',
  'InvalidImageOperation.ImageIsCreating',
]);

export function isThrottlingCode(code: string): boolean {
  return code === 'Throttling' || code.startsWith('Throttling.');
}

/**
 * `httpStatus`, when known, only matters for codes the table does not name: an HTTP 429
 * is throttling whatever its code says ("Throttling* / HTTP 429: transient").
 */
export function classify(code: string, step: SagaStep, httpStatus?: number): ErrorClass {
  if (TRANSIENT_CODES.has(code) || isThrottlingCode(code)) return 'transient';
  if (code === 'DeleteTemplate.Failed') return 'bounded';
  if (code === 'InvalidTemplate.NotFound') {
    // From DeleteImage the table says "same class as from the template calls", but there only the
    // template part is done: the template DeleteImage wanted to remove is gone, the region's copy is
    // not, so DeleteImage must be sent again. Read as done, a first attempt would also count as
    // "gone before us", which does not pass the pivot, though this very call may have removed it.
    return step === 'regionDelete' ? 'transient' : 'done';
  }
  if (code === 'Image.NotExist') {
    // Before anything changed, a missing image is the caller's mistake; once the
    // saga is deleting, a missing regional copy is the goal already reached.
    return step === 'regionDelete' || step === 'regionConfirm' ? 'done' : 'rejected';
  }
  if (REJECTED_CODES.has(code)) return 'rejected';
  if (BLOCKED_CODES.has(code)) return 'blocked';
  if (httpStatus === 429) return 'transient';
  // Unknown codes are never swallowed: retried a bounded number of times, then a failure.
  return 'bounded';
}

/** How to go on once the cause is fixed: a parked deletion is retried, an ended one started again. */
const THEN_RETRY = 'then retry the deletion (imgdel retry when it is parked, otherwise start it again).';
/** The same for a refusal only validation meets: the deletion has ended, nothing was changed. */
const THEN_START_AGAIN = 'then start the deletion again.';

const EXPLANATIONS: Readonly<Record<string, string>> = {
  'Image.NotExist':
    'The image does not exist in this account (or was already deleted). Check the image id and the account the worker runs as.',
  'ImageDeleteFailed.NotAllow':
    'Only a custom image owned by this account can be deleted. Check the image type and owner (IMGDEL_ACCOUNT_ID).',
  'ImageDeleteFailed.NotAllowSharedImage':
    'This is a shared image; it can only be removed by its owner. Delete the source image in the owning account instead.',
  'ImageDeleteFailed.NotAllowCommunityParent':
    `A community image was published from this image. Withdraw the community image first, ${THEN_START_AGAIN}`,
  'ImageDeleteFailed.HasSharedImage':
    `This image has been shared to other accounts. Stop sharing it first, ${THEN_START_AGAIN}`,
  ImageNotAllowDelete:
    `Instances (app instance groups, workstations or desktop groups) still use this image. Move or delete them, ${THEN_RETRY}`,
  'InvalidImageOperation.ImageIsCreating':
    'The image is still being created. Wait until it is AVAILABLE, or start the deletion again with a wait for it (imgdel delete --wait-for-creation <seconds>; input field waitForCreationSeconds).',
  'DeleteTemplate.Failed':
    `The cloud refused to delete a template that references the image. Check the template in the console, ${THEN_RETRY}`,
  'QueryTemplate.Failed': 'The cloud could not list the templates right now; this is usually temporary.',
  'InvalidTemplate.NotFound': 'The template is already gone.',
  InternalError: 'The cloud reported an internal error; this is usually temporary.',
  ServiceUnavailable: 'The cloud service is unavailable right now; this is usually temporary.',
  SignatureDoesNotMatch:
    'The request signature was refused. Check ALIBABA_CLOUD_ACCESS_KEY_SECRET (and the clock of this machine).',
  'InvalidAccessKeyId.NotFound': 'The access key id is unknown to the cloud. Check ALIBABA_CLOUD_ACCESS_KEY_ID.',
  InvalidCredentials:
    'No usable cloud credentials were found. Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure the default credential chain.',
  [SyntheticCode.NetworkError]: 'The cloud endpoint could not be reached. Check IMGDEL_CLOUD_ENDPOINT and the network.',
  [SyntheticCode.RequestTimeout]: 'The cloud did not answer in time; this is usually temporary.',
  [SyntheticCode.HttpServerError]: 'The cloud answered with a server error and no details; this is usually temporary.',
  [SyntheticCode.HttpClientError]:
    'The cloud (or a proxy in front of it) refused the request without an error code. Check IMGDEL_CLOUD_ENDPOINT and any proxy between the worker and the cloud.',
  [SyntheticCode.MalformedResponse]: 'The cloud answered with a response imgdel could not understand.',
  [StepCode.RegionDeleteUnconfirmed]:
    'The cloud accepted the delete, but the region still listed the copy when imgdel stopped waiting for it to go (or imgdel could not read the region list to see). Check the region in the console; a retry deletes it again, and a copy already gone counts as deleted.',
  [StepCode.ActivityTimeout]:
    `The step did not finish in time and Temporal stopped retrying it: a worker may have stopped, or a cloud call hung. Check that the workers run and reach the cloud (their log says which), ${THEN_RETRY}`,
  [StepCode.RegionDeleteFailed]: "A region delete failed; the region's own line above says how.",
  [ImgdelCode.ImageHasNoRegions]:
    'Nothing was changed: imgdel deletes an image region by region, and this image has no regional copy. Check the image in the console (an image whose creation failed may have no copies) and delete it there.',
};

/** A sentence a person can act on, for any code (unknown codes included). */
export function explain(code: string): string {
  if (isThrottlingCode(code)) return 'The cloud throttled the request; imgdel slows down and retries.';
  return EXPLANATIONS[code] ?? `The cloud answered with ${code}, which imgdel does not know; see the cloud's message.`;
}
