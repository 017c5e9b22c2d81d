/**
 * The imgdel client: starts, watches and steers image deletions through Temporal.
 * Used by backend services (`import { createImgdelClient } from 'imgdel/client'`) and
 * by the CLI. Input is checked with the workflow's own zod schema before anything is sent.
 */
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  CancelledFailure,
  Client,
  Connection,
  NamespaceNotFoundError as SdkNamespaceNotFoundError,
  ServiceError,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { ConnectionOptions, WorkflowExecutionDescription, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { abortableSleep, unlessAborted } from '../abort.js';
import { GrpcStatus, grpcCode, isRefusal, serverFailureStatus, serverReason } from '../grpc-status.js';
import { StepCode } from '../cloud/errors.js';
import { hostPort, loadClientConfig, nonEmptyText } from '../config.js';
import { DEFAULTS, abandonRequestProblems, checkInput, describeInputProblems, inputProblemsOf, workflowIdFor } from '../workflows/input.js';
import type { DeleteImageInput } from '../workflows/input.js';
import {
  abandonUpdate,
  CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY,
  DELETION_STATUSES,
  deletionStatusKey,
  FailureType,
  imageIdKey,
  progressQuery,
  retryUpdate,
  SEARCH_ATTRIBUTES,
  SEARCH_STATUS,
  STATUS_SET_AT_START_MEMO_KEY,
  TERMINAL_STATUSES,
  WORKFLOW_TYPE,
} from '../workflows/model.js';
import type { DeletionProgress, DeletionStatus } from '../workflows/model.js';
import { resolveConnectionTarget, workflowUiLink } from './connection.js';
import {
  DeletionNotFoundError,
  DeletionUpdateRefusedError,
  ImgdelClientClosedError,
  InvalidDeletionInputError,
  NamespaceNotFoundError,
  NoWorkerAnsweredError,
  AbandonNotFinishedError,
  NothingToRetryError,
  ProgressUnreadableError,
  RetryNotStartedError,
  TemporalRefusedError,
  TemporalServerError,
  TemporalUnavailableError,
} from './errors.js';
import { outcomeFromFailure, outcomeFromProgress, parseProgress, readProgress, TemporalEndCode } from './outcome.js';
import type { DeletionOutcome, RetryingStep } from './outcome.js';
import { openTimerDeadline, protoMs } from './park-deadline.js';

type DeleteImageWorkflow = (input: DeleteImageInput) => Promise<DeletionProgress>;

/**
 * What came of asking a running deletion for its progress. Only `no-answer` (the query timed out)
 * means no worker answered; a failed query and an unreadable report came from a worker.
 */
type ProgressAnswer =
  | { kind: 'answered'; progress: DeletionProgress }
  | { kind: 'no-answer' }
  | { kind: 'query-failed'; message: string }
  | { kind: 'task-failing'; message: string }
  | { kind: 'unrecognized-report'; problem: string };

export interface ImgdelClientOptions {
  /** An open connection to reuse (the client never closes it). */
  connection?: Connection;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Base URL of the Temporal UI, for links. Default: TEMPORAL_UI_URL, else http://<host>:<grpc port + 1000>. */
  uiUrl?: string;
  /** The environment to read configuration from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** How long to try reaching Temporal before giving up (default 5 s). */
  connectTimeoutMs?: number;
  /** How long to wait for a worker to answer the progress query (default 5 s). */
  queryTimeoutMs?: number;
  /**
   * How long retry, abandon and waitForOutcome wait for a worker before NoWorkerAnsweredError
   * (default 60 s); each call can set its own.
   */
  workerTimeoutMs?: number;
}

/**
 * Every call takes a signal: aborting it ends the call at once, rejecting with the signal's reason,
 * and cancels its requests to Temporal. What the server had already accepted stands (a started
 * deletion runs on; an update sent may still apply): imgdel status tells.
 */
export interface AbortOptions {
  signal?: AbortSignal;
}

export interface UpdateOptions extends AbortOptions {
  /** Give up (NoWorkerAnsweredError) when no worker has handled the update within this time. */
  workerTimeoutMs?: number;
  /**
   * The caller's id for this request (1–255 printable characters, no spaces). A call repeated with
   * the same id, e.g. after an error that left unknown whether the first reached Temporal, is not
   * applied a second time: while the deletion runs Temporal answers it with the first one's result;
   * once the run has ended, a run that accepted the id answers with its outcome (instead of
   * refusing an update to an ended deletion). Without it every call is a request of its own.
   */
  updateId?: string;
}

export interface StartedDeletion {
  workflowId: string;
  runId: string;
  imageId: string;
  /** false: a deletion of this image was already running, and this call attached to it. */
  started: boolean;
  /** true: the last deletion of this image completed; nothing was started. */
  alreadyDeleted?: boolean;
  /** Link to the workflow in the Temporal UI. */
  uiUrl?: string;
}

export interface WaitOptions extends AbortOptions {
  onProgress?: (outcome: DeletionOutcome) => void;
  /** Poll interval (default 500 ms). */
  pollMs?: number;
  /** Follow the dry run of this image instead of the real deletion. */
  dryRun?: boolean;
  /** Give up (NoWorkerAnsweredError) when no worker has answered the progress query for this long. */
  workerTimeoutMs?: number;
}

export interface TargetOptions extends AbortOptions {
  /** Address the dry run of this image (workflow id `delete-image-<id>-dry-run`). */
  dryRun?: boolean;
}

export interface DeletionListItem {
  workflowId: string;
  runId: string;
  imageId: string;
  status: DeletionStatus;
  dryRun: boolean;
  temporalStatus: string;
  startTime: string;
  closeTime?: string;
}

export interface ListOptions extends AbortOptions {
  status?: DeletionStatus;
  /** At most this many (default DEFAULT_LIST_LIMIT), newest first. */
  limit?: number;
}

export interface CancelResult {
  workflowId: string;
  /** false: the deletion had already ended; `outcome` says how. */
  requested: boolean;
  outcome?: DeletionOutcome;
}

/**
 * The server accepts a cancel request for a run that has just closed, silently: a run that is
 * closed now and whose history holds no cancel request ended before the request reached it.
 */
async function endedBeforeCancelRequest(handle: WorkflowHandle): Promise<boolean> {
  if ((await handle.describe()).status.name === 'RUNNING') return false;
  const history = await handle.fetchHistory();
  return !(history.events ?? []).some((event) => event.workflowExecutionCancelRequestedEventAttributes);
}

/**
 * Whether the run accepted an update with this id: a request repeated after its run ended, whose
 * first call got through (the server deduplicates update ids only while the run is open).
 */
async function acceptedUpdate(handle: WorkflowHandle, updateId: string | undefined): Promise<boolean> {
  if (updateId === undefined) return false;
  const history = await handle.fetchHistory();
  return (history.events ?? []).some((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId === updateId);
}

/** A running deletion whose report could not be read: no step is known, `details` says why. */
function runningWithoutReport(workflowId: string, imageId: string, details: string): DeletionOutcome {
  return { workflowId, imageId, status: 'running', phase: 'validating', regions: [], templates: [], details };
}

/** Workflow id of the deletion (or dry run) of one image: one saga per image. */
export const deletionWorkflowId = workflowIdFor;

const START_TOKEN_MEMO_KEY = 'imgdelStartToken';
const DEFAULT_POLL_MS = 500;
/** Long enough for a worker that restarts or bundles its workflows; short enough for a person waiting. */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

/** How many deletions list() returns when not told. */
export const DEFAULT_LIST_LIMIT = 100;
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
/** How long the server may take to answer, after an Update's deadline, before it counts as unreachable. */
const SERVER_PROBE_TIMEOUT_MS = 3_000;
/**
 * How long a progress query may keep failing on the worker before waitForOutcome gives up with
 * ProgressUnreadableError: long enough to ride out a worker restart, short next to the worker timeout.
 */
const QUERY_FAILURE_GRACE_MS = 5_000;

/** The longest wait a timer or a gRPC deadline takes (2^31 - 1 ms, about 24.8 days). */
const MAX_DURATION_MS = 2 ** 31 - 1;
const durationMsSchema = z.number().finite().positive().max(MAX_DURATION_MS).optional();
/** The timing options a caller can give the client or one of its calls. */
const timingOptionsSchema = z.object({
  connectTimeoutMs: durationMsSchema,
  queryTimeoutMs: durationMsSchema,
  workerTimeoutMs: durationMsSchema,
  pollMs: durationMsSchema,
});
/**
 * Where a client connects, when its caller says: checked as the same settings are from the
 * environment (TEMPORAL_ADDRESS, …), so an empty task queue or namespace is refused here rather
 * than by the SDK or the server, and one with stray spaces does not start deletions no worker polls.
 */
const targetSettingsSchema = z.object({
  address: hostPort.optional(),
  namespace: nonEmptyText.optional(),
  taskQueue: nonEmptyText.optional(),
});
/**
 * Which deletion of an image a call addresses. Checked, not coerced: a JavaScript caller's
 * `dryRun: 'true'` would otherwise address (and `cancel` would cancel) the real deletion.
 */
/** Every call's signal, checked so that a JavaScript caller's stray value fails here, not as a TypeError deep in the SDK. */
const abortOptionsSchema = z.object({ signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional() });
const targetOptionsSchema = abortOptionsSchema.extend({ dryRun: z.boolean({ error: 'must be true or false' }).optional() });
const updateOptionsSchema = abortOptionsSchema.extend({
  updateId: z
    .string({ error: 'must be text' })
    .regex(/^[\x21-\x7e]{1,255}$/, { error: 'must be 1 to 255 printable characters without spaces' })
    .optional(),
});
const listOptionsSchema = abortOptionsSchema.extend({
  status: z.enum(DELETION_STATUSES).optional(),
  limit: z.number().int().positive().optional(),
});

/** A caller's options, checked like the deletion input: InvalidDeletionInputError names each bad field. */
function checkedOptions<Schema extends z.ZodType>(schema: Schema, options: unknown, consequence: string): z.output<Schema> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issues = inputProblemsOf(parsed.error);
  throw new InvalidDeletionInputError(describeInputProblems(issues), consequence, issues, 'invalid client options');
}

export function createImgdelClient(options: ImgdelClientOptions = {}): ImgdelClient {
  return new ImgdelClient(options);
}

export class ImgdelClient {
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly uiUrl: string;
  private readonly options: ImgdelClientOptions;
  private readonly connectionOptions: ConnectionOptions;
  private clientPromise: Promise<Client> | undefined;
  private ownConnection: Connection | undefined;
  private closed = false;

  constructor(options: ImgdelClientOptions = {}) {
    checkedOptions(timingOptionsSchema, options, 'no client was made');
    const settings = checkedOptions(targetSettingsSchema, options, 'no client was made');
    options = { ...options, ...settings };
    this.options = options;
    const config = loadClientConfig(environmentFor(options));
    const target = resolveConnectionTarget(config, {
      ...(options.address === undefined ? {} : { address: options.address }),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(options.uiUrl === undefined ? {} : { uiUrl: options.uiUrl }),
    });
    this.address = target.address;
    this.namespace = target.namespace;
    this.uiUrl = target.uiUrl;
    this.connectionOptions = target.connectionOptions;
    this.taskQueue = options.taskQueue ?? config.taskQueue;
  }

  /** Link to a workflow in the Temporal UI. */
  linkFor(workflowId: string): string {
    return workflowUiLink(this.uiUrl, this.namespace, workflowId);
  }

  /**
   * Starts the deletion of one image, or attaches to the one already running. Returns
   * `alreadyDeleted: true` (starting nothing) when the last deletion of the image completed.
   */
  async startDeletion(rawInput: DeleteImageInput, options: AbortOptions = {}): Promise<StartedDeletion> {
    const signal = checkedOptions(abortOptionsSchema, options, 'nothing was started').signal;
    const check = checkInput(rawInput);
    if (!check.ok) throw new InvalidDeletionInputError(check.problems, 'nothing was started', check.issues);
    const input = check.input;
    const dryRun = input.dryRun === true;
    const workflowId = deletionWorkflowId(input.imageId, dryRun);
    const link = this.linkFor(workflowId);
    return this.call(async (client) => {
      const startToken = randomUUID();
      const options = deletionStartOptions(input, this.taskQueue, startToken);
      let runId: string;
      try {
        runId = (await client.workflow.start<DeleteImageWorkflow>(WORKFLOW_TYPE, options)).firstExecutionRunId;
      } catch (error) {
        // The id reuse policy refused: the image's last deletion completed, which only a deleted image does.
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          const last = await describeOrUndefined(client.workflow.getHandle(workflowId));
          if (last?.status.name === 'COMPLETED') {
            return { workflowId, runId: last.runId, imageId: input.imageId, started: false, alreadyDeleted: true, uiUrl: link };
          }
        }
        throw explainMissingSearchAttributes(error, this.namespace);
      }
      // USE_EXISTING answers with the running execution; our token in its memo tells
      // whether that execution is the one this call started.
      const description = await client.workflow.getHandle(workflowId, runId).describe();
      const started = description.memo?.[START_TOKEN_MEMO_KEY] === startToken;
      return { workflowId, runId, imageId: input.imageId, started, uiUrl: link };
    }, signal);
  }

  /** The progress of the running or last deletion of an image. */
  async getProgress(imageId: string, target: TargetOptions = {}): Promise<DeletionProgress> {
    checkedOptions(targetOptionsSchema, target, 'nothing was sent to Temporal');
    const snapshot = await this.snapshot(imageId, target);
    return snapshot.progress ?? outcomeAsProgress(snapshot.outcome);
  }

  /** The running or last deletion of an image, as the CLI's JSON shape. */
  async outcome(imageId: string, target: TargetOptions = {}): Promise<DeletionOutcome> {
    checkedOptions(targetOptionsSchema, target, 'nothing was sent to Temporal');
    return (await this.snapshot(imageId, target)).outcome;
  }

  /**
   * Polls until the deletion ends or parks (awaiting-retry); calls onProgress on every change.
   * Throws NoWorkerAnsweredError when a running deletion's worker stays silent for workerTimeoutMs.
   */
  async waitForOutcome(imageId: string, options: WaitOptions = {}): Promise<DeletionOutcome> {
    checkedOptions(timingOptionsSchema, options, 'nothing was waited for');
    const signal = checkedOptions(targetOptionsSchema, options, 'nothing was waited for').signal;
    const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    const workerTimeoutMs = this.workerTimeout(options.workerTimeoutMs);
    const target = { dryRun: options.dryRun === true, signal };
    let lastSeen = '';
    const trouble = new QueryTrouble(imageId, workerTimeoutMs);
    for (;;) {
      const polledAt = Date.now();
      const snapshot = await this.snapshot(imageId, target);
      const outcome = snapshot.outcome;
      const seen = JSON.stringify(outcome);
      if (seen !== lastSeen) {
        lastSeen = seen;
        options.onProgress?.(outcome);
      }
      if (isSettled(outcome.status)) return outcome;
      const verdict = trouble.check(snapshot.queryProblem, polledAt, Date.now());
      if (verdict !== undefined) throw verdict;
      await abortableSleep(pollMs, signal);
    }
  }

  /**
   * Re-runs every failed step of a parked deletion; refused (NothingToRetryError) when nothing
   * failed, NoWorkerAnsweredError when no worker handles the update within workerTimeoutMs.
   */
  async retry(imageId: string, options: UpdateOptions = {}): Promise<DeletionOutcome> {
    const workflowId = checkedWorkflowId(imageId);
    checkedOptions(timingOptionsSchema, options, 'nothing was retried');
    const { signal, updateId } = checkedOptions(updateOptionsSchema, options, 'nothing was retried');
    const workerTimeoutMs = this.workerTimeout(options.workerTimeoutMs);
    const answered = await this.call(async (client): Promise<DeletionOutcome | { appliedIn: string }> => {
      const description = await this.describeExisting(client, imageId, workflowId);
      const handle = client.workflow.getHandle(workflowId, description.runId);
      if (description.status.name !== 'RUNNING' && (await acceptedUpdate(handle, updateId))) return { appliedIn: description.runId };
      // A deletion (not a dry run) completes only once the image is deleted.
      if (description.status.name === 'COMPLETED') {
        throw new NothingToRetryError(imageId, `its deletion completed and the image is deleted; see imgdel status ${imageId}`);
      }
      if (description.status.name !== 'RUNNING') {
        throw new NothingToRetryError(
          imageId,
          `the deletion already ended (${describeEnd(description)}); see imgdel status ${imageId}, and to try again start a new one: imgdel delete ${imageId}`,
        );
      }
      try {
        const answer = await withWorkerDeadline(client, workerTimeoutMs, () => handle.executeUpdate(retryUpdate, { updateId }), () =>
          new NoWorkerAnsweredError(imageId, description.taskQueue, workerTimeoutMs, 'the retry was not accepted; it may still run once a worker starts'),
          signal,
        );
        return this.progressOutcome(workflowId, imageId, answer);
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) throw retryRefusal(imageId, error);
        // The run ended between the describe and the update (the park timeout, another operator).
        if (error instanceof WorkflowNotFoundError) {
          throw new NothingToRetryError(imageId, `the deletion ended before the retry reached it; see imgdel status ${imageId}`);
        }
        throw error;
      }
    }, signal);
    // The same request again after the run ended: it was applied, so answer with where that run is now.
    if ('appliedIn' in answered) return (await this.snapshot(imageId, { signal }, answered.appliedIn)).outcome;
    return answered;
  }

  /**
   * Gives up on a parked deletion; resolves with the final outcome (status abandoned).
   * NoWorkerAnsweredError when no worker handles it within workerTimeoutMs.
   */
  async abandon(imageId: string, reason?: string, options: UpdateOptions = {}): Promise<DeletionOutcome> {
    const workflowId = checkedWorkflowId(imageId);
    // The workflow's own check of the request: a reason that is not text is refused here too, not sent.
    const problems = abandonRequestProblems(reason === undefined ? {} : { reason });
    if (problems.length > 0) throw new InvalidDeletionInputError(describeInputProblems(problems), 'nothing was abandoned', problems);
    checkedOptions(timingOptionsSchema, options, 'nothing was abandoned');
    const { signal, updateId } = checkedOptions(updateOptionsSchema, options, 'nothing was abandoned');
    const workerTimeoutMs = this.workerTimeout(options.workerTimeoutMs);
    const abandonedRun = await this.call(async (client) => {
      const description = await this.describeExisting(client, imageId, workflowId);
      const handle = client.workflow.getHandle(workflowId, description.runId);
      if (description.status.name !== 'RUNNING') {
        // The same request again, its first call having ended the run: answer with that ending.
        if (await acceptedUpdate(handle, updateId)) return description.runId;
        throw new DeletionUpdateRefusedError(
          'abandon',
          imageId,
          `cannot abandon the deletion of ${imageId}: it already ended (${describeEnd(description)})`,
        );
      }
      const noWorker = () =>
        new NoWorkerAnsweredError(imageId, description.taskQueue, workerTimeoutMs, 'the abandon was not accepted; it may still apply once a worker starts');
      try {
        await withWorkerDeadline(
          client,
          workerTimeoutMs,
          () => handle.executeUpdate(abandonUpdate, { args: [reason === undefined ? {} : { reason }], updateId }),
          noWorker,
          signal,
        );
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) {
          throw new DeletionUpdateRefusedError('abandon', imageId, `abandon refused for ${imageId}: ${refusalReason(error)}`);
        }
        if (error instanceof WorkflowNotFoundError) {
          throw new DeletionUpdateRefusedError(
            'abandon',
            imageId,
            `cannot abandon the deletion of ${imageId}: it ended before the abandon reached it; see imgdel status ${imageId}`,
          );
        }
        throw error;
      }
      // The workflow ends right after accepting the update; wait for that ending (bounded too).
      const notFinished = (cause: unknown) => new AbandonNotFinishedError(imageId, description.taskQueue, workerTimeoutMs, isDeadline(cause) ? undefined : errorMessage(cause));
      try {
        await client.connection.withDeadline(Date.now() + workerTimeoutMs, () => handle.result());
      } catch (error) {
        // Any ending is the end waited for; anything else (the deadline, Temporal gone) leaves it
        // unknown, and the error says the abandon was accepted rather than nothing at all.
        if (!(error instanceof WorkflowFailedError)) throw notFinished(error);
      }
      return description.runId;
    }, signal);
    // The run abandoned, not whichever is latest by now: a new deletion of the image may have started since.
    return (await this.snapshot(imageId, { signal }, abandonedRun)).outcome;
  }

  /**
   * Asks the running deletion of an image to stop: before the pivot it compensates; after, it
   * reports what is left. With `{ dryRun: true }` it ends its dry run instead,
   * at once and without a worker (terminated: a dry run changes nothing, so nothing needs undoing),
   * e.g. one started on a task queue no worker polls, which would otherwise hold every later dry run.
   */
  async cancel(imageId: string, target: TargetOptions = {}): Promise<CancelResult> {
    checkedOptions(targetOptionsSchema, target, 'nothing was cancelled');
    const dryRun = target.dryRun === true;
    const workflowId = checkedWorkflowId(imageId, dryRun);
    // The run that had ended before the request reached it, or undefined when the request landed.
    const endedRun = await this.call(async (client): Promise<string | undefined> => {
      const description = await this.describeExisting(client, imageId, workflowId);
      if (description.status.name !== 'RUNNING') return description.runId;
      const handle = client.workflow.getHandle(workflowId, description.runId);
      try {
        if (dryRun) await handle.terminate('dry run cancelled (imgdel cancel --dry-run); a dry run changes nothing');
        else await handle.cancel();
      } catch (error) {
        // The run ended between the describe and the terminate: report how it ended, as for one ended before.
        if (error instanceof WorkflowNotFoundError) return description.runId;
        throw error;
      }
      return !dryRun && (await endedBeforeCancelRequest(handle)) ? description.runId : undefined;
    }, target.signal);
    if (endedRun === undefined) return { workflowId, requested: true };
    return { workflowId, requested: false, outcome: (await this.snapshot(imageId, target, endedRun)).outcome };
  }

  /** Deletions found through the ImageId / DeletionStatus search attributes, newest first. */
  async list(options: ListOptions = {}): Promise<DeletionListItem[]> {
    const checked = checkedOptions(listOptionsSchema, options, 'nothing was listed');
    const signal = checked.signal;
    const limit = checked.limit ?? DEFAULT_LIST_LIMIT;
    const query = listQuery(checked.status);
    return this.call(async (client) => {
      const items: DeletionListItem[] = [];
      for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
        items.push(listItem(info));
        if (items.length >= limit) break;
      }
      return items;
    }, signal);
  }

  /**
   * Closes the connection this client opened (not one passed in). Every call made after it, and
   * the next poll of a wait still running, fails with ImgdelClientClosedError instead of
   * connecting again; a call already on the wire ends as the closed connection makes it end.
   */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.ownConnection;
    this.ownConnection = undefined;
    this.clientPromise = undefined;
    await connection?.close();
  }

  private connect(): Promise<Client> {
    if (this.closed) return Promise.reject(new ImgdelClientClosedError());
    this.clientPromise ??= (async () => {
      let connection = this.options.connection;
      if (connection === undefined) {
        try {
          connection = await Connection.connect({
            ...this.connectionOptions,
            connectTimeout: this.options.connectTimeoutMs ?? 5_000,
          });
        } catch (error) {
          if (isRefusal(error)) throw new TemporalRefusedError(this.address, this.namespace, serverReason(error));
          throw new TemporalUnavailableError(this.address, errorMessage(error));
        }
        if (this.closed) {
          // close() came while this connection was being made: it is nobody's to keep.
          await connection.close();
          throw new ImgdelClientClosedError();
        }
        this.ownConnection = connection;
      }
      return new Client({ connection, namespace: this.namespace });
    })();
    const pending = this.clientPromise;
    // A failed connect is not cached: the next call tries again.
    pending.catch(() => {
      if (this.clientPromise === pending) this.clientPromise = undefined;
    });
    return pending;
  }

  /**
   * Runs `fn` with the client, the server's errors turned into the client's. A signal ends the call
   * at once with its reason and cancels the gRPC calls `fn` has on the wire.
   */
  private async call<T>(fn: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const client = await unlessAborted(this.connect(), signal);
    try {
      return await unlessAborted(signal === undefined ? fn(client) : client.withAbortSignal(signal, () => fn(client)), signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (isUnavailable(error)) throw new TemporalUnavailableError(this.address, errorMessage(error));
      if (error instanceof SdkNamespaceNotFoundError) throw new NamespaceNotFoundError(this.address, this.namespace);
      if (isRefusal(error)) throw new TemporalRefusedError(this.address, this.namespace, serverReason(error));
      const failure = serverFailureStatus(error);
      if (failure !== undefined) throw new TemporalServerError(this.address, failure, serverReason(error));
      throw error;
    }
  }

  /** The latest run of the workflow id, or the run `runId` of it. */
  private async describeExisting(client: Client, imageId: string, workflowId: string, runId?: string): Promise<WorkflowExecutionDescription> {
    const description = await describeOrUndefined(client.workflow.getHandle(workflowId, runId));
    if (description === undefined) throw new DeletionNotFoundError(imageId, workflowId, this.namespace);
    return description;
  }

  /** The retry update's answer; one this imgdel cannot read (another version's worker) still says the retry runs. */
  private progressOutcome(workflowId: string, imageId: string, answer: unknown): DeletionOutcome {
    const progress = parseProgress(answer);
    if (progress) return outcomeFromProgress(workflowId, progress);
    return runningWithoutReport(
      workflowId,
      imageId,
      `The retry was accepted, but the worker answered with a report this imgdel cannot read (another version?); see imgdel status ${imageId}.`,
    );
  }

  private workerTimeout(perCall: number | undefined): number {
    return perCall ?? this.options.workerTimeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS;
  }

  /**
   * `queryProblem`: the deletion runs and its progress could not be read — no worker answered
   * (NoWorkerAnsweredError) or one answered with an error or an unreadable report (ProgressUnreadableError).
   */
  private async snapshot(
    imageId: string,
    target: TargetOptions,
    /** One run of the deletion's workflow id; by default the latest. */
    runId?: string,
  ): Promise<{ outcome: DeletionOutcome; progress?: DeletionProgress; queryProblem?: NoWorkerAnsweredError | ProgressUnreadableError }> {
    const workflowId = checkedWorkflowId(imageId, target.dryRun === true);
    return this.call(async (client) => {
      const description = await this.describeExisting(client, imageId, workflowId, runId);
      const handle = client.workflow.getHandle<DeleteImageWorkflow>(workflowId, description.runId);
      const status = description.status.name;
      if (status === 'RUNNING') {
        const answer = await this.queryProgress(client, handle);
        if (answer.kind === 'answered') {
          const retrying = retryingSteps(description);
          const outcome = outcomeFromProgress(workflowId, answer.progress);
          const parkedUntil = outcome.status === 'awaiting-retry' ? openTimerDeadline(await handle.fetchHistory()) : undefined;
          return {
            outcome: { ...outcome, ...(retrying.length === 0 ? {} : { retrying }), ...(parkedUntil === undefined ? {} : { parkedUntil }) },
            progress: answer.progress,
          };
        }
        const taskQueue = description.taskQueue;
        const queryProblem =
          answer.kind === 'no-answer'
            ? new NoWorkerAnsweredError(imageId, taskQueue, this.options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, 'no answer to the progress query')
            : new ProgressUnreadableError(imageId, taskQueue, answer.kind, answer.kind === 'unrecognized-report' ? answer.problem : answer.message);
        return {
          queryProblem,
          outcome: runningWithoutReport(
            workflowId,
            imageId,
            answer.kind === 'no-answer'
              ? `No worker answered the progress query. Is a worker running on task queue ${taskQueue}? ` +
                  'Start one with `npm run worker` (or `npm start` for the local stack).'
              : `The deletion is running, but its progress cannot be shown: ${queryProblem.message}`,
          ),
        };
      }
      if (status === 'COMPLETED') {
        const progress = parseProgress(await handle.result());
        if (progress) return { outcome: outcomeFromProgress(workflowId, progress), progress };
        // A report this imgdel cannot read (a newer worker's): the run completed, which a dry run
        // does by planning, never by deleting.
        return {
          outcome: {
            workflowId,
            imageId,
            status: target.dryRun === true ? 'planned' : 'deleted',
            phase: 'finished',
            regions: [],
            templates: [],
            details: 'The workflow completed, but this imgdel cannot read its report (written by a newer worker?); open it in the Temporal UI.',
          },
        };
      }
      const facts = await this.failureFacts(client, handle, workflowId, imageId, status === 'CANCELLED');
      const outcome = outcomeFromFailure(facts);
      return facts.report ? { outcome, progress: { ...facts.report, status: outcome.status } } : { outcome };
    }, target.signal);
  }

  private async failureFacts(
    client: Client,
    handle: WorkflowHandle<DeleteImageWorkflow>,
    workflowId: string,
    imageId: string,
    cancelled: boolean,
  ): Promise<Parameters<typeof outcomeFromFailure>[0]> {
    try {
      await handle.result();
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      const cause = error.cause;
      if (cause instanceof ApplicationFailure) {
        const report = parseProgress(cause.details?.[0]);
        return { workflowId, imageId, code: cause.type ?? 'Error', message: cause.message, ...(report ? { report } : {}) };
      }
      if (cause instanceof CancelledFailure || cancelled) {
        // A cancelled workflow has no report in its failure; a worker may still answer the query.
        const answer = await this.queryProgress(client, handle);
        const report = answer.kind === 'answered' ? answer.progress : undefined;
        return {
          workflowId,
          imageId,
          code: TemporalEndCode.Cancelled,
          message: 'The deletion was cancelled.',
          ...(report ? { report } : {}),
        };
      }
      if (cause instanceof TerminatedFailure) {
        return { workflowId, imageId, code: TemporalEndCode.Terminated, message: `The workflow was terminated: ${cause.message}` };
      }
      if (cause instanceof TimeoutFailure) {
        return { workflowId, imageId, code: TemporalEndCode.TimedOut, message: 'The workflow timed out.' };
      }
      return { workflowId, imageId, code: cause?.name ?? 'Error', message: cause?.message ?? error.message };
    }
    return { workflowId, imageId, code: 'Error', message: 'The workflow ended without a result.' };
  }

  private async queryProgress(client: Client, handle: WorkflowHandle<DeleteImageWorkflow>): Promise<ProgressAnswer> {
    const deadline = Date.now() + (this.options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
    let answer: unknown;
    try {
      answer = await client.connection.withDeadline(deadline, () => handle.query(progressQuery));
    } catch (error) {
      const problem = classifyQueryError(error);
      if (problem === undefined) throw withQueryReason(error);
      return problem;
    }
    const read = readProgress(answer);
    return 'progress' in read ? { kind: 'answered', progress: read.progress } : { kind: 'unrecognized-report', problem: read.problem };
  }
}

/**
 * What a failed progress query means, or undefined for an error that is not about the worker's
 * answer (server errors such as PERMISSION_DENIED or INTERNAL, a workflow not found, Temporal
 * unreachable), rethrown as it is.
 */
export function classifyQueryError(error: unknown): ProgressAnswer | undefined {
  const code = grpcCode(error);
  // A deadline that passes can also surface as CANCELLED ("Call cancelled"): no answer either.
  if (code === GrpcStatus.DEADLINE_EXCEEDED || code === GrpcStatus.CANCELLED) return { kind: 'no-answer' };
  // The SDK's error for a query the worker failed: its handler threw, or it has no such query.
  if (error instanceof QueryNotRegisteredError) return { kind: 'query-failed', message: queryFailureMessage(error) };
  // The server answers for the worker: the deletion's workflow task keeps failing, so no query can run.
  if (code === GrpcStatus.FAILED_PRECONDITION && /workflow task in failed state/i.test(`${errorMessage(error)} ${queryFailureMessage(error)}`)) {
    return { kind: 'task-failing', message: queryFailureMessage(error) };
  }
  return undefined;
}

/**
 * A query error rethrown with its reason: the SDK wraps server errors as ServiceError('Failed to
 * query Workflow', { cause }), which alone says nothing. Still a ServiceError with the same cause,
 * so it maps to the same exit code (4 for an unreachable Temporal).
 */
export function withQueryReason(error: unknown): unknown {
  if (!(error instanceof ServiceError) || error.cause === undefined) return error;
  const reason = queryFailureMessage(error);
  if (reason === '' || error.message.includes(reason)) return error;
  return new ServiceError(`${error.message}: ${reason}`, { cause: error.cause });
}

/** The worker's reason for failing a query: the innermost message, without gRPC's prefix. */
function queryFailureMessage(error: unknown): string {
  let innermost: unknown = error;
  while (innermost instanceof Error && innermost.cause instanceof Error) innermost = innermost.cause;
  return errorMessage(innermost).replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * The workflow id of an image's deletion, after checking the id with the workflow's own schema:
 * a mistyped id is refused (InvalidDeletionInputError) before anything is asked of Temporal.
 */
function checkedWorkflowId(imageId: string, dryRun = false): string {
  const check = checkInput({ imageId });
  if (!check.ok) {
    // Only the id was checked: its problems, without the field name, and nothing was asked of Temporal.
    const problems = check.issues.map((issue) => issue.message).join('; ');
    throw new InvalidDeletionInputError(problems, 'nothing was sent to Temporal', check.issues, 'invalid image id');
  }
  return deletionWorkflowId(imageId, dryRun);
}

/**
 * The environment the client reads, without the variables an explicit option replaces: a
 * backend passing { address } is not refused for a TEMPORAL_ADDRESS it does not use.
 */
function environmentFor(options: ImgdelClientOptions): Record<string, string | undefined> {
  const env = { ...(options.env ?? process.env) };
  if (options.address !== undefined) delete env.TEMPORAL_ADDRESS;
  if (options.namespace !== undefined) delete env.TEMPORAL_NAMESPACE;
  if (options.taskQueue !== undefined) delete env.IMGDEL_TASK_QUEUE;
  if (options.uiUrl !== undefined) delete env.TEMPORAL_UI_URL;
  return env;
}

/**
 * Runs `operation` with every Temporal call in it bounded by `timeoutMs`. An Update waits on the
 * server until a worker accepts it, without end when there is none; a deadline turns that into
 * the error `noWorker` makes.
 */
async function withWorkerDeadline<T>(
  client: Client,
  timeoutMs: number,
  operation: () => Promise<T>,
  noWorker: () => Error,
  signal: AbortSignal | undefined,
): Promise<T> {
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, operation);
  } catch (error) {
    // Cancelled by the caller's signal: the caller already has its answer, nothing to probe.
    if (signal?.aborted) throw error;
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadline(error)) {
      // The SDK retries UNAVAILABLE until the deadline, so a server that went away mid-call also
      // ends in DEADLINE_EXCEEDED: ask it once more, and its error (exit 4) wins over "no worker".
      await client.connection.withDeadline(Date.now() + SERVER_PROBE_TIMEOUT_MS, () => client.connection.workflowService.getSystemInfo({}));
      throw noWorker();
    }
    throw error;
  }
}

