/**
 * The image-deletion saga of deletion-saga.md: validate → snapshot and delete the
 * templates → delete the image per region (bounded parallel) → report.
 * Before the pivot (the first region whose copy is gone) every failure recovers
 * backward (templates re-created); after it, the saga only goes forward and parks
 * failed regions for an operator's retry or abandon.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ImagePlan, ImgdelActivities, RemainingRegions, StepReceipt } from '../activities/index.js';
import type { RecreatedTemplate, TemplateSnapshot } from '../cloud/port.js';
import { StepCode } from '../cloud/errors.js';
import { runBounded } from './bounded.js';
import { attemptsOf, causeFailureOf, cloudDetailsOf, stepErrorFrom, unansweredFailure } from './failure-causes.js';
import { abandonRequestProblems, checkInput, describeInputProblems, resolveInput, type ResolvedInput } from './input.js';
import {
  CREATION_POLL_SECONDS,
  CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY,
  FailureType,
  SEARCH_STATUS,
  STATUS_SET_AT_START_MEMO_KEY,
  abandonUpdate,
  deletionStatusKey,
  imageIdKey,
  progressQuery,
  retryUpdate,
  type AbandonRequest,
  type DeletionProgress,
  type DeletionStatus,
  type Phase,
  type RegionProgress,
  type StepError,
  type TemplateProgress,
} from './model.js';
import { counted, narrate } from './narrative.js';
import { activityOptionsFor, type ActivityOptionSet } from './retry-policies.js';
import { Saga } from './saga.js';
import { transitionLogLevel } from './transition-log.js';

/**
 * Patch: the default region concurrency went from 4 to DEFAULTS.regionConcurrency.
 * Deletions started before it keep 4 to the end (retry rounds included), exactly as
 * they began; test/histories/v1-*.json are such deletions.
 */
export const WIDER_REGION_FANOUT_PATCH = 'wider-region-fanout';
const ORIGINAL_REGION_CONCURRENCY = 4;

/**
 * Patch, decided when a cancellation arrives while template or region deletes are in flight:
 * those deletes are let finish (no new one starts) before the saga reads what is gone and
 * compensates, since a delete that is reported cancelled may still land. Without it (deletions
 * cancelled before the patch) they were cancelled at once, as the activities' default
 * cancellation type does.
 */
export const DRAIN_ON_CANCEL_PATCH = 'drain-deletes-on-cancel';
/**
 * Patch, decided when the regions cannot be read after a cancellation: the saga still
 * compensates (if no region is known deleted) and settles, instead of failing with the read's error.
 */
export const CANCEL_WITHOUT_REGION_READ_PATCH = 'cancel-without-region-read';
/**
 * Patch, decided when the deletion ends while a retry update still waits for its round (an
 * abandon accepted with it won): the retry is answered, instead of the workflow waiting for it forever.
 */
export const ANSWER_RETRY_AT_END_PATCH = 'answer-retry-at-end';
/**
 * Patch, decided when a region delete failed before the pivot: the saga reads which regions
 * still hold the image before compensating, since a delete that timed out or was not confirmed
 * may have been applied; if one is gone the pivot has passed and the saga goes forward.
 */
export const READ_REGIONS_BEFORE_COMPENSATING_PATCH = 'read-regions-before-compensating';
/**
 * Patch, decided before the first template or region delete is scheduled (a delete's cancellation
 * type is fixed then), unless the start said so already: the imgdel client sets
 * CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY, so its deletions carry no marker. The deletes are waited
 * for when cancelled: a cancellation asks the server at once to cancel the deletes in flight,
 * which ends their retries (the server retries no attempt of an activity whose cancellation was
 * requested), and the saga goes on once each has given its last answer (done, failed, timed out,
 * or cancelled at a heartbeat). Before it, a cancellation let them run on, retries included, for
 * up to cancelDrainSeconds (DRAIN_ON_CANCEL_PATCH), so a retry could still pass the pivot after
 * the cancel.
 */
export const CANCEL_STOPS_DELETE_RETRIES_PATCH = 'cancel-stops-delete-retries';
/**
 * Patch, decided only when a workflow cancellation reaches a wait of a retry or abandon already
 * accepted (the cancel came in the same workflow task), or the end of a deletion still answering
 * one: the update is answered with what happened (its round started or never will, the deletion
 * was abandoned) and the deletion ends as the saga decided, instead of the update failing with the
 * cancellation while the report said otherwise. (Update handlers run under the workflow's scope.)
 */
export const ANSWER_UPDATES_ON_CANCEL_PATCH = 'answer-updates-on-cancel';
/**
 * Patch, decided only when a region's copy is found gone although this deletion never sent a
 * DeleteImage that could have removed it (Image.NotExist at the region's first attempt, or a
 * region not yet launched that the cloud no longer lists): the region counts as deleted, but the
 * pivot is "the first region whose image was actually deleted" (deletion-saga.md), so it is not
 * passed, and a later failure before any real delete still compensates. Before it, such a
 * region passed the pivot, and the same failure parked the deletion.
 */
export const PIVOT_ONLY_WHEN_REMOVED_PATCH = 'pivot-only-when-removed';

/**
 * Patch, decided only when a region delete fails with RegionDeleteUnconfirmed: the cloud accepted
 * a DeleteImage (which nothing undoes) but still listed the copy. That passes the pivot, as it does
 * when a cancel cuts the confirmation short, so the saga parks the region instead of re-creating
 * the templates of an image whose copy is going. Before it, the saga read the regions, found the
 * copy still listed, and compensated.
 */
export const ACCEPTED_DELETE_PASSES_PIVOT_PATCH = 'accepted-delete-passes-pivot';
/**
 * Patch, decided only when a retry was accepted in the same workflow task as a cancel: no round
 * starts (it would delete nothing), the cancellation ends the deletion, and the retry is answered
 * RetryNotStarted. Before it, the round began (retries counted, failed regions set pending) and
 * launched nothing.
 */
