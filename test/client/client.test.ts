/**
 * The client module against the real stack: shared dev server, emulator, in-process
 * worker with the real activities.
 */
import { Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  AbandonNotFinishedError,
  createImgdelClient,
  deletionWorkflowId,
  ImgdelClientClosedError,
  DeletionNotFoundError,
  DeletionUpdateRefusedError,
  InvalidDeletionInputError,
  NothingToRetryError,
  TemporalRefusedError,
  TemporalServerError,
  TemporalUnavailableError,
} from '../../src/client/index.js';
import type { DeletionListItem, DeletionOutcome, DeletionStatus, ImgdelClient, StartedDeletion } from '../../src/client/index.js';
import { deletionStartOptions } from '../../src/client/client.js';
import { DEFAULTS } from '../../src/workflows/input.js';
import { deletionStatusKey, imageIdKey, SEARCH_STATUS, WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { recordHistoryIfAsked } from '../helpers/histories.js';
import { testNamespace, testTemporalAddress } from '../helpers/temporal.js';
import { workflowExists } from '../helpers/stack.js';
import type { TestStack } from '../helpers/stack.js';
import { grpcError, seedImage, stackEnv, useClientStack } from './fixtures.js';

let stack: TestStack;
let imgdel: ImgdelClient;

useClientStack((started, client) => {
  stack = started;
  imgdel = client;
});

/** Visibility is eventually consistent: list until the deletion shows up (bounded). */
async function listUntilFound(status: DeletionStatus, workflowId: string): Promise<DeletionListItem | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = (await imgdel.list({ status })).find((item) => item.workflowId === workflowId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

type ServiceCall = (request: unknown) => Promise<unknown>;

/** The stack's connection with WorkflowService methods wrapped: makes a race or a failure certain. */
function connectionWrapping(method: string | readonly string[], wrap: (call: ServiceCall) => ServiceCall): Connection {
  const real = stack.client.connection;
  if (!(real instanceof Connection)) throw new Error('the test stack should hold a Connection');
  const methods: readonly string[] = typeof method === 'string' ? [method] : method;
  const service = new Proxy(real.workflowService, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !methods.includes(property) || typeof value !== 'function') return value;
      return wrap((request) => Promise.resolve(value.call(target, request)));
    },
  });
  return new Proxy(real, { get: (target, property) => (property === 'workflowService' ? service : Reflect.get(target, property, target)) });
}