/**
 * --wait's bound on a deletion whose progress cannot be read. Two clocks: "no usable answer since",
 * that only a real answer resets, bounds the wait by the worker timeout, so a worker alternating
 * failed and unanswered queries is still given up on; "failing since", that any other result
 * resets, gives a failing query its short grace from its own first failure, so a slow worker's
 * first failure after a long silence does not end the wait at once. The error is the last problem
 * seen (its exit code with it).
 */
export class QueryTrouble {
  private since: number | undefined;
  private failingSince: number | undefined;

  constructor(
    private readonly imageId: string,
    private readonly workerTimeoutMs: number,
    private readonly failureGraceMs = QUERY_FAILURE_GRACE_MS,
  ) {}

  check(problem: NoWorkerAnsweredError | ProgressUnreadableError | undefined, polledAt: number, now: number): Error | undefined {
    if (problem === undefined) {
      this.since = undefined;
      this.failingSince = undefined;
      return undefined;
    }
    // A report this imgdel cannot read will not become readable: say so at once.
    if (problem instanceof ProgressUnreadableError && problem.reason === 'unrecognized-report') return problem;
    this.since ??= polledAt;
    const timedOut = now - this.since >= this.workerTimeoutMs;
    if (problem instanceof ProgressUnreadableError) {
      this.failingSince ??= polledAt;
      return timedOut || now - this.failingSince >= Math.min(this.failureGraceMs, this.workerTimeoutMs) ? problem : undefined;
    }
    this.failingSince = undefined;
    if (!timedOut) return undefined;
    return new NoWorkerAnsweredError(this.imageId, problem.taskQueue, this.workerTimeoutMs, 'the deletion is running, but nothing answers its progress query');
  }
}