export const NO_RETRY_ROUND_ONCE_CANCELLED_PATCH = 'no-retry-round-once-cancelled';
/**
 * Patch, decided only when an abandon update comes without an argument (or with null): it now
 * abandons, with no reason. Before it, such an update was accepted but stored as "no abandon
 * requested", so the deletion stayed parked and still took retries (and null failed the task).
 */
export const ABANDON_WITHOUT_ARGUMENT_PATCH = 'abandon-without-argument';

/**
 * Patch, decided only when a region whose last delete got no answer (failedUnanswered: the request
 * may have been sent and applied, its answer lost) is still listed when the saga reads
 * the regions before re-creating templates (after a cancel, or a failure before the pivot): it
 * waits up to the input's unansweredDeleteWaitSeconds, reading again every few seconds, for that
 * delete to show. Before it, the saga read once, re-created the templates, and could report the
 * image "as it was" just before a late delete removed its copy.
 */
export const WAIT_FOR_UNANSWERED_DELETES_PATCH = 'wait-for-unanswered-deletes';
/**
 * Patch, decided only when the saga is about to re-create templates and a template delete got no
 * answer (failedUnanswered): it first waits the input's unansweredDeleteWaitSeconds for
 * that delete to land, so the re-creation finds the template gone and re-creates it. Before it, the
 * re-creation found the template still in place and kept it, and a delete landing a moment later
 * left the template gone while the report said it was there.
 */
export const WAIT_FOR_UNANSWERED_TEMPLATE_DELETES_PATCH = 'wait-for-unanswered-template-deletes';
/**
 * Patch, decided only when a template or region delete's last attempt timed out (ActivityTimeout:
 * its worker stopped or hung, possibly after sending the request) and the saga asks whether a
 * delete got no answer: such a delete counts as unanswered, and is waited for like one whose
 * request timed out. Before it, only RequestTimeout and NetworkError counted.
 */
export const TIMED_OUT_DELETES_UNANSWERED_PATCH = 'timed-out-deletes-unanswered';
const UNANSWERED_DELETE_POLL_SECONDS = 5;

/** A template or region delete that failed without an answer: the cloud may still apply it. */
function failedUnanswered(step: { status: string; lastError?: { code: string } | undefined }): boolean {
  const how = unansweredFailure(step);
  return how === 'lost-answer' || (how === 'timed-out' && patched(TIMED_OUT_DELETES_UNANSWERED_PATCH));
}

type ImgdelActivityProxies = ReturnType<typeof proxyActivities<ImgdelActivities>>;

interface DeleteProxies {
  templates: ImgdelActivityProxies;
  regions: ImgdelActivityProxies;
  waitedForOnCancel: boolean;
}

export async function deleteImage(rawInput: unknown): Promise<DeletionProgress> {
  const check = checkInput(rawInput);
  if (!check.ok) {
    throw ApplicationFailure.create({
      type: FailureType.InvalidInput,
      message: `The deletion request is invalid, nothing was started: ${check.problems}`,
      nonRetryable: true,
    });
  }
  const input = resolveInput(check.input);
  if (check.input.regionConcurrency === undefined && !patched(WIDER_REGION_FANOUT_PATCH)) {
    input.regionConcurrency = ORIGINAL_REGION_CONCURRENCY;
  }
  return new ImageDeletion(input).run();
}

/**
 * One deletion: its state, its steps and its handlers. The usual path creates few promises (no
 * async wrapper or wait that it does not need): the SDK records a source-mapped stack trace for
 * every promise workflow code creates, for the stack-trace query, at about 0.1 ms of worker CPU
 * each (bench/README.md).
 */
class ImageDeletion {
  private readonly state: DeletionProgress;
  private readonly saga = new Saga();
  private readonly activityOptions: ActivityOptionSet;
  private readonly reads: ImgdelActivityProxies;
  private readonly compensations: ImgdelActivityProxies;
  /**
   * The proxies template and region deletes are scheduled with, and whether they are waited for
   * when cancelled (CANCEL_STOPS_DELETE_RETRIES_PATCH): made by deleteProxies before the first delete.
   */
  private deletes: DeleteProxies | undefined;
  private retryRequested = false;
  private abandonRequest: AbandonRequest | undefined;
  /** Bumped each time a retry round starts; the retry update waits for it. */
  private retryRound = 0;
  /** Retry updates waiting for their round to start. */
  private retriesWaiting = 0;
  /** Set when the deletion ends with retries still waiting: they are answered that no round will start. */
  private noMoreRetryRounds = false;
  /** Full template snapshots, kept in workflow state so a compensation can re-create them. */
  private snapshots: TemplateSnapshot[] = [];
  /** Each failed region's error, the cause reported with that region's code if the saga recovers backward. */
  private readonly regionFailures = new Map<string, unknown>();
  /** Regions whose delete got no answer and which the cloud still listed after the wait for it (readSettledRegions). */
  private unansweredStillListed: RegionProgress[] = [];
  /** The status the search attributes hold: moveTo writes only a change (each write is a server action). */
  private indexedStatus: DeletionStatus | undefined;
  /** The workflow's own scope: its cancellation is the workflow's. */
  private readonly workflowScope = CancellationScope.current();
  /**
   * The scope template and region deletes are scheduled in. It is shielded from the workflow's
   * cancellation, so that onWorkflowCancelled decides what happens to the deletes in flight.
   */
  private deletionScope: CancellationScope | undefined;
  /** The deletion scope's parent, shielded from the workflow's cancellation. */
  private deletionShield: CancellationScope | undefined;
  /** The timer that ends a drain (the input's cancelDrainSeconds), cancelled once the deletes it waits for have answered. */
  private drainLimit: CancellationScope | undefined;
  /** Template and region deletes scheduled and not answered yet. */
  private deletesInFlight = 0;
  /**
   * What a cancellation of the workflow does to the deletes, decided once: 'wait' cancels them at
   * once and waits for their last answers (CANCEL_STOPS_DELETE_RETRIES_PATCH); in deletions
   * without that patch, 'drain' lets those in flight run on (DRAIN_ON_CANCEL_PATCH), and 'cancel'
   * cancels them as deletions before either patch did.
   */
  private cancelDecision: 'wait' | 'drain' | 'cancel' | undefined;

