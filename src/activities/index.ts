/**
 * createActivities(cloud): one cloud step per activity, each idempotent, each
 * turning a CloudError into an ApplicationFailure through failures.ts.
 */
import { setMaxListeners } from 'node:events';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { classify, CloudError, isCloudError, StepCode, type SagaStep } from '../cloud/errors.js';
import {
  usageKindSchema,
  usageSourceKey,
  usageSourcesFor,
  type CallOptions,
  type CloudPort,
  type ProductType,
  type RecreatedTemplate,
  type TemplateSnapshot,
} from '../cloud/port.js';
import { failureFromCloudError } from './failures.js';
import { heartbeatWhile } from './heartbeats.js';
import { describeUsages, isStillCreating, noRegionsRefusal, refusalFor } from './validation.js';

export interface ActivityOptions {
  /** The account imgdel deletes for: images of other accounts are refused. */
  accountId: string;
  /** How often a region delete re-reads the image until the copy is gone. */
  confirmPollMs?: number;
  /** How long a region delete waits for the copy to disappear before retrying. */
  confirmTimeoutMs?: number;
}

export interface ImagePlan {
  imageId: string;
  imageName: string;
  productType: ProductType;
  regions: string[];
  /** True while the image is still being created (only returned when the caller is willing to wait). */
  creating: boolean;
}

export interface StepReceipt {
  /** `already-gone`: the cloud said the thing was gone before this call removed it. */
  outcome: 'deleted' | 'already-gone';
  attempt: number;
  requestId?: string;
  startedAt: string;
  finishedAt: string;
}

export interface RegionDeleteRequest {
  imageId: string;
  regionId: string;
  /** Attempts allowed for bounded error codes (see classify). */
  attemptBudget: number;
  /**
   * Attempts allowed when DeleteImage itself answers DeleteTemplate.Failed: the template-attempts
   * budget, as for the template deletes (deletion-saga.md). Absent in requests of older workflow
   * code: attemptBudget then applies.
   */
  templateAttemptBudget?: number;
}

export interface TemplateDeleteRequest {
  templateId: string;
  templateName: string;
  /** Attempts allowed when the answer is DeleteTemplate.Failed: the template-attempts budget. */
  attemptBudget: number;
  /**
   * Attempts allowed for an unknown code: the transient budget, as in every other step. Absent in
   * requests of older workflow code: attemptBudget then applies.
   */
  transientAttemptBudget?: number;
}

export interface RemainingRegions {
  exists: boolean;
  regions: string[];
}

export type ImgdelActivities = ReturnType<typeof createActivities>;

/**
 * A confirmation read that failed for good (its budget spent, or a refusal) after a DeleteImage that
 * may have removed the copy: the cloud accepted this attempt's delete, or found the copy gone at a
 * later attempt, after an earlier one of ours. Nothing undoes an accepted delete, so the step fails
 * as RegionDeleteUnconfirmed (which passes the pivot, as when the copy stays listed) with the read's
 * error in its message, instead of as the read's error, which before the pivot would have the saga
 * re-create the templates and report the image untouched. Any other error is returned as it is.
 */
function unconfirmedIfFinal(error: unknown, what: string, attempt: number, outcome: StepReceipt['outcome']): unknown {
  const mayHaveRemoved = outcome === 'deleted' || attempt > 1;
  if (!mayHaveRemoved || !(error instanceof ApplicationFailure) || !error.nonRetryable) return error;
  const accepted = outcome === 'deleted' ? `the cloud accepted the delete (attempt ${attempt})` : `the copy was already gone at attempt ${attempt} (an earlier attempt may have deleted it)`;
  return ApplicationFailure.create({
    type: StepCode.RegionDeleteUnconfirmed,
    message: `${what}: ${accepted}, but reading whether the region still lists the copy failed: ${error.message}`,
    nonRetryable: true,
    // The read's details: its attempt and request id go on into the report.
    details: error.details ? [...error.details] : [],
  });
}