/** running and awaiting-retry are the only states that are neither an end nor a park. */
function isSettled(status: DeletionStatus): boolean {
  return status === 'awaiting-retry' || TERMINAL_STATUSES.includes(status);
}

function outcomeAsProgress(outcome: DeletionOutcome): DeletionProgress {
  return {
    imageId: outcome.imageId,
    status: outcome.status,
    phase: outcome.phase,
    ...(outcome.pivotRegion === undefined ? {} : { pivotRegion: outcome.pivotRegion }),
    templates: outcome.templates,
    regions: outcome.regions,
    ...(outcome.error ? { error: outcome.error } : {}),
    retries: 0,
    ...(outcome.unrestoredTemplates ? { unrestoredTemplates: outcome.unrestoredTemplates } : {}),
    details: outcome.details ?? '',
  };
}

/**
 * How a deletion is started, in one place (the benchmark starts its deletions with it too):
 * - the region concurrency is written into the input, so a deletion keeps the one it started
 *   with whatever a later release's default is, and the workflow needs no version check
 *   (a patch marker and a search-attribute write per deletion) for it;
 * - ImageId and DeletionStatus=Running are set from the start, so the deletion is listed at
 *   once, and the memo says so, so the workflow does not write them again;
 * - the memo also says a cancellation waits for the deletes in flight, so the workflow needs no
 *   patch marker for that either;
 * - a summary and details for the Temporal UI; the start token tells our start from another.
 */