  constructor(private readonly input: ResolvedInput) {
    this.indexedStatus = statusSetAtStart(input.imageId) ? 'running' : undefined;
    this.state = {
      imageId: input.imageId,
      status: 'running',
      phase: 'validating',
      templates: [],
      regions: [],
      retries: 0,
      details: '',
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    };
    this.activityOptions = activityOptionsFor(input);
    this.reads = proxyActivities<ImgdelActivities>(this.activityOptions.reads);
    this.compensations = proxyActivities<ImgdelActivities>(this.activityOptions.compensation);

    setHandler(progressQuery, () => this.state);
    setHandler(
      retryUpdate,
      async () => {
        this.retryRequested = true;
        const round = this.retryRound;
        this.retriesWaiting += 1;
        try {
          await this.untilEvenIfCancelled(() => this.retryRound > round || this.noMoreRetryRounds);
        } finally {
          // Also when the wait is cancelled with the workflow: no retry is waiting any more.
          this.retriesWaiting -= 1;
        }
        if (this.retryRound > round) return this.state;
        throw ApplicationFailure.create({
          type: FailureType.RetryNotStarted,
          message: `The retry of the deletion of ${input.imageId} did not start: the deletion ended first (${this.state.status}). ${this.state.error?.message ?? ''}`.trim(),
          nonRetryable: true,
        });
      },
      {
        validator: () => {
          if (this.workflowScope.consideredCancelled) {
            throw new Error(`The deletion of ${input.imageId} is being cancelled; it can no longer be retried.`);
          }
          const failed = this.failedRegions();
          if (this.state.phase === 'compensating') {
            throw new Error(
              `The deletion of ${input.imageId} cannot be retried: a step failed before the point of no return, and it is being rolled back (its templates re-created); it ends without parking. Start it again once the cause is fixed.`,
            );
          }
          const failedSteps = [
            ...this.state.templates.filter((template) => template.status === 'failed').map((template) => `template ${template.templateName}`),
            ...failed.map((region) => region.regionId),
          ];
          if (this.state.phase !== 'awaiting-retry' && failedSteps.length > 0) {
            // Failed, but not parked: other steps are still running. A failed template is always rolled back.
            const next =
              this.state.phase === 'deleting-templates'
                ? 'a failed template delete is rolled back (its templates re-created) without parking, so it cannot be retried: start it again once the cause is fixed'
                : 'retry it if it parks (status awaiting-retry)';
            throw new Error(
              `The deletion of ${input.imageId} cannot be retried now: ${failedSteps.join(', ')} failed, but it is not awaiting retry (status ${this.state.status}, phase ${this.state.phase}); ${next}.`,
            );
          }
          if (this.state.phase !== 'awaiting-retry' || failed.length === 0) {
            throw new Error(
              `Nothing to retry: no step of the deletion of ${input.imageId} has failed (status ${this.state.status}, phase ${this.state.phase}).`,
            );
          }
          if (this.abandonRequest !== undefined) {
            throw new Error(`The deletion of ${input.imageId} is being abandoned; it can no longer be retried.`);
          }
          if (this.state.retries >= input.maxRetryRounds) {
            throw new Error(
              `The deletion of ${input.imageId} has been retried ${counted(this.state.retries, 'time')}, as often as one deletion may be (maxRetryRounds). Abandon it (imgdel abandon ${input.imageId}), fix the cause, then start it again.`,
            );
          }
        },
      },
    );
    setHandler(
      abandonUpdate,
      async (request: AbandonRequest | null | undefined) => {
        this.abandonRequest = request ?? (patched(ABANDON_WITHOUT_ARGUMENT_PATCH) ? {} : undefined);
        // Finished otherwise only when a cancel came with it (see ANSWER_UPDATES_ON_CANCEL_PATCH).
        await this.untilEvenIfCancelled(() => this.state.status === 'abandoned' || this.state.phase === 'finished');
        return this.state;
      },
      {
        validator: (request: AbandonRequest | null | undefined) => {
          if (this.workflowScope.consideredCancelled) {
            throw new Error(`The deletion of ${input.imageId} is being cancelled; it can no longer be abandoned.`);
          }
          // Whatever a client sends: nothing, null, or an object with an optional reason and nothing else.
          const problems = abandonRequestProblems(request);
          if (problems.length > 0) throw new Error(`The abandon request is invalid: ${describeInputProblems(problems)}.`);
          if (this.state.phase !== 'awaiting-retry') {
            throw new Error(
              `Only a deletion awaiting retry can be abandoned; ${input.imageId} is ${this.state.status} (phase ${this.state.phase}). Use cancel to stop a running one.`,
            );
          }
          if (this.retryRequested) {
            throw new Error(
              `A retry of the deletion of ${input.imageId} was just requested; abandon it once the retry has run, if it parks again.`,
            );
          }
        },
      },
    );
  }

  async run(): Promise<DeletionProgress> {
    this.moveTo('running', 'validating');
    // Only the progress says so (no command): the steps in flight may take a while to answer.
    this.workflowScope.cancelRequested.catch(() => {
      if (this.state.phase === 'finished') return;
      this.state.cancelRequested = true;
      this.refreshDetails();
    });
    try {
      const plan = await this.validate();
      if (this.input.dryRun) return await this.settle('planned');
      await this.deleteTemplates();
      await this.deleteRegions(plan.regions);
      if (this.failedRegions().length > 0) await this.parkUntilDone();
      return await this.settle('deleted');
    } catch (error) {
      if (isCancellation(error)) {
        await CancellationScope.nonCancellable(() => this.afterCancellation());
      }
      throw error;
    }
  }