/** The attempts a bounded code gets: DeleteTemplate.Failed the template budget, an unknown code the transient one. */
function boundedBudget(error: unknown, budgets: { template: number; transient: number }): number {
  return isCloudError(error) && error.code === 'DeleteTemplate.Failed' ? budgets.template : budgets.transient;
}

/** Heartbeat details of checkImageUsage: the sources already looked at, and what they found. */
const usageProgressSchema = z.object({
  checked: z.array(z.string()),
  usages: z.array(
    z.object({ kind: usageKindSchema, id: z.string(), regionId: z.string(), status: z.string().optional() }),
  ),
});
type UsageProgress = z.infer<typeof usageProgressSchema>;

/** A read stops as soon as its activity is cancelled, whatever the reason: nothing is lost with it. */
function readOptions(context: Context): CallOptions {
  return { signal: listenedToByMany(context.cancellationSignal) };
}

/**
 * Every cloud call of an activity listens to its signal (a usage check makes one per region at
 * once, each through a shared read, the rate limiter and the request), which is no leak: without
 * this, Node warns of one from the eleventh listener on.
 */
function listenedToByMany(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}

/**
 * A write stops when its attempt is given up (the worker shutting down, a timeout): the retry
 * sends it again, and one that had landed answers as done. Once sent, not when the workflow asked
 * for the cancellation: the saga then needs the write's answer, because a write it never hears of
 * may land after it has read what is gone (decideOnCancellation in the workflow). Before it is
 * sent (waiting for the rate limiter) every cancellation drops it: it then never goes out.
 */
function writeOptions(context: Context): CallOptions {
  const activitySignal = listenedToByMany(context.cancellationSignal);
  const write = new AbortController();
  const onCancel = () => {
    if (context.cancellationDetails?.cancelRequested !== true) write.abort(activitySignal.reason);
  };
  if (activitySignal.aborted) onCancel();
  else activitySignal.addEventListener('abort', onCancel, { once: true });
  return { signal: write.signal, unsentSignal: activitySignal };
}

