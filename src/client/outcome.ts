/**
 * DeletionOutcome: the one shape a person or a script sees for a deletion (the CLI's
 * --json object, the client's return value). Built from the workflow's progress answer,
 * its completion report, or its final failure. Pure functions; no Temporal calls here.
 */
import { z } from 'zod';
import { DELETION_STATUSES, FailureType, PHASES, REGION_STATUSES, TEMPLATE_STATUSES } from '../workflows/model.js';
import type { DeletionProgress, DeletionStatus, Phase, RegionStatus, StepError, TemplateStatus } from '../workflows/model.js';
import type { TemplateSnapshot } from '../cloud/port.js';

export interface OutcomeError {
  code: string;
  message: string;
  /** The cloud's request id of the call that failed, when the cloud answered: what its support asks for. */
  requestId?: string;
}

export interface OutcomeRegion {
  regionId: string;
  status: RegionStatus;
  attempts: number;
  lastError?: OutcomeError;
}

export interface OutcomeTemplate {
  templateId: string;
  templateName: string;
  status: TemplateStatus;
  attempts: number;
  lastError?: OutcomeError;
}

/**
 * A step Temporal is retrying while the deletion runs: one of its activities past its first
 * attempt (the workflow's own report counts a step's attempts only once the step has ended).
 */
export interface RetryingStep {
  activityId: string;
  /** The activity, e.g. deleteImageInRegion; the last error's message names its region or template. */
  activity: string;
  /** The attempt running, or the one due next. */
  attempt: number;
  /** The attempts its retry policy allows; absent when unlimited. */
  maximumAttempts?: number;
  /** Why the attempt before failed: its code (the cloud's, for a cloud error) and message. */
  lastError?: OutcomeError;
  /** When the next attempt starts, while it waits for it (ISO 8601). */
  nextAttemptAt?: string;
}

export interface DeletionOutcome {
  workflowId: string;
  imageId: string;
  status: DeletionStatus;
  phase: Phase;
  pivotRegion?: string;
  /** A cancel was requested and the deletion is winding down (status still running or awaiting-retry). */
  cancelRequested?: boolean;
  regions: OutcomeRegion[];
  templates: OutcomeTemplate[];
  error?: OutcomeError;
  /** The workflow's own explanation in plain words, when it gave one. */
  details?: string;
  /**
   * Full snapshots (every field the cloud returned) of the deleted templates that compensation
   * could not re-create: what a person needs to re-create them by hand. Only when there are any.
   */
  unrestoredTemplates?: TemplateSnapshot[];
  /** Running deletions only, when Temporal is retrying any of their steps. */
  retrying?: RetryingStep[];
  /**
   * Parked deletions only: when the park timeout ends the deletion as failed (`ParkTimeout`)
   * unless an operator retries or abandons it first (ISO 8601).
   */
  parkedUntil?: string;
}

/** Codes that describe how the workflow ended rather than what the cloud answered. */
export const TemporalEndCode = {
  Cancelled: 'Cancelled',
  Terminated: 'Terminated',
  TimedOut: 'TimedOut',
} as const;

const NON_CLOUD_CODES: ReadonlySet<string> = new Set<string>([
  ...Object.values(FailureType),
  ...Object.values(TemporalEndCode),
]);

/** True when `code` came from the cloud API (so explain() has something to say about it). */
export function isCloudCode(code: string): boolean {
  return !NON_CLOUD_CODES.has(code);
}

// The progress report crosses a process boundary (query answer, workflow result,
// failure details): parse it, tolerating fields added later.
const stepErrorSchema = z.looseObject({ code: z.string(), message: z.string(), requestId: z.string().optional() });

const deletionStatusSchema = z.enum(DELETION_STATUSES);

const phaseSchema = z.enum(PHASES);