  // ── validation ────────────────────────────────────────────────────────────

  private async validate(): Promise<ImagePlan> {
    const { imageId } = this.input;
    let plan = await this.rejectOnFailure(
      this.reads.validateImage.executeWithOptions({ summary: `validate image ${imageId}` }, [
        { imageId, allowCreating: this.input.waitForCreationSeconds > 0 },
      ]),
    );
    let waited = 0;
    while (plan.creating) {
      if (waited >= this.input.waitForCreationSeconds) {
        throw await this.fail(
          'rejected',
          {
            code: 'InvalidImageOperation.ImageIsCreating',
            message: `Image ${imageId} was still being created after ${waited} s; nothing was changed. Start the deletion again once it is AVAILABLE.`,
          },
          true,
        );
      }
      this.state.creationWait = { waitedSeconds: waited, limitSeconds: this.input.waitForCreationSeconds };
      this.moveTo('running', 'waiting-for-creation');
      const pause = Math.min(CREATION_POLL_SECONDS, this.input.waitForCreationSeconds - waited);
      await sleep(pause * 1000);
      waited += pause;
      this.state.creationWait = { waitedSeconds: waited, limitSeconds: this.input.waitForCreationSeconds };
      plan = await this.rejectOnFailure(
        this.reads.validateImage.executeWithOptions({ summary: `validate image ${imageId} again (waited ${waited} s)` }, [
          { imageId, allowCreating: true },
        ]),
      );
    }
    this.moveTo('running', 'validating');
    const [, templates] = await this.rejectOnFailure(
      Promise.all([
        this.reads.checkImageUsage.executeWithOptions({ summary: `check that nothing uses image ${imageId}` }, [
          { imageId, regions: plan.regions },
        ]),
        this.reads.listTemplates.executeWithOptions({ summary: `list the templates of image ${imageId}` }, [imageId]),
      ]),
    );
    this.snapshots = templates;
    this.state.templates = templates.map(
      (template): TemplateProgress => ({
        templateId: template.templateId,
        templateName: template.templateName,
        status: 'pending',
        attempts: 0,
      }),
    );
    this.state.regions = plan.regions.map((regionId): RegionProgress => ({ regionId, status: 'pending', attempts: 0 }));
    return plan;
  }

  /** Validation failures change nothing: the workflow fails with the cloud code. */
  private rejectOnFailure<T>(step: Promise<T>): Promise<T> {
    return step.catch(async (error: unknown) => {
      if (isCancellation(error)) throw error;
      const stepError = stepErrorFrom(error);
      const details = cloudDetailsOf(error);
      const refused = details?.errorClass === 'rejected' || details?.errorClass === 'blocked';
      throw await this.fail(refused ? 'rejected' : 'failed', stepError, true, error);
    });
  }

  // ── templates (before the pivot) ───────────────────────────────────────────

  private async deleteTemplates(): Promise<void> {
    if (this.snapshots.length === 0) return;
    this.moveTo('running', 'deleting-templates');
    const snapshotsById = new Map(this.snapshots.map((snapshot) => [snapshot.templateId, snapshot]));
    let firstFailure: unknown;
    await this.runDeletes(
      this.state.templates,
      this.input.regionConcurrency,
      async (template) => {
        const snapshot = snapshotsById.get(template.templateId);
        if (!snapshot) return;
        this.saga.addCompensation(`re-create template ${template.templateName}`, () => this.restoreTemplate(template, snapshot));
        template.status = 'deleting';
        this.refreshDetails();
        this.deletesInFlight += 1;
        try {
          const receipt = await this.deleteProxies().templates.deleteTemplate.executeWithOptions(
            { summary: `delete template ${template.templateName} of image ${this.input.imageId}` },
            [
              {
                templateId: template.templateId,
                templateName: template.templateName,
                attemptBudget: this.input.templateAttempts,
                transientAttemptBudget: this.input.transientAttempts,
              },
            ],
          );
          template.status = 'deleted';
          template.attempts += receipt.attempt;
          if (receipt.requestId) template.requestId = receipt.requestId;
        } catch (error) {
          if (isCancellation(error)) {
            if (this.cancelDecision !== 'wait') throw error;
            // Stopped by the cancellation; compensation re-creates it if it is gone.
            return;
          }
          template.status = 'failed';
          template.lastError = stepErrorFrom(error);
          template.attempts += attemptsOf(error, this.activityOptions.templateDelete.retry?.maximumAttempts);
          firstFailure ??= error;
        } finally {
          this.deletesInFlight -= 1;
        }
        this.refreshDetails();
      },
      () => firstFailure !== undefined,
    );
    if (firstFailure !== undefined) throw await this.recoverBackward(stepErrorFrom(firstFailure), firstFailure);
  }

  private async restoreTemplate(template: TemplateProgress, snapshot: TemplateSnapshot): Promise<void> {
    // Templates restored for other snapshots (only compensation sets restoredAs) are never this
    // one's: two deleted templates identical in every field are then each re-created.
    const claimedTemplateIds = this.state.templates.flatMap((other) => (other.restoredAs === undefined ? [] : [other.restoredAs]));
    let restored: RecreatedTemplate;
    try {
      restored = await this.compensations.recreateTemplate.executeWithOptions(
        { summary: `re-create template ${snapshot.templateName} for image ${snapshot.imageId}` },
        [snapshot, claimedTemplateIds],
      );
    } catch (error) {
      // The report must say which template is missing, why, and hold what re-creates it by hand.
      template.status = 'failed';
      template.lastError = stepErrorFrom(error);
      this.state.unrestoredTemplates = [...(this.state.unrestoredTemplates ?? []), snapshot];
      this.refreshDetails();
      throw error;
    }
    template.status = restored.created ? 'restored' : 'kept';
    template.restoredAs = restored.templateId;
    this.refreshDetails();
  }