export function deletionStartOptions(input: DeleteImageInput, taskQueue: string, startToken: string) {
  return {
    workflowId: deletionWorkflowId(input.imageId, input.dryRun === true),
    taskQueue,
    args: [{ ...input, regionConcurrency: input.regionConcurrency ?? DEFAULTS.regionConcurrency }] as [DeleteImageInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    // A deletion ends completed only when the image is deleted: the server then refuses a second
    // one (even two racing starts), which the client answers as "already deleted". A dry run
    // completes with its plan and may be planned again.
    workflowIdReusePolicy: input.dryRun === true ? ('ALLOW_DUPLICATE' as const) : ('ALLOW_DUPLICATE_FAILED_ONLY' as const),
    staticSummary: input.dryRun ? `Dry run: delete image ${input.imageId}` : `Delete image ${input.imageId}`,
    staticDetails: startDetails(input),
    typedSearchAttributes: [
      { key: imageIdKey, value: input.imageId },
      { key: deletionStatusKey, value: SEARCH_STATUS.running },
    ],
    memo: { [START_TOKEN_MEMO_KEY]: startToken, [STATUS_SET_AT_START_MEMO_KEY]: true, [CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY]: true },
  };
}

function startDetails(input: DeleteImageInput): string {
  const lines = [
    input.dryRun ? 'Dry run: validate and plan, change nothing.' : 'Deletes the image in every region, templates first.',
  ];
  if (input.reason !== undefined) lines.push(`Reason: ${input.reason}`);
  if (input.requestedBy !== undefined) lines.push(`Requested by: ${input.requestedBy}`);
  return lines.join('\n\n');
}

function listQuery(status: DeletionStatus | undefined): string {
  const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`, 'ImageId IS NOT NULL'];
  if (status === 'running') {
    clauses.push(`DeletionStatus = '${SEARCH_STATUS.running}'`, `ExecutionStatus = 'Running'`);
  } else if (status === 'awaiting-retry') {
    // A parked deletion someone terminated keeps its attribute, but no longer waits for anyone.
    clauses.push(`DeletionStatus = '${SEARCH_STATUS['awaiting-retry']}'`, `ExecutionStatus = 'Running'`);
  } else if (status === 'failed') {
    // With those that ended without recording why (terminated or timed out while running or
    // parked), which listItem shows as failed too.
    const unrecorded = [SEARCH_STATUS.running, SEARCH_STATUS['awaiting-retry']].map((value) => `'${value}'`).join(', ');
    clauses.push(
      `(DeletionStatus = '${SEARCH_STATUS.failed}' OR (DeletionStatus IN (${unrecorded}) AND ExecutionStatus IN ('Terminated', 'TimedOut', 'Failed')))`,
    );
  } else if (status === 'cancelled') {
    // The workflow cannot record its own cancellation in a search attribute reliably.
    clauses.push(`ExecutionStatus = 'Canceled'`);
  } else if (status !== undefined) {
    clauses.push(`DeletionStatus = '${SEARCH_STATUS[status]}'`);
  }
  return clauses.join(' AND ');
}

const STATUS_BY_SEARCH_VALUE: ReadonlyMap<string, DeletionStatus> = new Map(
  (Object.entries(SEARCH_STATUS) as [DeletionStatus, string][]).map(([status, value]) => [value, status]),
);

function listItem(info: WorkflowExecutionInfo): DeletionListItem {
  const imageId = info.typedSearchAttributes.get(imageIdKey) ?? info.workflowId.replace(/^delete-image-/, '');
  const recorded = STATUS_BY_SEARCH_VALUE.get(info.typedSearchAttributes.get(deletionStatusKey) ?? '') ?? 'running';
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    imageId,
    status: reconcileStatus(recorded, info.status.name),
    dryRun: info.workflowId.endsWith('-dry-run'),
    temporalStatus: info.status.name,
    startTime: info.startTime.toISOString(),
    ...(info.closeTime ? { closeTime: info.closeTime.toISOString() } : {}),
  };
}

/** A closed workflow whose attribute still says running ended without recording why. */
function reconcileStatus(recorded: DeletionStatus, execution: string): DeletionStatus {
  if (execution === 'CANCELLED') return 'cancelled';
  if (execution === 'RUNNING' || (recorded !== 'running' && recorded !== 'awaiting-retry')) return recorded;
  if (execution === 'COMPLETED') return 'deleted';
  return 'failed';
}

function describeEnd(description: WorkflowExecutionDescription): string {
  return `its workflow is ${description.status.name.toLowerCase().replace(/_/g, ' ')}`;
}

function refusalReason(error: WorkflowUpdateFailedError): string {
  return error.cause?.message ?? error.message;
}

/**
 * Why a retry Update failed: its validator refused it (NothingToRetryError), or it was accepted
 * and the deletion ended before its round began (the handler's RetryNotStarted failure).
 */
export function retryRefusal(imageId: string, error: WorkflowUpdateFailedError): NothingToRetryError {
  const cause = error.cause;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.RetryNotStarted) {
    return new RetryNotStartedError(imageId, cause.message);
  }
  // The validator's own "Nothing to retry: …" would say it twice after the error's opening.
  return new NothingToRetryError(imageId, refusalReason(error).replace(/^nothing to retry: /i, ''));
}

async function describeOrUndefined(handle: WorkflowHandle): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** A namespace without imgdel's search attributes refuses the start; say how to register them. */
function explainMissingSearchAttributes(error: unknown, namespace: string): unknown {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
  const message = error instanceof Error ? [error.message, cause].filter(Boolean).join(': ') : '';
  if (!/search attribute/i.test(message)) return error;
  const create = Object.entries(SEARCH_ATTRIBUTES)
    .map(([name, type]) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`)
    .join(' && ');
  return new Error(`${message}. imgdel needs its search attributes in namespace ${namespace}: ${create}`, { cause: error });
}