describe('startDeletion', () => {
  it('refuses invalid input with the zod problems and starts nothing', async () => {
    const error = await imgdel.startDeletion({ imageId: 'img-ОOPS' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidDeletionInputError);
    expect((error as InvalidDeletionInputError).problems).toContain('imageId');
    expect(await workflowExists(stack.client, 'delete-image-img-ОOPS')).toBe(false);
  });

  it('runs one saga per image: a second start attaches; a start after completion reports it already deleted', async () => {
    const imageId = await seedImage(stack.admin);
    // Slow region deletes keep the first deletion running while the others arrive.
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 1_500, times: -1 });
    const [first, second] = await Promise.all([
      imgdel.startDeletion({ imageId, reason: 'test', requestedBy: 'client.test' }),
      imgdel.startDeletion({ imageId }),
    ]);
    expect(first.workflowId).toBe(`delete-image-${imageId}`);
    expect(second.runId).toBe(first.runId);
    expect([first.started, second.started].sort()).toEqual([false, true]);
    expect(first.uiUrl).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/delete-image-${imageId}`);

    const description = await stack.client.workflow.getHandle(first.workflowId).describe();
    expect(description.typedSearchAttributes.getAll().map((pair) => pair.key.name).sort()).toEqual(['DeletionStatus', 'ImageId']);
    expect(description.taskQueue).toBe(stack.taskQueue);

    // Running and nothing failed: the retry Update's validator refuses.
    const refusal = await imgdel.retry(imageId).catch((caught: unknown) => caught);
    expect(refusal).toBeInstanceOf(NothingToRetryError);
    expect((refusal as Error).message).toMatch(/nothing to retry/);

    const seen: string[] = [];
    const outcome = await imgdel.waitForOutcome(imageId, { pollMs: 100, onProgress: (next) => seen.push(next.status) });
    expect(outcome.status).toBe('deleted');
    expect(outcome.regions.map((region) => region.status)).toEqual(['deleted', 'deleted', 'deleted']);
    expect(outcome.templates.map((template) => template.status)).toEqual(['deleted']);
    expect(seen.at(-1)).toBe('deleted');

    const again = await imgdel.startDeletion({ imageId });
    expect(again).toMatchObject({ alreadyDeleted: true, started: false, runId: first.runId });
    // The server itself refuses a second run after a completed one (the id reuse policy), so two
    // racing starts cannot delete a deleted image again either.
    const raw = stack.client.workflow.start(WORKFLOW_TYPE, deletionStartOptions({ imageId }, stack.taskQueue, 'raw'));
    await expect(raw).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    const progress = await imgdel.getProgress(imageId);
    expect(progress.status).toBe('deleted');

    // Deleted: a retry is refused, saying so rather than suggesting a new deletion.
    const late = await imgdel.retry(imageId).catch((caught: unknown) => caught);
    expect(late).toBeInstanceOf(NothingToRetryError);
    expect((late as Error).message).toBe(
      `nothing to retry for image ${imageId}: its deletion completed and the image is deleted; see imgdel status ${imageId}`,
    );
  });

  it('writes only the final status of a deletion it started; a raw start without the memo writes them all', async () => {
    const viaClient = await seedImage(stack.admin);
    const started = await imgdel.startDeletion({ imageId: viaClient, reason: 'fewer writes' });
    expect((await imgdel.waitForOutcome(viaClient, { pollMs: 100 })).status).toBe('deleted');
    const handle = stack.client.workflow.getHandle(started.workflowId);
    await recordHistoryIfAsked('client-started-clean-3-regions', handle);

    const raw = await seedImage(stack.admin);
    const rawHandle = await stack.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: stack.taskQueue,
      workflowId: deletionWorkflowId(raw),
      args: [{ imageId: raw }],
      typedSearchAttributes: [
        { key: imageIdKey, value: raw },
        { key: deletionStatusKey, value: SEARCH_STATUS.running },
      ],
    });
    await rawHandle.result();

    const writes = async (workflowHandle: WorkflowHandle) => {
      const events = (await workflowHandle.fetchHistory()).events ?? [];
      const input: unknown = await defaultPayloadConverter.fromPayload(
        events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] ?? {},
      );
      return {
        markers: events.filter((event) => event.markerRecordedEventAttributes).length,
        upserts: events.flatMap((event) => {
          const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
          return fields ? [Object.keys(fields).sort().join('+')] : [];
        }),
        regionConcurrency: (input as { regionConcurrency?: number }).regionConcurrency,
      };
    };
    // Started through the client: the concurrency is in the input (no patch check), the
    // search attributes were set at start, so the only write is the final status.
    expect(await writes(handle)).toEqual({ markers: 0, upserts: ['DeletionStatus+ImageId'], regionConcurrency: DEFAULTS.regionConcurrency });
    // The same search attributes without the memo's word: written again, as before, and the two
    // choices the client's start makes (region concurrency, what a cancel does to the deletes)
    // are patch markers, each with core's TemporalChangeVersion write.
    expect(await writes(rawHandle)).toEqual({
      markers: 2,
      upserts: ['TemporalChangeVersion', 'DeletionStatus+ImageId', 'TemporalChangeVersion', 'DeletionStatus+ImageId'],
      regionConcurrency: undefined,
    });
    const listed = await listUntilFound('deleted', started.workflowId);
    expect(listed?.imageId).toBe(viaClient);
  });

  it('plans a dry run under its own workflow id and changes nothing', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    const started = await imgdel.startDeletion({ imageId, dryRun: true });
    expect(started.workflowId).toBe(`delete-image-${imageId}-dry-run`);
    const outcome = await imgdel.waitForOutcome(imageId, { dryRun: true, pollMs: 100 });
    expect(outcome.status).toBe('planned');
    const state = await stack.admin.state();
    expect(state.images.find((image) => image.imageId === imageId)?.regions).toEqual(['cn-shanghai', 'cn-hangzhou']);
  });
});

describe('waiting for a deletion', () => {
  it('stops a wait on its signal; the deletion goes on and can be waited for again', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 1_000, times: -1 });
    await imgdel.startDeletion({ imageId });
    const stop = new AbortController();
    const reason = new Error('the caller has seen enough');
    const seen: DeletionOutcome[] = [];
    const stopped = await imgdel
      .waitForOutcome(imageId, {
        pollMs: 100,
        signal: stop.signal,
        onProgress: (next) => {
          seen.push(next);
          stop.abort(reason);
        },
      })
      .catch((caught: unknown) => caught);
    expect(stopped).toBe(reason);
    expect(seen.map((next) => next.status)).toEqual(['running']);
    // Running, and no step has failed: nothing is being retried.
    expect(seen[0]).not.toHaveProperty('retrying');
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
  });

  it('stops a wait at once on its signal, even while a progress query waits for a worker', async () => {
    const imageId = await seedImage(stack.admin);
    const stop = new AbortController();
    const reason = new Error('the caller gave up');
    // The wait is stopped once its progress query has been sent, not after a guessed delay: a
    // slow machine would otherwise stop it before the query, and the test would pass without it.
    let stopOnQuery = false;
    let queries = 0;
    const stopping = connectionWrapping('queryWorkflow', (call) => (request) => {
      queries += 1;
      const answer = call(request);
      if (stopOnQuery) setImmediate(() => stop.abort(reason));
      return answer;
    });
    // No worker polls this task queue: the progress query would wait its whole (long) timeout.
    const unattended = createImgdelClient({
      connection: stopping,
      env: stackEnv({ taskQueue: `${stack.taskQueue}-unattended` }),
      queryTimeoutMs: 100_000,
    });
    try {
      const { workflowId } = await unattended.startDeletion({ imageId });
      stopOnQuery = true;
      const queriesBefore = queries;
      let progressShown = 0;
      const stopped = await unattended
        .waitForOutcome(imageId, { signal: stop.signal, workerTimeoutMs: 100_000, onProgress: () => (progressShown += 1) })
        .catch((caught: unknown) => caught);
      expect(stopped).toBe(reason);
      expect(queries - queriesBefore).toBe(1);
      // Stopped during its first poll: a wait that finished the query first would have shown it.
      expect(progressShown).toBe(0);
      await stack.client.workflow.getHandle(workflowId).terminate('test cleanup');
    } finally {
      await unattended.close();
    }
  });

  it('ends a retry waiting for a worker at once on its signal; a signal aborted before a call sends nothing', async () => {
    const imageId = await seedImage(stack.admin);
    const stop = new AbortController();
    const reason = new Error('the service request was cancelled');
    // Aborted once the update is on the wire (not after a guessed delay), as in the wait test above.
    let updates = 0;
    let lists = 0;
    const stopping = connectionWrapping(['updateWorkflowExecution', 'listWorkflowExecutions'], (call) => (request) => {
      if (typeof request === 'object' && request !== null && 'query' in request) lists += 1;
      else {
        updates += 1;
        setImmediate(() => stop.abort(reason));
      }
      return call(request);
    });
    // No worker polls this task queue: the update would wait its whole (long) worker timeout.
    const unattended = createImgdelClient({ connection: stopping, env: stackEnv({ taskQueue: `${stack.taskQueue}-unattended` }) });
    try {
      const { workflowId } = await unattended.startDeletion({ imageId });
      const stopped = await unattended.retry(imageId, { signal: stop.signal, workerTimeoutMs: 100_000 }).catch((caught: unknown) => caught);
      expect(stopped).toBe(reason);
      expect(updates).toBe(1);
      // Already aborted: refused before anything is sent, whatever the call.
      const gone = AbortSignal.abort(reason);
      expect(await unattended.list({ signal: gone }).catch((caught: unknown) => caught)).toBe(reason);
      expect(lists).toBe(0);
      const other = await seedImage(stack.admin);
      expect(await unattended.startDeletion({ imageId: other }, { signal: gone }).catch((caught: unknown) => caught)).toBe(reason);
      expect(await workflowExists(stack.client, deletionWorkflowId(other))).toBe(false);
      // A JavaScript caller's stray value is refused by name, not as a TypeError in the SDK.
      const invalid = await unattended.outcome(imageId, { signal: 'stop' as unknown as AbortSignal }).catch((caught: unknown) => caught);
      expect(invalid).toBeInstanceOf(InvalidDeletionInputError);
      expect((invalid as Error).message).toContain('signal: must be an AbortSignal');
      // The deletion the aborted retry addressed runs on.
      expect((await stack.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
      await stack.client.workflow.getHandle(workflowId).terminate('test cleanup');
    } finally {
      await unattended.close();
    }
  });

  it('shows the steps Temporal is retrying while the deletion runs', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, code: 'InternalError', times: -1 });
    await imgdel.startDeletion({ imageId, retryInitialIntervalMs: 300, transientAttempts: 20 });
    let outcome = await imgdel.outcome(imageId);
    for (let poll = 0; poll < 100 && (outcome.retrying ?? []).length === 0; poll++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      outcome = await imgdel.outcome(imageId);
    }
    expect(outcome.status).toBe('running');
    const [step] = outcome.retrying ?? [];
    expect(step).toMatchObject({ activity: 'deleteImageInRegion', maximumAttempts: 20, lastError: { code: 'InternalError' } });
    expect(step?.attempt).toBeGreaterThanOrEqual(2);
    expect(step?.lastError?.message).toContain(`delete image ${imageId} in cn-shanghai`);
    await stack.admin.clearFaults();
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
  });

  it('after close(), refuses every call and ends a wait still polling, without connecting again', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 1_000, times: -1 });
    const own = createImgdelClient({ env: stackEnv(stack) });
    await own.startDeletion({ imageId });
    let closing: Promise<unknown> | undefined;
    const waited = await own
      .waitForOutcome(imageId, {
        pollMs: 100,
        onProgress: () => {
          // Settled at once into a value, so that a failing close() is asserted, not unhandled.
          closing ??= own.close().then(
            () => 'closed',
            (caught: unknown) => caught,
          );
        },
      })
      .catch((caught: unknown) => caught);
    expect(await closing).toBe('closed');
    expect(waited).toBeInstanceOf(ImgdelClientClosedError);
    // A close() that comes while the first call is still connecting: that call fails as closed too
    // (and the connection it was making is closed, not kept).
    const racing = createImgdelClient({ env: stackEnv(stack) });
    const connecting = racing.getProgress(imageId).catch((caught: unknown) => caught);
    await racing.close();
    expect(await connecting).toBeInstanceOf(ImgdelClientClosedError);
    await expect(own.getProgress(imageId)).rejects.toBeInstanceOf(ImgdelClientClosedError);
    // The deletion did not depend on that client.
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
  });
});

describe('a rejected deletion', () => {
  it('ends with the cloud code as error code', async () => {
    const imageId = await seedImage(stack.admin, { inUse: true });
    await imgdel.startDeletion({ imageId });
    const outcome = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(outcome.status).toBe('rejected');
    expect(outcome.error?.code).toBe('ImageNotAllowDelete');
    expect(await imgdel.outcome(imageId)).toEqual(outcome);
  });
});

describe('a parked deletion', () => {
  it('is listed as AwaitingRetry, retried, and finally deleted', async () => {
    const imageId = await seedImage(stack.admin);
    const fault = await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const started = await imgdel.startDeletion({ imageId });
    const startedAt = Date.now();
    const parked = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(parked.status).toBe('awaiting-retry');
    expect(parked.regions.find((region) => region.regionId === 'cn-hangzhou')?.lastError?.code).toBe('ImageNotAllowDelete');
    // The park timeout runs from the moment it parked: after the start, before the answer.
    const parkMs = DEFAULTS.parkTimeoutSeconds * 1000;
    const parkedUntil = Date.parse(parked.parkedUntil ?? '');
    expect(parkedUntil).toBeGreaterThanOrEqual(startedAt - 1000 + parkMs);
    expect(parkedUntil).toBeLessThanOrEqual(Date.now() + parkMs);

    const listed = await listUntilFound('awaiting-retry', started.workflowId);
    expect(listed).toMatchObject({ imageId, status: 'awaiting-retry', dryRun: false, temporalStatus: 'RUNNING' });
    expect((await imgdel.list({ status: 'deleted' })).some((item) => item.workflowId === started.workflowId)).toBe(false);

    const stillFailing = await imgdel.retry(imageId);
    expect(['running', 'awaiting-retry']).toContain(stillFailing.status);
    const parkedAgain = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(parkedAgain.status).toBe('awaiting-retry');
    // Parked again: a new park timeout, from the second park.
    expect(Date.parse(parkedAgain.parkedUntil ?? '')).toBeGreaterThan(parkedUntil);
    expect(parkedAgain.regions.find((region) => region.regionId === 'cn-hangzhou')?.attempts).toBeGreaterThan(1);

    await fetch(`${stack.emulator.url}/_emulator/faults/${fault.id}`, { method: 'DELETE' });
    await imgdel.retry(imageId);
    const finished = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(finished.status).toBe('deleted');
  });

  it('applies a retry or an abandon repeated with the same update id once, also after the run ended, and refuses an id with spaces', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const started = await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');

    const badId = await imgdel.retry(imageId, { updateId: 'retry 1' }).catch((caught: unknown) => caught);
    expect(badId).toBeInstanceOf(InvalidDeletionInputError);
    expect((badId as Error).message).toContain('updateId: must be 1 to 255 printable characters without spaces');

    await imgdel.retry(imageId, { updateId: 'catalog-retry-1' });
    const parkedAgain = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(parkedAgain.status).toBe('awaiting-retry');
    const attempts = parkedAgain.regions.find((region) => region.regionId === 'cn-hangzhou')?.attempts;
    // The same request again (its caller could not tell whether the first got through): no second round.
    await imgdel.retry(imageId, { updateId: 'catalog-retry-1' });
    const afterRepeat = await imgdel.outcome(imageId);
    expect(afterRepeat.status).toBe('awaiting-retry');
    expect(afterRepeat.regions.find((region) => region.regionId === 'cn-hangzhou')?.attempts).toBe(attempts);
    const accepted = async () =>
      ((await stack.client.workflow.getHandle(started.workflowId).fetchHistory()).events ?? []).filter(
        (event) => event.workflowExecutionUpdateAcceptedEventAttributes,
      ).length;
    expect(await accepted()).toBe(1);
    // A new id is a new request.
    await imgdel.retry(imageId, { updateId: 'catalog-retry-2' });
    expect(await accepted()).toBe(2);
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');

    // An abandon ends the run, so the server no longer deduplicates: the history answers instead.
    expect((await imgdel.abandon(imageId, 'retired', { updateId: 'catalog-abandon-1' })).status).toBe('abandoned');
    const repeated = await imgdel.abandon(imageId, 'retired', { updateId: 'catalog-abandon-1' });
    expect(repeated).toMatchObject({ status: 'abandoned', workflowId: started.workflowId });
    // A retry whose id the run accepted answers where the deletion stands now.
    expect((await imgdel.retry(imageId, { updateId: 'catalog-retry-2' })).status).toBe('abandoned');
    // Another id is another request, refused as any update to an ended deletion is.
    expect(await imgdel.abandon(imageId, 'retired', { updateId: 'catalog-abandon-2' }).catch((caught: unknown) => caught)).toBeInstanceOf(DeletionUpdateRefusedError);
    expect(await imgdel.retry(imageId, { updateId: 'catalog-retry-3' }).catch((caught: unknown) => caught)).toBeInstanceOf(NothingToRetryError);
    expect(await accepted()).toBe(3);
  });

  it('says the retry runs when the worker answers it with a report this imgdel cannot read', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: 1 });
    await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    // Another version's worker: the update's result is a report of a shape this client does not know.
    const foreign = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"shape":"from another version"}') };
    const answeringForeign = connectionWrapping(['updateWorkflowExecution', 'pollWorkflowExecutionUpdate'], (call) => async (request) => {
      const answer = await call(request);
      const outcome = (answer as { outcome?: { success?: { payloads?: unknown[] } } }).outcome;
      if (outcome?.success) outcome.success.payloads = [foreign];
      return answer;
    });
    const retried = await createImgdelClient({ connection: answeringForeign, env: stackEnv(stack) }).retry(imageId);
    expect(retried).toMatchObject({ imageId, status: 'running' });
    expect(retried.details).toBe(
      `The retry was accepted, but the worker answered with a report this imgdel cannot read (another version?); see imgdel status ${imageId}.`,
    );
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('deleted');
  });

  it('is no longer listed as awaiting retry once terminated, but as failed', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const started = await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    expect(await listUntilFound('awaiting-retry', started.workflowId)).toBeDefined();
    await stack.client.workflow.getHandle(started.workflowId).terminate('an operator gave up');
    const failed = await listUntilFound('failed', started.workflowId);
    expect(failed).toMatchObject({ imageId, status: 'failed', temporalStatus: 'TERMINATED' });
    expect((await imgdel.list({ status: 'awaiting-retry' })).some((item) => item.workflowId === started.workflowId)).toBe(false);

    // Ended without deleting: a retry is refused, saying how to try again.
    const late = await imgdel.retry(imageId).catch((caught: unknown) => caught);
    expect(late).toBeInstanceOf(NothingToRetryError);
    expect((late as Error).message).toBe(
      `nothing to retry for image ${imageId}: the deletion already ended (its workflow is terminated); see imgdel status ${imageId}, and to try again start a new one: imgdel delete ${imageId}`,
    );
    // …and a new deletion may start after one that ended without deleting.
    const again = await imgdel.startDeletion({ imageId });
    expect(again).toMatchObject({ started: true });
    expect(again.runId).not.toBe(started.runId);
    await stack.client.workflow.getHandle(again.workflowId, again.runId).terminate('test over');
  });

  it.each(['retry', 'abandon', 'cancel'] as const)('answers a %s that finds the deletion ended since it looked (another operator, the park timeout)', async (action) => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const started = await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    // A connection whose describe answers as the deletion was, then ends it: the race, made certain.
    let endAfterDescribe = true;
    const racing = connectionWrapping('describeWorkflowExecution', (call) => async (request) => {
      const answer = await call(request);
      if (endAfterDescribe) {
        endAfterDescribe = false;
        await stack.client.workflow.getHandle(started.workflowId).terminate('ended meanwhile');
      }
      return answer;
    });
    const raced = createImgdelClient({ connection: racing, env: stackEnv(stack) });
    if (action === 'retry') {
      const refusal = await raced.retry(imageId).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(NothingToRetryError);
      expect((refusal as Error).message).toContain('the deletion ended before the retry reached it');
    } else if (action === 'abandon') {
      const refusal = await raced.abandon(imageId).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(DeletionUpdateRefusedError);
      expect((refusal as Error).message).toContain('it ended before the abandon reached it');
    } else {
      // Nothing was requested: the answer is how the run ended, as for a cancel after the end.
      const result = await raced.cancel(imageId);
      expect(result).toMatchObject({ workflowId: started.workflowId, requested: false, outcome: { status: 'failed' } });
    }
    expect(endAfterDescribe).toBe(false);
  });

  it.each([
    ['its deadline passes', grpcError(4, 'DEADLINE_EXCEEDED: Deadline exceeded'), 'did not finish within 30 s'],
    ['Temporal stops answering', grpcError(14, 'UNAVAILABLE: connection reset'), 'could not be seen to finish (Failed to get Workflow execution history: 14 UNAVAILABLE: connection reset)'],
  ])('says an accepted abandon was accepted when the wait for the ending fails because %s', async (_why, waitFailure, expected) => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    // The wait for the workflow's close event (a long poll of its history) fails; every other call is real.
    let failedWaits = 0;
    const failingWait = connectionWrapping('getWorkflowExecutionHistory', (call) => async (request) => {
      if (typeof request === 'object' && request !== null && 'waitNewEvent' in request && request.waitNewEvent === true) {
        failedWaits += 1;
        throw waitFailure;
      }
      return call(request);
    });
    const waiting = createImgdelClient({ connection: failingWait, env: stackEnv(stack) });
    const error = await waiting.abandon(imageId, 'the wait fails', { workerTimeoutMs: 30_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbandonNotFinishedError);
    expect((error as Error).message).toBe(
      `the abandon of ${imageId} was accepted, but the deletion ${expected} (task queue ${stack.taskQueue}); it ends once a worker runs it: see imgdel status ${imageId}.`,
    );
    expect(failedWaits).toBe(1);
    // What the message promises: the abandon did apply.
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('abandoned');
  });

  it('can be abandoned; the outcome carries the Abandoned code and the full report', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    const outcome = await imgdel.abandon(imageId, 'the instance cannot be moved');
    expect(outcome.status).toBe('abandoned');
    expect(outcome.error?.code).toBe('Abandoned');
    expect(outcome.regions.map((region) => `${region.regionId}:${region.status}`).sort()).toEqual(['cn-hangzhou:failed', 'cn-shanghai:deleted']);
  });

  it('reports the run it abandoned, even when a new deletion of the image starts as soon as that run ends', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const first = await imgdel.startDeletion({ imageId });
    expect((await imgdel.waitForOutcome(imageId, { pollMs: 100 })).status).toBe('awaiting-retry');
    // Another service starts the next deletion the moment the abandoned run's close event is seen.
    let next: Promise<StartedDeletion> | undefined;
    const racing = connectionWrapping('getWorkflowExecutionHistory', (call) => async (request) => {
      const answer = await call(request);
      const closeWait = typeof request === 'object' && request !== null && 'waitNewEvent' in request && request.waitNewEvent === true;
      if (closeWait && next === undefined) {
        next = imgdel.startDeletion({ imageId });
        // Started before the abandon reads the outcome: the latest run is the new one by then.
        await next;
      }
      return answer;
    });
    const abandoning = createImgdelClient({ connection: racing, env: stackEnv(stack) });
    const outcome = await abandoning.abandon(imageId, 'superseded');
    expect(next).toBeDefined();
    const second = await next;
    expect(second).toMatchObject({ started: true });
    expect(second?.runId).not.toBe(first.runId);
    // The abandoned run's report, not the new run's (running, or parked again by the same fault).
    expect(outcome).toMatchObject({ status: 'abandoned', error: { code: 'Abandoned' } });
    await stack.client.workflow.getHandle(first.workflowId).terminate('test cleanup');
  });
});

describe('cancel', () => {
  it('cancels a running deletion, and the outcome says cancelled', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteTemplates', latencyMs: 3_000, times: -1 });
    await imgdel.startDeletion({ imageId });
    const result = await imgdel.cancel(imageId);
    expect(result.requested).toBe(true);
    const outcome = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.error?.code).toBe('Cancelled');
    await stack.admin.clearFaults();
    const second = await imgdel.cancel(imageId);
    expect(second.requested).toBe(false);
    expect(second.outcome?.status).toBe('cancelled');
  });

  it('asks the template delete in flight to stop, waits for its answer, then re-creates the template', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteTemplates', latencyMs: 1_500, times: 1 });
    const started = await imgdel.startDeletion({ imageId });
    while ((await imgdel.getProgress(imageId)).templates.every((template) => template.status !== 'deleting')) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await imgdel.cancel(imageId);
    const outcome = await imgdel.waitForOutcome(imageId, { pollMs: 100 });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.templates.map((template) => template.status)).toEqual(['restored']);
    expect(outcome.regions.map((region) => region.status)).toEqual(['pending', 'pending', 'pending']);
    // The deletion's own account of the cancel, not a bare "cancelled".
    expect(outcome.error).toEqual({
      code: 'Cancelled',
      message: `The deletion of ${imageId} was cancelled before any region was deleted; the image and its templates are as they were.`,
    });
    const handle = stack.client.workflow.getHandle(started.workflowId);
    const events = (await handle.fetchHistory()).events ?? [];
    const cancelRequested = events.findIndex((event) => event.activityTaskCancelRequestedEventAttributes);
    expect(cancelRequested).toBeGreaterThan(-1);
    expect(events.findIndex((event, index) => index > cancelRequested && event.activityTaskCompletedEventAttributes)).toBeGreaterThan(cancelRequested);
    // The memo the client starts with decides this; no patch marker is written for it.
    expect(events.filter((event) => event.markerRecordedEventAttributes)).toHaveLength(0);
    await recordHistoryIfAsked('client-started-cancelled-waiting-for-a-template-delete', handle);
  });
});

describe('errors', () => {
  it('names the image when there is no deletion', async () => {
    const error = await imgdel.outcome('img-neverstarted01').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeletionNotFoundError);
    expect((error as Error).message).toContain('img-neverstarted01');
  });

  it('names the address when Temporal cannot be reached', async () => {
    const unreachable = createImgdelClient({ address: '127.0.0.1:1', connectTimeoutMs: 500 });
    const error = await unreachable.outcome('img-a1b2c3d4').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemporalUnavailableError);
    expect((error as TemporalUnavailableError).address).toBe('127.0.0.1:1');
    expect((error as Error).message).toContain('127.0.0.1:1');
  });

  it('says which credentials to check when Temporal refuses the call, and starts nothing', async () => {
    const imageId = await seedImage(stack.admin);
    // The dev server has no authorizer: the refusal a server with one sends, as the transport reports it.
    const refusing = connectionWrapping(['startWorkflowExecution', 'describeWorkflowExecution'], () => () => {
      throw grpcError(7, 'Request unauthorized.');
    });
    const refused = createImgdelClient({ connection: refusing, env: stackEnv(stack) });
    const error = await refused.startDeletion({ imageId }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemporalRefusedError);
    expect(error).toMatchObject({ code: 'TemporalRefused', address: testTemporalAddress(), namespace: testNamespace(), reason: 'Request unauthorized' });
    expect((error as Error).message).toBe(
      `Temporal at ${testTemporalAddress()} refused imgdel for namespace "${testNamespace()}" (Request unauthorized): check the credentials it connects with ` +
        '(TEMPORAL_API_KEY, or TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH, or the TEMPORAL_PROFILE that sets them) and that they are allowed to use this namespace',
    );
    expect(await workflowExists(stack.client, deletionWorkflowId(imageId))).toBe(false);
  });
  it("names a failure of the server's own with its status and says to look before repeating", async () => {
    const imageId = await seedImage(stack.admin);
    await imgdel.startDeletion({ imageId });
    // What the SDK hands over once its own retries of RESOURCE_EXHAUSTED are spent.
    const limited = connectionWrapping('describeWorkflowExecution', () => () => {
      throw grpcError(8, 'namespace rate limit exceeded.');
    });
    const overLimit = createImgdelClient({ connection: limited, env: stackEnv(stack) });
    const error = await overLimit.outcome(imageId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TemporalServerError);
    expect(error).toMatchObject({ code: 'TemporalServerError', address: testTemporalAddress(), status: 'RESOURCE_EXHAUSTED', reason: 'namespace rate limit exceeded' });
    expect((error as Error).message).toBe(
      `Temporal at ${testTemporalAddress()} answered RESOURCE_EXHAUSTED (namespace rate limit exceeded). ` +
        'The server is over a limit (a rate limit of the namespace, or its capacity): try again in a minute. ' +
        'A start, retry, abandon or cancel it was handling may or may not have taken effect: check with imgdel status <image> before repeating one.',
    );
    // The deletion itself is untouched by the client's failed read.
    expect((await imgdel.outcome(imageId)).workflowId).toBe(deletionWorkflowId(imageId));
  });
});
