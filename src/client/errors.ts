/**
 * The errors the imgdel client throws. Each one says what went wrong in words a person
 * can act on; the CLI maps them to exit codes (src/cli/exit-codes.ts).
 */
import type { ServerFailureStatus } from '../grpc-status.js';
import { namespaceNotFoundMessage, temporalRefusedMessage } from '../temporal-connection.js';
import type { InputProblem } from '../workflows/input.js';

/**
 * Every error the client throws has one of these as `code`, a stable name to switch on (the
 * CLI's `--json` error codes too), so a caller need not depend on `instanceof`, which fails when
 * two copies of this module are loaded (e.g. the TypeScript source and the build).
 */
export const IMGDEL_ERROR_CODES = [
  'InvalidInput',
  'NotFound',
  'UpdateRefused',
  'NothingToRetry',
  'RetryNotStarted',
  'TemporalUnavailable',
  'NamespaceNotFound',
  'TemporalRefused',
  'TemporalServerError',
  'NoWorkerAnswered',
  'AbandonNotFinished',
  'ProgressQueryFailed',
  'WorkflowTaskFailing',
  'ProgressUnreadable',
  'ClientClosed',
] as const;

export type ImgdelErrorCode = (typeof IMGDEL_ERROR_CODES)[number];

/** The base of the client's errors: a message a person can act on, and a stable `code`. */
export class ImgdelError extends Error {
  constructor(
    message: string,
    readonly code: ImgdelErrorCode,
  ) {
    super(message);
    this.name = 'ImgdelError';
  }
}

/** Whether `error` is one of the client's errors, by its code (also across copies of this module). */
export function isImgdelError(error: unknown): error is Error & { code: ImgdelErrorCode } {
  const code: unknown = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (IMGDEL_ERROR_CODES as readonly string[]).includes(code);
}

/** The input failed the workflow's zod schema; nothing was started. */
export class InvalidDeletionInputError extends ImgdelError {
  constructor(
    /** Every problem on one line, `field: message; …`. */
    readonly problems: string,
    readonly consequence = 'nothing was started',
    /** The same problems one by one (the CLI names its flags with them). */
    readonly issues: readonly InputProblem[] = [],
    readonly subject = 'invalid deletion input',
  ) {
    super(`${subject} (${consequence}): ${problems}`, 'InvalidInput');
    this.name = 'InvalidDeletionInputError';
  }
}

/** No workflow has ever run for this image (under this workflow id, in this namespace). */
export class DeletionNotFoundError extends ImgdelError {
  constructor(
    readonly imageId: string,
    readonly workflowId: string,
    readonly namespace: string,
  ) {
    const start = workflowId.endsWith('-dry-run') ? `imgdel delete ${imageId} --dry-run` : `imgdel delete ${imageId}`;
    super(
      `no deletion found for image ${imageId} in namespace ${namespace} (workflow id ${workflowId}); ` +
        `check the image id and TEMPORAL_NAMESPACE, or start one: ${start}`,
      'NotFound',
    );
    this.name = 'DeletionNotFoundError';
  }
}

/** The workflow refused an Update (its validator rejected it, or the deletion is not running). */
export class DeletionUpdateRefusedError extends ImgdelError {
  constructor(
    readonly update: 'retry' | 'abandon',
    readonly imageId: string,
    message: string,
    code: ImgdelErrorCode = update === 'retry' ? 'NothingToRetry' : 'UpdateRefused',
  ) {
    super(message, code);
    this.name = 'DeletionUpdateRefusedError';
  }
}

/** `retry` was refused: no step of this deletion is failed (or it is not running any more). */
export class NothingToRetryError extends DeletionUpdateRefusedError {
  constructor(imageId: string, why: string, code: ImgdelErrorCode = 'NothingToRetry') {
    super('retry', imageId, `nothing to retry for image ${imageId}: ${why}`, code);
    this.name = 'NothingToRetryError';
  }
}

/**
 * `retry` was accepted, but the deletion ended (an abandon, a cancel or the park timeout came
 * first) before the retry round began: nothing was retried. A NothingToRetryError, so callers
 * that catch that one catch this too; `message` is the workflow's own account.
 */
export class RetryNotStartedError extends NothingToRetryError {
  constructor(imageId: string, workflowMessage: string) {
    super(imageId, workflowMessage, 'RetryNotStarted');
    const account = workflowMessage.trim().replace(/([^.])$/, '$1.');
    this.message = `${account} Nothing was retried; see imgdel status ${imageId}.`;
    this.name = 'RetryNotStartedError';
  }
}

/** This machine: where `npm start` runs its Temporal dev server. */
const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)(:\d+)?$/i;

/** The Temporal server could not be reached. */
export class TemporalUnavailableError extends ImgdelError {
  constructor(
    readonly address: string,
    why: string,
  ) {
    // `npm start` only helps with a server on this machine; a remote one is someone's to check.
    const advice = LOCAL_HOST.test(address)
      ? 'Start it with `npm start` (or set TEMPORAL_ADDRESS / TEMPORAL_PROFILE to the server to use).'
      : 'Check that the server is running and reachable from here, and that TEMPORAL_ADDRESS / TEMPORAL_PROFILE name the right one.';
    super(`cannot reach Temporal at ${address}: ${why}. ${advice}`, 'TemporalUnavailable');
    this.name = 'TemporalUnavailableError';
  }
}

/** The Temporal server answers, but has no namespace of that name: a setting to correct, nothing was done. */
export class NamespaceNotFoundError extends ImgdelError {
  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {
    super(namespaceNotFoundMessage(address, namespace), 'NamespaceNotFound');
    this.name = 'NamespaceNotFoundError';
  }
}