  /**
   * Before re-creating templates: a template delete that got no answer may land yet, after the
   * re-creation found the template in place (WAIT_FOR_UNANSWERED_TEMPLATE_DELETES_PATCH). Returns
   * those templates.
   */
  private async waitForUnansweredTemplateDeletes(): Promise<TemplateProgress[]> {
    const seconds = this.input.unansweredDeleteWaitSeconds;
    if (seconds === 0) return [];
    const unanswered = this.state.templates.filter(failedUnanswered);
    if (unanswered.length === 0 || !patched(WAIT_FOR_UNANSWERED_TEMPLATE_DELETES_PATCH)) return [];
    const names = unanswered.map((template) => `${template.templateId} (${template.templateName})`).join(', ');
    setCurrentDetails(`${this.state.details}\n\nWaiting ${seconds} s for the delete of template ${names}, which got no answer, to land before re-creating what is gone.`);
    await sleep(seconds * 1000);
    return unanswered;
  }

  /** Before the pivot: undo the template deletes, then fail as Compensated with the original error. */
  private async recoverBackward(cause: StepError, original: unknown): Promise<ApplicationFailure> {
    const deletedTemplates = this.state.templates.filter((template) => template.status === 'deleted').length;
    this.moveTo('running', 'compensating');
    const unansweredTemplates = await this.waitForUnansweredTemplateDeletes();
    const failures = await this.saga.compensate();
    if (failures.length > 0) {
      return this.fail(
        'failed',
        {
          code: FailureType.CompensationFailed,
          message: `Deleting image ${this.input.imageId} failed (${cause.code}) and re-creating ${counted(failures.length, 'template')} failed too: ${failures
            .map((failure) => failure.description)
            .join(', ')}. Re-create them by hand from their snapshots in this report (unrestoredTemplates).`,
        },
        // Running the workflow again would not bring the templates back: a person has to.
        true,
        original,
      );
    }
    // A template delete that got no answer and landed during the wait: re-created, so it counts as deleted.
    const landedLate = unansweredTemplates.filter((template) => template.status === 'restored').length;
    // A delete that got no answer and was still listed after the wait may land yet: "untouched" would not be sure.
    const unanswered = this.unansweredNote();
    const image = unanswered === '' ? 'the image is untouched' : 'the image is as it was, unless a delete that got no answer lands late';
    return this.fail(
      'compensated',
      {
        code: FailureType.Compensated,
        message: `Image ${this.input.imageId} was not deleted: ${cause.code}. ${this.templatesAfterCompensation(deletedTemplates + landedLate)}, and ${image}.${unanswered} ${cause.message}`,
      },
      true,
      original,
    );
  }

  /**
   * What a successful compensation did to the templates, as the start of a sentence: only what
   * happened. `deleted`: how many templates this deletion had deleted when it began to compensate
   * (a restore that finds its template in place may have re-created it at an earlier attempt).
   */
  private templatesAfterCompensation(deleted: number): string {
    const total = this.state.templates.length;
    if (total === 0) return 'The image has no templates';
    if (deleted === 0) {
      return total === 1 ? 'Its template had not been deleted, so it was not re-created' : `None of its ${total} templates had been deleted, so none was re-created`;
    }
    return `${deleted === 1 ? 'The template it had deleted was' : `The ${deleted} templates it had deleted were`} re-created from their snapshots`;
  }

  // ── regions (the pivot, then forward only) ─────────────────────────────────

  private async deleteRegions(regionIds: readonly string[]): Promise<void> {
    this.moveTo('running', 'deleting-regions');
    const pending = () => this.state.regions.filter((region) => region.status === 'pending');
    // Before the pivot a failure stops new launches; the choice between backward and
    // forward recovery is made only once nothing is in flight.
    const failedBeforePivot = () =>
      this.state.pivotRegion === undefined && this.state.regions.some((region) => region.status === 'failed');
    let round = this.state.regions.filter((region) => regionIds.includes(region.regionId) && region.status === 'pending');
    while (round.length > 0) {
      await this.runDeletes(round, this.input.regionConcurrency, (region) => this.deleteRegion(region), failedBeforePivot);
      if (failedBeforePivot() && patched(READ_REGIONS_BEFORE_COMPENSATING_PATCH) && (await this.foundDeletedRegions())) {
        round = pending();
        continue;
      }
      if (failedBeforePivot()) {
        // The code and the cause reported both come from the same region: the first failed one.
        const failed = this.state.regions.find((region) => region.status === 'failed');
        const cause = failed?.lastError ?? { code: StepCode.RegionDeleteFailed, message: 'a region delete failed' };
        throw await this.recoverBackward(cause, failed && this.regionFailures.get(failed.regionId));
      }
      round = pending();
    }
  }

  private async deleteRegion(region: RegionProgress): Promise<void> {
    region.status = 'deleting';
    delete region.lastError;
    this.refreshDetails();
    this.deletesInFlight += 1;
    try {
      const receipt: StepReceipt = await this.deleteProxies().regions.deleteImageInRegion.executeWithOptions(
        { summary: `delete image ${this.input.imageId} in ${region.regionId}` },
        [
          {
            imageId: this.input.imageId,
            regionId: region.regionId,
            attemptBudget: this.input.transientAttempts,
            templateAttemptBudget: this.input.templateAttempts,
          },
        ],
      );
      // Gone at the first DeleteImage this deletion sent for the region: removed by someone else.
      const goneBeforeUs = receipt.outcome === 'already-gone' && receipt.attempt === 1 && region.attempts === 0;
      region.status = 'deleted';
      region.attempts += receipt.attempt;
      region.startedAt = receipt.startedAt;
      region.finishedAt = receipt.finishedAt;
      if (receipt.requestId) region.requestId = receipt.requestId;
      if (receipt.outcome === 'already-gone') region.alreadyGone = true;
      // A copy already gone after an earlier attempt of ours counts too: that attempt most likely
      // deleted it, and the image can then no longer be left "as it was".
      this.passPivotAt(region, !goneBeforeUs);
    } catch (error) {
      if (isCancellation(error)) {
        if (this.cancelDecision !== 'wait') throw error;
        // Stopped by the cancellation (it may have landed): afterCancellation reads what is gone.
        return;
      }
      region.status = 'failed';
      region.lastError = stepErrorFrom(error);
      region.attempts += attemptsOf(error, this.activityOptions.regionDelete.retry?.maximumAttempts);
      this.regionFailures.set(region.regionId, error);
      if (region.lastError.code === StepCode.RegionDeleteUnconfirmed && patched(ACCEPTED_DELETE_PASSES_PIVOT_PATCH)) {
        this.passPivotAt(region, true);
      }
    } finally {
      this.deletesInFlight -= 1;
    }
    this.refreshDetails();
  }