function isUnavailable(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

function isDeadline(error: unknown): boolean {
  return grpcCode(error) === GrpcStatus.DEADLINE_EXCEEDED;
}

/** An error's message; for a server error the SDK wrapped (ServiceError('Failed to …', { cause })), the cause's too. */
function errorMessage(error: unknown): string {
  if (error instanceof ServiceError && error.cause instanceof Error && !error.message.includes(error.cause.message)) {
    return `${error.message}: ${error.cause.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The steps Temporal is retrying, from the workflow's description: its pending activities past
 * their first attempt, each with the error that failed the attempt before (which names the region
 * or template) and when the next one starts.
 */
function retryingSteps(description: WorkflowExecutionDescription): RetryingStep[] {
  return (description.raw.pendingActivities ?? []).flatMap((activity): RetryingStep[] => {
    const attempt = activity.attempt ?? 0;
    if (attempt < 2) return [];
    const failure = activity.lastFailure;
    const code = failure?.applicationFailureInfo?.type || (failure?.timeoutFailureInfo ? StepCode.ActivityTimeout : 'Error');
    const nextAttemptMs = protoMs(activity.nextAttemptScheduleTime);
    return [
      {
        activityId: activity.activityId ?? '',
        activity: activity.activityType?.name ?? 'activity',
        attempt,
        ...(activity.maximumAttempts ? { maximumAttempts: activity.maximumAttempts } : {}),
        ...(failure?.message ? { lastError: { code, message: failure.message } } : {}),
        ...(nextAttemptMs === undefined ? {} : { nextAttemptAt: new Date(nextAttemptMs).toISOString() }),
      },
    ];
  });
}