export const deletionProgressSchema = z.looseObject({
  imageId: z.string(),
  status: deletionStatusSchema,
  phase: phaseSchema,
  pivotRegion: z.string().optional(),
  cancelRequested: z.boolean().optional(),
  templates: z.array(
    z.looseObject({
      templateId: z.string(),
      templateName: z.string(),
      status: z.enum(TEMPLATE_STATUSES),
      attempts: z.number(),
      lastError: stepErrorSchema.optional(),
      requestId: z.string().optional(),
      restoredAs: z.string().optional(),
    }),
  ),
  regions: z.array(
    z.looseObject({
      regionId: z.string(),
      status: z.enum(REGION_STATUSES),
      attempts: z.number(),
      alreadyGone: z.boolean().optional(),
      lastError: stepErrorSchema.optional(),
      requestId: z.string().optional(),
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
    }),
  ),
  error: stepErrorSchema.optional(),
  retries: z.number().default(0),
  unrestoredTemplates: z
    .array(
      z.looseObject({
        templateId: z.string(),
        templateName: z.string(),
        imageId: z.string(),
        fields: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  details: z.string().default(''),
  reason: z.string().optional(),
  requestedBy: z.string().optional(),
});

/** The report if `value` is one, else undefined. */
export function parseProgress(value: unknown): DeletionProgress | undefined {
  const read = readProgress(value);
  return 'progress' in read ? read.progress : undefined;
}

/** The report, or what in it this imgdel does not understand (e.g. a phase a newer worker reports). */
export function readProgress(value: unknown): { progress: DeletionProgress } | { problem: string } {
  const parsed = deletionProgressSchema.safeParse(value);
  if (parsed.success) return { progress: parsed.data };
  const problem = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length === 0 ? 'report' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');
  return { problem };
}

function plainError(error: StepError | undefined): OutcomeError | undefined {
  if (error === undefined) return undefined;
  return { code: error.code, message: error.message, ...(error.requestId ? { requestId: error.requestId } : {}) };
}

export function outcomeFromProgress(workflowId: string, progress: DeletionProgress): DeletionOutcome {
  const error = plainError(progress.error);
  return {
    workflowId,
    imageId: progress.imageId,
    status: progress.status,
    phase: progress.phase,
    ...(progress.pivotRegion === undefined ? {} : { pivotRegion: progress.pivotRegion }),
    ...(progress.cancelRequested === true ? { cancelRequested: true } : {}),
    regions: progress.regions.map((region) => {
      const lastError = plainError(region.lastError);
      return {
        regionId: region.regionId,
        status: region.status,
        attempts: region.attempts,
        ...(lastError ? { lastError } : {}),
      };
    }),
    templates: progress.templates.map((template) => {
      const lastError = plainError(template.lastError);
      return {
        templateId: template.templateId,
        templateName: template.templateName,
        status: template.status,
        attempts: template.attempts,
        ...(lastError ? { lastError } : {}),
      };
    }),
    ...(error ? { error } : {}),
    ...(progress.details ? { details: progress.details } : {}),
    ...(progress.unrestoredTemplates?.length ? { unrestoredTemplates: progress.unrestoredTemplates } : {}),
  };
}

/** The status a failure type stands for, when the report does not say. */
export function statusForFailureType(type: string): DeletionStatus {
  switch (type) {
    case FailureType.Compensated:
      return 'compensated';
    case FailureType.Abandoned:
      return 'abandoned';
    case FailureType.ParkTimeout:
    case FailureType.CompensationFailed:
    case TemporalEndCode.Terminated:
    case TemporalEndCode.TimedOut:
      return 'failed';
    case TemporalEndCode.Cancelled:
      return 'cancelled';
    default:
      // A cloud error code (or InvalidInput): the workflow refused before changing anything.
      return 'rejected';
  }
}

const CLOSED_STATUSES: ReadonlySet<DeletionStatus> = new Set<DeletionStatus>([
  'rejected',
  'compensated',
  'abandoned',
  'failed',
  'cancelled',
]);

export interface FailureFacts {
  workflowId: string;
  imageId: string;
  /** ApplicationFailure type, or a TemporalEndCode. */
  code: string;
  message: string;
  /** details[0] of the failure, or a last progress answer. */
  report?: DeletionProgress;
}

/** The outcome of a workflow that ended without completing. */
export function outcomeFromFailure(facts: FailureFacts): DeletionOutcome {
  const fallbackStatus = statusForFailureType(facts.code);
  const base: DeletionOutcome = facts.report
    ? outcomeFromProgress(facts.workflowId, facts.report)
    : { workflowId: facts.workflowId, imageId: facts.imageId, status: fallbackStatus, phase: 'finished', regions: [], templates: [] };
  // Trust the workflow's report when it names a failed ending; a Temporal-level end
  // (cancel, terminate, timeout) overrides whatever the last progress said.
  const status =
    facts.code in TemporalEndCode || !CLOSED_STATUSES.has(base.status) ? fallbackStatus : base.status;
  // A cancelled deletion's own report says how the cancel ended (Cancelled, before or after the
  // point of no return, or CompensationFailed with unrestoredTemplates): more than "cancelled".
  if (facts.code === TemporalEndCode.Cancelled && base.status === 'cancelled' && base.error) {
    return { ...base, status, phase: 'finished' };
  }
  // The report's error is this failure's when their codes agree: keep its request id.
  const requestId = base.error?.code === facts.code ? base.error.requestId : undefined;
  return { ...base, status, phase: 'finished', error: { code: facts.code, message: facts.message, ...(requestId ? { requestId } : {}) } };
}

/**
 * The cloud error code behind an outcome, for explain(): the failure type when it is a
 * cloud code, otherwise the first failed step's (compensation, parking and abandoning
 * wrap the cloud's answer); for a deletion still going or parked, the last cloud error of any step.
 */
export function cloudCodeOf(outcome: DeletionOutcome): string | undefined {
  if (outcome.error && isCloudCode(outcome.error.code)) return outcome.error.code;
  const failedStep =
    outcome.templates.find((template) => template.status === 'failed' && template.lastError) ??
    outcome.regions.find((region) => region.status === 'failed' && region.lastError);
  if (failedStep?.lastError) return failedStep.lastError.code;
  // A cancel is the operator's decision: an attempt that failed before it explains nothing.
  if (outcome.status === 'cancelled') return undefined;
  const anyError = [...outcome.templates, ...outcome.regions].find((step) => step.lastError && isCloudCode(step.lastError.code));
  return anyError?.lastError?.code;
}