  /**
   * runBounded in the deletion scope. When a cancellation waits for the deletes or drains them
   * (see decideOnCancellation) no new one starts and the cancellation is thrown here, after those
   * in flight have answered; otherwise a cancellation reaches the deletes as it always did.
   */
  private async runDeletes<T>(
    items: readonly T[],
    concurrency: number,
    task: (item: T) => Promise<void>,
    shouldStop: () => boolean,
  ): Promise<void> {
    const scope = this.deletionScopeOnce();
    try {
      await scope.run(() => runBounded(items, concurrency, task, () => this.stoppingOnCancel(scope) || shouldStop()));
    } finally {
      // The drain is over: its timer must not fire later, into whatever the saga does next.
      this.drainLimit?.cancel();
    }
    if (this.cancelDecision === 'wait' || this.cancelDecision === 'drain') throw new CancelledFailure('Workflow cancelled');
  }

  /** See CANCEL_STOPS_DELETE_RETRIES_PATCH: decided once, before the first delete is scheduled. */
  private deleteProxies(): DeleteProxies {
    if (this.deletes) return this.deletes;
    const waitedForOnCancel =
      workflowInfo().memo?.[CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY] === true || patched(CANCEL_STOPS_DELETE_RETRIES_PATCH);
    const cancellationType = waitedForOnCancel ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL;
    this.deletes = {
      templates: proxyActivities<ImgdelActivities>({ ...this.activityOptions.templateDelete, cancellationType }),
      regions: proxyActivities<ImgdelActivities>({ ...this.activityOptions.regionDelete, cancellationType }),
      waitedForOnCancel,
    };
    return this.deletes;
  }

  private deletionScopeOnce(): CancellationScope {
    if (this.deletionScope) return this.deletionScope;
    // Decided before anything can ask what a cancellation does to the deletes.
    this.deleteProxies();
    const shield = new CancellationScope({ cancellable: false, parent: this.workflowScope });
    const scope = new CancellationScope({ cancellable: true, parent: shield });
    this.workflowScope.cancelRequested.catch(() => this.decideOnCancellation(scope));
    this.deletionShield = shield;
    this.deletionScope = scope;
    return scope;
  }

  /**
   * Asked before every launch. The workflow's scope knows of a cancellation at once, its handler
   * above only a few microtasks later: deciding here first keeps a launch in the same activation
   * exactly as before the patches (refused by a cancelled scope), or stops it when waiting or draining.
   */
  private stoppingOnCancel(scope: CancellationScope): boolean {
    if (this.workflowScope.consideredCancelled) this.decideOnCancellation(scope);
    return this.cancelDecision === 'wait' || this.cancelDecision === 'drain';
  }

  /**
   * A delete reported cancelled may still land (the activity hears of the cancellation only at
   * its next heartbeat, and a request on the wire is not called back), so the saga reads what is
   * gone only once the deletes in flight have answered. With CANCEL_STOPS_DELETE_RETRIES_PATCH
   * they are asked to stop at once, which ends their retries, and waited for. Deletions begun
   * without it replay what they did: drain (DRAIN_ON_CANCEL_PATCH, decided here when the
   * cancellation arrived: the deletes ran on, retries included, for at most cancelDrainSeconds,
   * then were cancelled) or, before that patch, cancel at once without waiting.
   */
  private decideOnCancellation(scope: CancellationScope): void {
    if (this.cancelDecision !== undefined) return;
    if (this.deleteProxies().waitedForOnCancel) {
      this.cancelDecision = 'wait';
      scope.cancel();
      return;
    }
    if (this.deletesInFlight > 0 && patched(DRAIN_ON_CANCEL_PATCH)) {
      this.cancelDecision = 'drain';
      const limit = new CancellationScope({ cancellable: true, parent: this.deletionShield });
      this.drainLimit = limit;
      void limit.run(() => sleep(this.input.cancelDrainSeconds * 1000)).then(
        () => {
          if (this.deletesInFlight > 0) scope.cancel();
        },
        () => undefined, // cancelled: the deletes answered first
      );
      return;
    }
    this.cancelDecision = 'cancel';
    scope.cancel();
  }

  /**
   * Before compensating for a failed region delete: marks as deleted every region the cloud no
   * longer lists (the pivot is then passed). False when none is gone, or the regions cannot be
   * read (the saga then recovers backward, as it would without the read).
   */
  private async foundDeletedRegions(): Promise<boolean> {
    let remaining: RemainingRegions;
    try {
      remaining = await this.readSettledRegions();
    } catch (error) {
      if (isCancellation(error)) throw error;
      return false;
    }
    for (const region of this.state.regions) {
      if (region.status === 'deleted' || remaining.regions.includes(region.regionId)) continue;
      this.markGone(region);
    }
    this.refreshDetails();
    return this.state.pivotRegion !== undefined;
  }