export function createActivities(cloud: CloudPort, options: ActivityOptions) {
  const confirmPollMs = options.confirmPollMs ?? 1_000;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 60_000;

  /** Runs one cloud step, turning CloudErrors into the right ApplicationFailure. */
  async function step<T>(
    stepName: SagaStep,
    what: string,
    attemptBudget: number,
    body: () => Promise<T>,
    transientAttemptBudget?: number,
  ): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw failureFromCloudError(error, { step: stepName, what, attempt: Context.current().info.attempt, attemptBudget, transientAttemptBudget });
    }
  }

  /** A cloud error whose class is `done` means the goal is already reached. */
  function isDone(error: unknown, stepName: SagaStep): boolean {
    return isCloudError(error) && classify(error.code, stepName, error.httpStatus) === 'done';
  }

  const unbounded = Number.POSITIVE_INFINITY;

  /** Every activity heartbeats while it runs, once it has run a third of its heartbeat timeout (see heartbeats.ts). */
  function beating<T>(body: () => Promise<T>, details?: () => unknown): Promise<T> {
    return heartbeatWhile(Context.current(), body, details);
  }

  /** A refusal imgdel decides itself, reported exactly as if the cloud had said it. */
  function refuse(code: string, reason: string, what: string): Error {
    return failureFromCloudError(new CloudError({ code, message: reason }), {
      step: 'validate',
      what,
      attempt: Context.current().info.attempt,
      attemptBudget: 1,
    });
  }

  return {
    /** Reads the image and applies every rule that needs no other product's API. */
    async validateImage(request: { imageId: string; allowCreating: boolean }): Promise<ImagePlan> {
      const what = `validate image ${request.imageId}`;
      const image = await beating(() =>
        step('validate', what, unbounded, () => cloud.getImage(request.imageId, readOptions(Context.current()))),
      );
      const refusal = refusalFor(image, options.accountId);
      if (refusal) throw refuse(refusal.code, refusal.reason, what);
      const creating = isStillCreating(image);
      if (creating && !request.allowCreating) {
        throw refuse('InvalidImageOperation.ImageIsCreating', `the image is ${image.status}`, what);
      }
      const noRegions = creating ? undefined : noRegionsRefusal(image);
      if (noRegions) throw refuse(noRegions.code, noRegions.reason, what);
      return {
        imageId: image.imageId,
        imageName: image.imageName,
        productType: image.productType,
        // Each region once: a region listed twice would be deleted (and reported) twice.
        regions: [...new Set(image.regions)].sort(),
        creating,
      };
    },

    /**
     * No app instance group, workstation or desktop group may use the image, in any
     * region. One look-up per source; when one fails, the sources already checked are
     * recorded in a heartbeat (as they are in the heartbeats of a slow check), so the retry
     * repeats only what failed. Anything found using the image refuses the deletion at once
     * (ImageNotAllowDelete), also when another look-up failed.
     */
    async checkImageUsage(request: { imageId: string; regions: string[] }): Promise<void> {
      const context = Context.current();
      const what = `check what uses image ${request.imageId}`;
      const resumed = usageProgressSchema.safeParse(context.info.heartbeatDetails);
      const progress: UsageProgress = resumed.success ? resumed.data : { checked: [], usages: [] };
      const pending = usageSourcesFor(request.regions).filter((source) => !progress.checked.includes(usageSourceKey(source)));
      let firstError: unknown;
      await beating(
        () =>
          Promise.all(
            pending.map(async (source) => {
              try {
                progress.usages.push(...(await cloud.listImageUsages(request.imageId, source, readOptions(context))));
                progress.checked.push(usageSourceKey(source));
              } catch (error) {
                firstError ??= error;
              }
            }),
          ),
        () => progress,
      );
      // Something found using the image settles the check, whatever a look-up that failed would add:
      // the refusal comes at once, not after that look-up's retries (nor as its error once they run
      // out). A call abandoned with its activity (not a CloudError) still ends the attempt as before.
      const abandoned = firstError !== undefined && !isCloudError(firstError);
      if (progress.usages.length > 0 && !abandoned) throw refuse('ImageNotAllowDelete', `in use by ${describeUsages(progress.usages)}`, what);
      if (firstError !== undefined) {
        if (progress.checked.length > 0) context.heartbeat(progress);
        throw failureFromCloudError(firstError, { step: 'validate', what, attempt: context.info.attempt, attemptBudget: unbounded });
      }
    },

    /**
     * Full snapshots of every template that references the image, each template once: a paged list
     * can name one twice (a page boundary that moved between two reads), and the saga would then
     * delete it twice and re-create it twice when it compensates.
     */
    async listTemplates(imageId: string): Promise<TemplateSnapshot[]> {
      const listed = await beating(() =>
        step('templateLookup', `list the templates of image ${imageId}`, unbounded, () =>
          cloud.listTemplates(imageId, readOptions(Context.current())),
        ),
      );
      const seen = new Set<string>();
      return listed.filter((template) => !seen.has(template.templateId) && seen.add(template.templateId));
    },

    async deleteTemplate(request: TemplateDeleteRequest): Promise<StepReceipt> {
      const startedAt = new Date().toISOString();
      const context = Context.current();
      const attempt = context.info.attempt;
      const what = `delete template ${request.templateName} (${request.templateId})`;
      try {
        const receipt = await beating(() => cloud.deleteTemplate(request.templateId, writeOptions(context)));
        return { outcome: 'deleted', attempt, requestId: receipt.requestId, startedAt, finishedAt: new Date().toISOString() };
      } catch (error) {
        if (isDone(error, 'templateDelete')) {
          return { outcome: 'already-gone', attempt, startedAt, finishedAt: new Date().toISOString() };
        }
        const attemptBudget = boundedBudget(error, {
          template: request.attemptBudget,
          transient: request.transientAttemptBudget ?? request.attemptBudget,
        });
        // Transient codes too stop at the transient budget: the policy has room for the template budget.
        const transientAttemptBudget = request.transientAttemptBudget;
        throw failureFromCloudError(error, { step: 'templateDelete', what, attempt, attemptBudget, transientAttemptBudget });
      }
    },

    /**
     * Compensation: idempotent by template name and image (see the port).
     * `claimedTemplateIds`: the templates this compensation already restored for other snapshots,
     * never taken for this one (absent in requests of older workflow code).
     */
    async recreateTemplate(snapshot: TemplateSnapshot, claimedTemplateIds: readonly string[] = []): Promise<RecreatedTemplate> {
      return beating(() =>
        step('templateRecreate', `re-create template ${snapshot.templateName}`, unbounded, () =>
          cloud.recreateTemplate(snapshot, claimedTemplateIds, writeOptions(Context.current())),
        ),
      );
    },

    /** Deletes the image's copy in one region, then waits until the cloud confirms it is gone (heartbeating while slow). */
    async deleteImageInRegion(request: RegionDeleteRequest): Promise<StepReceipt> {
      const startedAt = new Date().toISOString();
      const context = Context.current();
      const attempt = context.info.attempt;
      const what = `delete image ${request.imageId} in ${request.regionId}`;
      let phase: 'deleting' | 'confirming' = 'deleting';
      return beating(
        async () => {
          let outcome: StepReceipt['outcome'] = 'deleted';
          let requestId: string | undefined;
          try {
            requestId = (await cloud.deleteImageInRegion(request.imageId, request.regionId, writeOptions(context))).requestId;
          } catch (error) {
            if (!isDone(error, 'regionDelete')) {
              const attemptBudget = boundedBudget(error, {
                template: request.templateAttemptBudget ?? request.attemptBudget,
                transient: request.attemptBudget,
              });
              // Transient codes stop at the transient budget: the policy has room for the template budget.
              throw failureFromCloudError(error, { step: 'regionDelete', what, attempt, attemptBudget, transientAttemptBudget: request.attemptBudget });
            }
            outcome = 'already-gone';
          }
          phase = 'confirming';
          const deadline = Date.now() + confirmTimeoutMs;
          for (;;) {
            try {
              const gone = await step(
                'regionConfirm',
                `confirm ${what}`,
                request.attemptBudget,
                () => cloud.isImageGoneFromRegion(request.imageId, request.regionId, readOptions(context)),
                request.attemptBudget,
              ).catch((error: unknown) => {
                throw unconfirmedIfFinal(error, what, attempt, outcome);
              });
              if (gone) break;
              if (Date.now() >= deadline) {
                throw ApplicationFailure.create({
                  type: StepCode.RegionDeleteUnconfirmed,
                  message: `${what}: the cloud accepted the delete (attempt ${attempt}) but still listed the copy ${confirmTimeoutMs} ms later.`,
                });
              }
              await context.sleep(confirmPollMs);
            } catch (error) {
              // The workflow was cancelled while the copy was still listed. The cloud accepted the
              // delete, which no cancellation undoes: this region is past the point of no return,
              // and reporting it deleted keeps the saga from re-creating the templates of an image
              // it has begun to delete (the copy may stay listed a while). A worker shutting down
              // is not that: the attempt fails and a retry confirms.
              if (error instanceof CancelledFailure && context.cancellationDetails?.cancelRequested === true) break;
              throw error;
            }
          }
          return {
            outcome,
            attempt,
            ...(requestId === undefined ? {} : { requestId }),
            startedAt,
            finishedAt: new Date().toISOString(),
          };
        },
        () => ({ phase, regionId: request.regionId }),
      );
    },

    /** The truth after a cancellation: which regions still hold a copy. */
    async remainingRegions(imageId: string): Promise<RemainingRegions> {
      try {
        const regions = await beating(() => cloud.imageRegions(imageId, readOptions(Context.current())));
        return { exists: true, regions: [...regions].sort() };
      } catch (error) {
        if (isCloudError(error) && error.code === 'Image.NotExist') return { exists: false, regions: [] };
        throw failureFromCloudError(error, {
          step: 'regionConfirm',
          what: `read the regions of image ${imageId}`,
          attempt: Context.current().info.attempt,
          attemptBudget: unbounded,
        });
      }
    },
  };
}
