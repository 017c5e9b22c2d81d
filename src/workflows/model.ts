/**
 * What the deletion workflow exposes: its type name, messages (query and updates),
 * progress/report shape and search attributes. Shared by the workflow, the client
 * and the CLI. Pure module: imported by workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { TemplateSnapshot } from '../cloud/port.js';

export const WORKFLOW_TYPE = 'deleteImage';
export const DEFAULT_TASK_QUEUE = 'image-deletion';

/** The status a person sees (CLI, client, --json). */
export const DELETION_STATUSES = [
  'running',
  'awaiting-retry',
  'deleted',
  'rejected',
  'compensated',
  'abandoned',
  'failed',
  'cancelled',
  'planned',
] as const;
export type DeletionStatus = (typeof DELETION_STATUSES)[number];

/** Every status but the two of a deletion that is still alive. */
export const TERMINAL_STATUSES: readonly DeletionStatus[] = DELETION_STATUSES.filter(
  (status) => status !== 'running' && status !== 'awaiting-retry',
);

export const PHASES = [
  'validating',
  'waiting-for-creation',
  'deleting-templates',
  'deleting-regions',
  'compensating',
  'awaiting-retry',
  'finished',
] as const;
export type Phase = (typeof PHASES)[number];

export interface StepError {
  code: string;
  message: string;
  requestId?: string;
}

export const TEMPLATE_STATUSES = ['pending', 'deleting', 'deleted', 'failed', 'restored', 'kept'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

export interface TemplateProgress {
  templateId: string;
  templateName: string;
  status: TemplateStatus;
  attempts: number;
  lastError?: StepError;
  requestId?: string;
  /** Set once compensation re-created (or found) the template. */
  restoredAs?: string;
}

export const REGION_STATUSES = ['pending', 'deleting', 'deleted', 'failed'] as const;
export type RegionStatus = (typeof REGION_STATUSES)[number];

export interface RegionProgress {
  regionId: string;
  status: RegionStatus;
  attempts: number;
  /** True when the copy was already gone when imgdel came to delete it. */
  alreadyGone?: boolean;
  lastError?: StepError;
  requestId?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** Longest single sleep while waiting for an image that is still being created. */
export const CREATION_POLL_SECONDS = 15;

/** The progress query's answer, and (final) the workflow's report. */
export interface DeletionProgress {
  imageId: string;
  status: DeletionStatus;
  phase: Phase;
  /** The first region whose copy this deletion removed: the point of no return. */
  pivotRegion?: string;
  /** While (and after) waiting for an image still being created: how long so far, and at most. */
  creationWait?: { waitedSeconds: number; limitSeconds: number };
  templates: TemplateProgress[];
  regions: RegionProgress[];
  error?: StepError;
  /** How many times an operator asked for a retry. */
  retries: number;
  /**
   * Full snapshots of the deleted templates that compensation could not re-create: what a
   * person needs to re-create them by hand. Set only when compensation failed.
   */
  unrestoredTemplates?: TemplateSnapshot[];
  /** One paragraph in plain words: what is happening and what, if anything, a person should do. */
  details: string;
  /** Set while a requested cancel winds the deletion down (absent from the final report). */
  cancelRequested?: boolean;
  reason?: string;
  requestedBy?: string;
}

export const progressQuery = defineQuery<DeletionProgress>('progress');
/** Re-runs every failed step of a parked deletion; answers with the new progress. */
export const retryUpdate = defineUpdate<DeletionProgress>('retry');
/** Gives up on a parked deletion; the workflow fails with type Abandoned and the full report. */
export const abandonUpdate = defineUpdate<DeletionProgress, [AbandonRequest]>('abandon');

export interface AbandonRequest {
  /** At most ABANDON_REASON_MAX_LENGTH characters (the update's validator refuses longer ones). */
  reason?: string;
}

export { ABANDON_REASON_MAX_LENGTH } from './input.js';

/** Failure types the workflow ends with, besides cloud error codes. */
export const FailureType = {
  InvalidInput: 'InvalidInput',
  Compensated: 'Compensated',
  Abandoned: 'Abandoned',
  ParkTimeout: 'ParkTimeout',
  CompensationFailed: 'CompensationFailed',
  /** Not a workflow outcome: the answer to a retry update when the deletion ended before its round. */
  RetryNotStarted: 'RetryNotStarted',
} as const;

export const imageIdKey = defineSearchAttributeKey('ImageId', SearchAttributeType.KEYWORD);
export const deletionStatusKey = defineSearchAttributeKey('DeletionStatus', SearchAttributeType.KEYWORD);

/**
 * Memo key a starter sets (to `true`) when it started the deletion with ImageId and
 * DeletionStatus=Running already set, so the workflow need not write them again. A memo
 * key, not a check of the search attributes alone, so that deletions started before the
 * key existed replay exactly as they ran.
 */
export const STATUS_SET_AT_START_MEMO_KEY = 'imgdelStatusSetAtStart';

/**
 * Memo key a starter sets (to `true`) to have the deletion wait for its deletes when cancelled
 * (CANCEL_STOPS_DELETE_RETRIES_PATCH in delete-image.ts) without a patch marker in its history.
 * Only for workers that know the key: deploy them before the starters that set it.
 */
export const CANCEL_STOPS_DELETE_RETRIES_MEMO_KEY = 'imgdelCancelStopsDeleteRetries';

/** The search attributes imgdel registers on a dev server: `--search-attribute <name>=<type>`. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword'>> = {
  ImageId: 'Keyword',
  DeletionStatus: 'Keyword',
};

/** DeletionStatus search attribute values, as the Temporal UI shows them. */
export const SEARCH_STATUS: Readonly<Record<DeletionStatus, string>> = {
  running: 'Running',
  'awaiting-retry': 'AwaitingRetry',
  deleted: 'Deleted',
  rejected: 'Rejected',
  compensated: 'Compensated',
  abandoned: 'Abandoned',
  failed: 'Failed',
  cancelled: 'Cancelled',
  planned: 'Planned',
};