  /**
   * A region the cloud no longer lists is deleted: a failed attempt's error no longer says what
   * happened to it, and one this deletion never sent a delete to was already gone.
   */
  private markGone(region: RegionProgress): void {
    const sentDelete = deleteWasSent(region);
    if (region.status === 'failed') delete region.lastError;
    if (!sentDelete) region.alreadyGone = true;
    region.status = 'deleted';
    this.passPivotAt(region, sentDelete);
  }

  /**
   * A region whose copy is gone passes the pivot (if none has) when this deletion may have removed
   * it; one it cannot have removed does not, unless the deletion began before
   * PIVOT_ONLY_WHEN_REMOVED_PATCH (asked only then, so other histories carry no marker).
   */
  private passPivotAt(region: RegionProgress, mayHaveRemoved: boolean): void {
    if (mayHaveRemoved || !patched(PIVOT_ONLY_WHEN_REMOVED_PATCH)) this.state.pivotRegion ??= region.regionId;
  }

  /** After the pivot: park failed regions until an operator retries, abandons, or the park timeout ends it. */
  private async parkUntilDone(): Promise<void> {
    for (;;) {
      const failed = this.failedRegions();
      if (failed.length === 0) return;
      this.moveTo('awaiting-retry', 'awaiting-retry');
      const decided = await condition(
        () => this.retryRequested || this.abandonRequest !== undefined,
        this.input.parkTimeoutSeconds * 1000,
      );
      if (this.abandonRequest !== undefined) {
        const why = this.abandonRequest.reason ? ` (${this.abandonRequest.reason})` : '';
        throw await this.fail(
          'abandoned',
          {
            code: FailureType.Abandoned,
            message: `An operator abandoned the deletion of ${this.input.imageId}${why}. ${this.regionSummary()}`,
          },
          true,
        );
      }
      if (!decided) {
        throw await this.fail(
          'failed',
          {
            code: FailureType.ParkTimeout,
            message: `Nobody retried the deletion of ${this.input.imageId} within ${this.input.parkTimeoutSeconds} s. ${this.regionSummary()}`,
          },
          true,
        );
      }
      if (this.workflowScope.consideredCancelled && patched(NO_RETRY_ROUND_ONCE_CANCELLED_PATCH)) {
        // The retry came with a cancel: the cancellation ends the deletion, and settling answers
        // the retry (RetryNotStarted).
        throw new CancelledFailure('Workflow cancelled');
      }
      this.retryRequested = false;
      this.state.retries += 1;
      for (const region of failed) region.status = 'pending';
      this.retryRound += 1;
      await this.deleteRegions(failed.map((region) => region.regionId));
    }
  }

  // ── cancellation ───────────────────────────────────────────────────────────

  /** Runs non-cancellable: before the pivot compensate, after it report what is deleted. */
  private async afterCancellation(): Promise<void> {
    let unread: StepError | undefined;
    if (this.state.phase === 'deleting-regions' || this.state.phase === 'awaiting-retry') {
      // A region delete may have landed without an answer: ask the cloud.
      let remaining: RemainingRegions;
      try {
        remaining = await this.readSettledRegions();
      } catch (error) {
        if (!patched(CANCEL_WITHOUT_REGION_READ_PATCH)) throw error;
        // Go on with what the saga knows: compensate if no region is known deleted, and settle.
        unread = stepErrorFrom(error);
        remaining = { exists: true, regions: this.state.regions.map((region) => region.regionId) };
      }
      for (const region of this.state.regions) {
        if (region.status !== 'deleted' && !remaining.regions.includes(region.regionId)) {
          this.markGone(region);
        } else if (region.status === 'deleting') {
          region.status = 'pending';
        }
      }
    }
    const compensating = this.state.pivotRegion === undefined && this.saga.pendingCompensations > 0;
    if (compensating) {
      this.moveTo('running', 'compensating');
      await this.waitForUnansweredTemplateDeletes();
      const failures = await this.saga.compensate();
      if (failures.length > 0) {
        this.state.error = {
          code: FailureType.CompensationFailed,
          message: `Re-creating ${counted(failures.length, 'template')} failed after the cancellation: ${failures.map((f) => f.description).join(', ')}. Re-create them by hand from their snapshots in this report (unrestoredTemplates).`,
        };
      }
    }
    const unreadNote = unread
      ? ` imgdel could not read which regions still hold the image after the cancellation (${unread.code}: ${unread.message}); check the image's regions in the console.`
      : '';
    const unansweredNote = this.unansweredNote();
    this.state.error ??= {
      code: 'Cancelled',
      message:
        (this.state.pivotRegion === undefined
          ? unread || unansweredNote !== ''
            ? `The deletion of ${this.input.imageId} was cancelled before any region was known to be deleted; ${compensating ? 'the templates deleted so far were re-created' : 'no template had been deleted'}.`
            : `The deletion of ${this.input.imageId} was cancelled before any region was deleted; the image and its templates are as they were.`
          : `The deletion of ${this.input.imageId} was cancelled after the point of no return. ${this.regionSummary()}`) +
        unansweredNote +
        unreadNote,
    };
    await this.settle('cancelled');
  }

  /**
   * What a report adds about regions whose delete got no answer and that the cloud still listed
   * after the wait for it (readSettledRegions): that delete may land yet. Empty when there are none.
   */
  private unansweredNote(): string {
    const unanswered = this.unansweredStillListed.filter((region) => region.status !== 'deleted');
    if (unanswered.length === 0) return '';
    return ` The delete in ${unanswered.map((region) => `${region.regionId} (${region.lastError?.code ?? 'no answer'})`).join(', ')} got no answer, and the cloud still listed the image there ${this.input.unansweredDeleteWaitSeconds} s later; if it was applied after all, the image is gone there: check the image's regions in the console.`;
  }

