/**
 * One paragraph, in plain words, of where a deletion stands and what a person
 * should do: the workflow's current details in the Temporal UI, and `details` in
 * the progress. Pure.
 */
import { CREATION_POLL_SECONDS, type DeletionProgress } from './model.js';

function count(progress: DeletionProgress['regions'], status: string): number {
  return progress.filter((item) => item.status === status).length;
}

/** "1 region", "3 regions": text people read (this paragraph, the CLI, refusals), never "region(s)". */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function humanDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return counted(seconds / 86_400, 'day');
  if (seconds % 3_600 === 0) return counted(seconds / 3_600, 'hour');
  if (seconds % 60 === 0) return counted(seconds / 60, 'minute');
  return `${seconds} s`;
}

/**
 * `maxRetryRounds`: the retry rounds the deletion takes at most (the input's); once that many have
 * run, a parked deletion can only be abandoned, and its paragraph says so instead of "run imgdel retry".
 */
export function narrate(progress: DeletionProgress, parkTimeoutSeconds: number, maxRetryRounds: number): string {
  const now = phaseSentence(progress, parkTimeoutSeconds, maxRetryRounds);
  if (progress.cancelRequested !== true || progress.phase === 'finished' || progress.phase === 'compensating') return now;
  return `Cancel requested: no new step starts, and the steps in flight are answering (a delete already sent may still land). Then, before the point of no return, the templates deleted so far are re-created; after it, the deletion stops and reports what is left. ${now}`;
}

function phaseSentence(progress: DeletionProgress, parkTimeoutSeconds: number, maxRetryRounds: number): string {
  const image = progress.imageId;
  const regions = progress.regions;
  const total = regions.length;
  const deleted = count(regions, 'deleted');
  const failed = regions.filter((region) => region.status === 'failed');
  const pivot = progress.pivotRegion ? ` The point of no return was passed in ${progress.pivotRegion}.` : '';
  switch (progress.phase) {
    case 'validating':
      return `Validating image ${image}: it must be a custom image of this account, not shared, not the parent of a community image, and unused. Nothing has been changed yet.`;
    case 'waiting-for-creation': {
      const wait = progress.creationWait;
      const sofar = wait ? ` Waited ${wait.waitedSeconds} s of at most ${wait.limitSeconds} s so far (it is looked up again at least every ${CREATION_POLL_SECONDS} s).` : '';
      return `Image ${image} is still being created; waiting for it to become AVAILABLE before deleting it. Nothing has been changed yet.${sofar}`;
    }
    case 'deleting-templates': {
      const done = progress.templates.filter((template) => template.status === 'deleted').length;
      return `Deleting the templates that reference image ${image} (${done} of ${progress.templates.length} done). Each one was snapshotted first, so it can be re-created if the deletion cannot go on.`;
    }
    case 'deleting-regions':
      return `Deleting image ${image} in ${counted(total, 'region')}: ${deleted} deleted, ${count(regions, 'deleting')} in progress, ${failed.length} failed, ${count(regions, 'pending')} waiting.${pivot}`;
    case 'compensating':
      if (progress.templates.length === 0) {
        return `The deletion of image ${image} stopped before any region was deleted (a step failed, or it was cancelled); it has no templates to re-create, so it is left as it was.`;
      }
      return `The deletion of image ${image} stopped before any region was deleted (a step failed, or it was cancelled); re-creating its templates from their snapshots so that everything is left as it was.`;
    case 'awaiting-retry': {
      const why = failed.map((region) => `${region.regionId} (${region.lastError?.code ?? 'unknown error'})`).join(', ');
      const wait = `It waits for an operator for at most ${humanDuration(parkTimeoutSeconds)}.`;
      if (progress.retries >= maxRetryRounds) {
        return `Image ${image} is deleted in ${deleted} of ${counted(total, 'region')}; failed in ${why}. It has been retried ${counted(progress.retries, 'time')}, as often as one deletion may be (maxRetryRounds), so a retry is refused: run "imgdel abandon ${image}", fix the cause, then start the deletion again. ${wait}`;
      }
      return `Image ${image} is deleted in ${deleted} of ${counted(total, 'region')}; failed in ${why}. Fix the cause, then run "imgdel retry ${image}" (or "imgdel abandon ${image}"). ${wait}`;
    }
    case 'finished':
      return finishedSentence(progress, deleted, total);
  }
}

function finishedSentence(progress: DeletionProgress, deleted: number, total: number): string {
  const image = progress.imageId;
  const error = progress.error ? ` ${progress.error.code}: ${progress.error.message}` : '';
  switch (progress.status) {
    case 'deleted':
      return `Image ${image} is deleted in ${total === 1 ? 'its only region' : `all ${total} regions`}${withTemplates(progress.templates.length)}.`;
    case 'planned':
      return `Dry run: deleting image ${image} would delete ${counted(progress.templates.length, 'template')} and the image in ${counted(total, 'region')}: ${progress.regions
        .map((region) => region.regionId)
        .join(', ')}. Nothing was changed.`;
    case 'rejected':
      return `Image ${image} cannot be deleted; nothing was changed.${error}`;
    case 'compensated':
      // The error says what was rolled back and in what state the image is left.
      return `Image ${image} was not deleted; the deletion was rolled back.${error}`;
    case 'cancelled':
      return `The deletion of image ${image} was cancelled; it is deleted in ${deleted} of ${counted(total, 'region')}.${error}`;
    default:
      return `The deletion of image ${image} ended as ${progress.status}; it is deleted in ${deleted} of ${counted(total, 'region')}.${error}`;
  }
}

function withTemplates(templates: number): string {
  if (templates === 0) return ' (no template referenced it)';
  return templates === 1 ? ', with the template that referenced it' : `, with the ${templates} templates that referenced it`;
}