/**
 * The Temporal server refused the call (PERMISSION_DENIED or UNAUTHENTICATED): credentials it
 * does not accept, or not allowed to use the namespace. A setting to correct; nothing was done.
 */
export class TemporalRefusedError extends ImgdelError {
  constructor(
    readonly address: string,
    readonly namespace: string,
    /** The server's own reason. */
    readonly reason: string,
  ) {
    super(temporalRefusedMessage(address, namespace, reason), 'TemporalRefused');
    this.name = 'TemporalRefusedError';
  }
}

/**
 * The Temporal server answered with a failure of its own (RESOURCE_EXHAUSTED after the SDK's
 * retries, INTERNAL, UNKNOWN, …), not a verdict on what was asked. Whether a start or an Update
 * it was handling took effect is not known, so the message says to look before repeating it.
 */
export class TemporalServerError extends ImgdelError {
  constructor(
    readonly address: string,
    readonly status: ServerFailureStatus,
    /** The server's own reason. */
    readonly reason: string,
  ) {
    const advice =
      status === 'RESOURCE_EXHAUSTED'
        ? 'The server is over a limit (a rate limit of the namespace, or its capacity): try again in a minute.'
        : "The server failed on this request: try again, and if it persists, see the server's log (or tell its operator).";
    super(
      `Temporal at ${address} answered ${status} (${reason}). ${advice} ` +
        'A start, retry, abandon or cancel it was handling may or may not have taken effect: check with imgdel status <image> before repeating one.',
      'TemporalServerError',
    );
    this.name = 'TemporalServerError';
  }
}

/**
 * No worker answered within the deadline (an Update not accepted, or no answer to the progress
 * query for that long): the workflow's task queue has no running worker, or none that keeps up.
 */
export class NoWorkerAnsweredError extends ImgdelError {
  constructor(
    readonly imageId: string,
    readonly taskQueue: string,
    readonly timeoutMs: number,
    what: string,
    code: ImgdelErrorCode = 'NoWorkerAnswered',
  ) {
    super(
      `no worker answered on task queue ${taskQueue} within ${formatSeconds(timeoutMs)} s (${what}). ` +
        'Start a worker on that task queue (`npm run worker`, or `npm start` for the local stack), ' +
        `then see imgdel status ${imageId}.`,
      code,
    );
    this.name = 'NoWorkerAnsweredError';
  }
}

const PROGRESS_ERROR_CODES = {
  'query-failed': 'ProgressQueryFailed',
  'task-failing': 'WorkflowTaskFailing',
  'unrecognized-report': 'ProgressUnreadable',
} as const satisfies Record<string, ImgdelErrorCode>;

/**
 * A worker answered the progress query of a running deletion, but not with a report this imgdel
 * can show: the query failed on the worker (`query-failed`: its workflow task fails, e.g.
 * nondeterminism after a deploy, or it runs other workflow code), or the report has fields this
 * imgdel does not know (`unrecognized-report`: a newer worker). Not "no worker answered".
 */
export class ProgressUnreadableError extends ImgdelError {
  constructor(
    readonly imageId: string,
    readonly taskQueue: string,
    readonly reason: 'query-failed' | 'task-failing' | 'unrecognized-report',
    readonly detail: string,
  ) {
    super(
      reason === 'query-failed'
        ? `a worker on task queue ${taskQueue} answered the progress query of ${imageId} with an error: ${detail}. ` +
            "The deletion's workflow task may be failing (e.g. nondeterminism after a deploy): see the workflow in the Temporal UI and the worker's log."
        : reason === 'task-failing'
          ? `the workflow task of ${imageId}'s deletion is failing (task queue ${taskQueue}), so its progress cannot be read: ${detail}. ` +
              "See the worker's log and the workflow in the Temporal UI (e.g. nondeterminism after a deploy)."
          : `a worker on task queue ${taskQueue} answered the progress query of ${imageId} with a report this imgdel cannot read (${detail}). ` +
              'The worker may run a newer imgdel: update this one. The deletion itself goes on.',
      PROGRESS_ERROR_CODES[reason],
    );
    this.name = 'ProgressUnreadableError';
  }
}

/**
 * The abandon was accepted, but the deletion did not end within the worker timeout (the worker
 * that accepted it is slow, or stopped). A NoWorkerAnsweredError for exit codes and --json; its
 * message says what did happen.
 */
export class AbandonNotFinishedError extends NoWorkerAnsweredError {
  /** `waitError`: why the wait for the ending stopped, when not its deadline (e.g. Temporal became unreachable). */
  constructor(imageId: string, taskQueue: string, timeoutMs: number, waitError?: string) {
    super(imageId, taskQueue, timeoutMs, 'abandon accepted', 'AbandonNotFinished');
    const why = waitError === undefined ? `did not finish within ${formatSeconds(timeoutMs)} s` : `could not be seen to finish (${waitError})`;
    this.message = `the abandon of ${imageId} was accepted, but the deletion ${why} (task queue ${taskQueue}); it ends once a worker runs it: see imgdel status ${imageId}.`;
    this.name = 'AbandonNotFinishedError';
  }
}

function formatSeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** A call on an ImgdelClient after its close(): create a new client to go on. */
export class ImgdelClientClosedError extends ImgdelError {
  constructor() {
    super('This imgdel client is closed; create a new one to go on.', 'ClientClosed');
    this.name = 'ImgdelClientClosedError';
  }
}