  /**
   * What the cloud lists, once a region delete that got no answer has had its chance to show
   * (WAIT_FOR_UNANSWERED_DELETES_PATCH); regions still listed after the wait are kept in
   * unansweredStillListed for the report. A read failing during the wait ends it with what the
   * last read said.
   */
  private async readSettledRegions(): Promise<RemainingRegions> {
    let remaining = await this.readRemainingRegions();
    // Past the pivot nothing is re-created, so nothing waits on the answer.
    if (this.state.pivotRegion !== undefined) return remaining;
    const unansweredListed = () =>
      this.state.regions.filter((region) => remaining.regions.includes(region.regionId) && failedUnanswered(region));
    let waitingFor = unansweredListed();
    if (waitingFor.length === 0 || !patched(WAIT_FOR_UNANSWERED_DELETES_PATCH)) return remaining;
    const limitSeconds = this.input.unansweredDeleteWaitSeconds;
    for (let waited = 0; waited < limitSeconds && waitingFor.length > 0; ) {
      const step = Math.min(UNANSWERED_DELETE_POLL_SECONDS, limitSeconds - waited);
      const regions = waitingFor.map((region) => region.regionId).join(', ');
      setCurrentDetails(`${this.state.details}\n\nWaiting up to ${limitSeconds - waited} s for the delete in ${regions}, which got no answer, to show before deciding what to undo.`);
      await sleep(step * 1000);
      waited += step;
      try {
        remaining = await this.readRemainingRegions();
      } catch (error) {
        if (isCancellation(error)) throw error;
        break;
      }
      waitingFor = unansweredListed();
    }
    this.unansweredStillListed = waitingFor;
    this.refreshDetails();
    return remaining;
  }

  private readRemainingRegions(): Promise<RemainingRegions> {
    return this.reads.remainingRegions.executeWithOptions(
      { summary: `read which regions still hold image ${this.input.imageId}` },
      [this.input.imageId],
    );
  }

  // ── state, search attributes, outcome ─────────────────────────────────────

  private moveTo(status: DeletionStatus, phase: Phase): void {
    const previousPhase = this.state.phase;
    this.state.status = status;
    this.state.phase = phase;
    if (status !== this.indexedStatus) {
      upsertSearchAttributes([
        { key: imageIdKey, value: this.input.imageId },
        { key: deletionStatusKey, value: SEARCH_STATUS[status] },
      ]);
      this.indexedStatus = status;
    }
    this.refreshDetails();
    this.logTransition(previousPhase);
  }

  /** One line for the phase changes transitionLogLevel picks; the SDK's logger skips it on replay. */
  private logTransition(previousPhase: Phase): void {
    const level = transitionLogLevel(previousPhase, this.state);
    if (level === undefined) return;
    const { imageId, status, phase, pivotRegion, error } = this.state;
    log[level](this.state.details, {
      imageId,
      status,
      phase,
      ...(pivotRegion === undefined ? {} : { pivotRegion }),
      ...(error === undefined ? {} : { errorCode: error.code }),
    });
  }

  private refreshDetails(): void {
    this.state.details = narrate(this.state, this.input.parkTimeoutSeconds, this.input.maxRetryRounds);
    setCurrentDetails(this.state.details);
  }

  private regionSummary(): string {
    const deleted = this.state.regions.filter((region) => region.status === 'deleted').map((region) => region.regionId);
    const left = this.state.regions.filter((region) => region.status !== 'deleted').map((region) => region.regionId);
    return `Deleted in: ${deleted.join(', ') || 'none'}. Still present in: ${left.join(', ') || 'none'}.`;
  }

  private failedRegions(): RegionProgress[] {
    return this.state.regions.filter((region) => region.status === 'failed');
  }

  /** Marks the final status and lets running update handlers answer first (usually there are none). */
  private async settle(status: DeletionStatus): Promise<DeletionProgress> {
    delete this.state.cancelRequested;
    this.moveTo(status, 'finished');
    if (!allHandlersFinished()) {
      if (this.retriesWaiting > 0 && patched(ANSWER_RETRY_AT_END_PATCH)) this.noMoreRetryRounds = true;
      await this.untilEvenIfCancelled(allHandlersFinished);
    }
    return this.state;
  }

  /**
   * condition(done), which a cancellation of the workflow no longer breaks off: the wait goes on
   * non-cancellably (ANSWER_UPDATES_ON_CANCEL_PATCH), so an accepted update is answered by how the
   * deletion goes. Deletions before the patch failed here with the cancellation, and replay so.
   */
  private async untilEvenIfCancelled(done: () => boolean): Promise<void> {
    try {
      await condition(done);
    } catch (error) {
      if (!isCancellation(error) || !patched(ANSWER_UPDATES_ON_CANCEL_PATCH)) throw error;
      await CancellationScope.nonCancellable(() => condition(done));
    }
  }

  /** Records the outcome and builds the failure the workflow ends with (report in details). */
  private async fail(status: DeletionStatus, error: StepError, nonRetryable: boolean, cause?: unknown): Promise<ApplicationFailure> {
    this.state.error = error;
    await this.settle(status);
    const causeFailure = causeFailureOf(cause);
    return ApplicationFailure.create({
      type: error.code,
      message: error.message,
      nonRetryable,
      details: [this.state],
      ...(causeFailure ? { cause: causeFailure } : {}),
    });
  }
}

/** Whether a DeleteImage of this deletion may have reached the region: it was launched, in this round or an earlier one. */
function deleteWasSent(region: RegionProgress): boolean {
  return region.status !== 'pending' || region.attempts > 0;
}

/** Whether the starter set this image's ImageId and DeletionStatus=Running and said so in the memo. */
function statusSetAtStart(imageId: string): boolean {
  const { memo, typedSearchAttributes } = workflowInfo();
  return (
    memo?.[STATUS_SET_AT_START_MEMO_KEY] === true &&
    typedSearchAttributes.get(imageIdKey) === imageId &&
    typedSearchAttributes.get(deletionStatusKey) === SEARCH_STATUS.running
  );
}
