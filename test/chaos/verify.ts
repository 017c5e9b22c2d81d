/**
 * The chaos run's verdict: every image is checked three ways — how its workflow ended,
 * what the emulator holds now (state), and what the emulator was asked (call log) —
 * against the plan. Pure: the run gathers the evidence, this only judges it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { EmulatorCall, EmulatorState } from '../../src/emulator/admin-client.js';
import { listParam } from '../../src/emulator/params.js';
import type { PlannedImage } from './plan.js';

/** How a deletion workflow ended, as the run observed it. */
export interface WorkflowFinal {
  /** Temporal's execution status (COMPLETED, FAILED, …), or NOT_FINISHED when the run's deadline came first. */
  execution: string;
  /** The report's status (from the result, or from the failure's details). */
  status?: string;
  /** The failure's type: the cloud code, or Compensated, … */
  failureType?: string;
  /** The type of the failure's cause: for Compensated, the error that started the compensation. */
  causeType?: string;
  /** How many times an operator's retry ran. */
  retries?: number;
  message?: string;
}

export interface Evidence {
  images: readonly PlannedImage[];
  finals: ReadonlyMap<string, WorkflowFinal>;
  /** Images whose workflow was seen parked (DeletionStatus AwaitingRetry). */
  parked: ReadonlySet<string>;
  state: EmulatorState;
  /** Every call every emulator process answered, in order. */
  calls: readonly EmulatorCall[];
}

export interface Verdict {
  mismatches: string[];
  /** Observed outcome → how many images ended so. */
  outcomes: Map<string, number>;
}

const DELETE_ACTIONS = new Set(['DeleteImage', 'DeleteTemplates']);

export function observedOutcome(final: WorkflowFinal | undefined): string {
  if (final === undefined) return 'lost (no workflow)';
  if (final.execution === 'COMPLETED' && final.status === 'deleted') {
    return (final.retries ?? 0) > 0 ? 'deleted after retry' : 'deleted';
  }
  if (final.execution === 'FAILED' && final.status === 'rejected') return `rejected: ${final.failureType ?? '?'}`;
  if (final.execution === 'FAILED' && final.status === 'compensated' && final.failureType === 'Compensated') {
    return final.causeType === 'DeleteTemplate.Failed' ? 'compensated' : `compensated, caused by ${final.causeType ?? '?'}`;
  }
  return `unexpected: ${final.execution} ${final.status ?? ''} ${final.failureType ?? ''}`.trim();
}

function expectedOutcome(image: PlannedImage): string {
  const outcome = image.outcome;
  switch (outcome.kind) {
    case 'deleted':
      return 'deleted';
    case 'deleted-after-retry':
      return 'deleted after retry';
    case 'rejected':
      return `rejected: ${outcome.code}`;
    case 'compensated':
      return 'compensated';
  }
}

function isSuccess(call: EmulatorCall): boolean {
  return call.code === null;
}

function imageOf(call: EmulatorCall): string[] {
  return listParam(call.params, 'ImageId');
}

export function verify(evidence: Evidence): Verdict {
  const mismatches: string[] = [];
  const outcomes = new Map<string, number>();
  const imagesInState = new Map(evidence.state.images.map((image) => [image.imageId, image]));

  // No template is ever created twice, whichever image it belongs to.
  const createdByName = new Map<string, EmulatorCall[]>();
  for (const call of evidence.calls) {
    if (call.action !== 'CreateTemplate' || !isSuccess(call)) continue;
    const name = call.params['TemplateName'] ?? '(no name)';
    createdByName.set(name, [...(createdByName.get(name) ?? []), call]);
  }
  for (const [name, creates] of createdByName) {
    if (creates.length > 1) mismatches.push(`template ${name} was created ${creates.length} times`);
  }

  for (const image of evidence.images) {
    const id = image.imageId;
    const problem = (text: string) => mismatches.push(`${id} (${describePlan(image)}): ${text}`);
    const final = evidence.finals.get(id);
    const observed = observedOutcome(final);
    outcomes.set(observed, (outcomes.get(observed) ?? 0) + 1);

    // 1. The workflow's own account of how it ended.
    const expected = expectedOutcome(image);
    if (observed !== expected) {
      problem(`the workflow ended "${observed}", the plan says "${expected}"${final?.message ? ` (${final.message.slice(0, 300)})` : ''}`);
    }
    if (image.outcome.kind === 'deleted-after-retry' && !evidence.parked.has(id)) problem('it was never seen parked (awaiting-retry)');
    if (image.outcome.kind === 'deleted-after-retry' && (final?.retries ?? 0) > 1) problem(`it needed ${final?.retries ?? 0} retries, one was planned`);
    if (image.outcome.kind !== 'deleted-after-retry' && evidence.parked.has(id)) problem('it parked, and the plan gives it no reason to');

    // 2. The emulator's state: the truth the report must match.
    const inState = imagesInState.get(id);
    const templatesNow = evidence.state.templates.filter((template) => template.imageId === id);
    const templateNamesNow = templatesNow.map((template) => template.templateName).sort();
    const seededNames = image.templates.map((template) => template.templateName).sort();
    const templateNames = new Set(seededNames);
    const templateIds = new Set([...image.templates.map((template) => template.templateId), ...templatesNow.map((template) => template.templateId)]);
    const gone = image.outcome.kind === 'deleted' || image.outcome.kind === 'deleted-after-retry';
    if (gone) {
      if (inState !== undefined) problem(`the emulator still has the image in ${inState.regions.join(', ')}`);
      if (templatesNow.length > 0) problem(`the emulator still has its templates ${templateNamesNow.join(', ')}`);
    } else {
      if (inState === undefined) problem('the emulator no longer has the image');
      else if ([...inState.regions].sort().join(',') !== image.regions.join(',')) {
        problem(`the image is in ${[...inState.regions].sort().join(', ')}, it was in ${image.regions.join(', ')}`);
      }
      if (templateNamesNow.join(',') !== seededNames.join(',')) {
        problem(`its templates are [${templateNamesNow.join(', ')}], they were [${seededNames.join(', ')}]`);
      }
      for (const seeded of image.templates) {
        const now = templatesNow.find((template) => template.templateName === seeded.templateName);
        if (now === undefined) continue;
        // Every field it was seeded with, as seeded (a re-created template has a new id).
        const changed = Object.keys(seeded).filter((field) => field !== 'templateId' && !isDeepStrictEqual(now[field], seeded[field]));
        if (changed.length > 0) problem(`template ${seeded.templateName} changed: ${changed.join(', ')}`);
      }
    }
    if (image.outcome.kind === 'rejected') {
      const untouched = image.templates.every((seeded) => templatesNow.some((template) => template.templateId === seeded.templateId));
      if (!untouched) problem('a rejected image must keep its templates untouched (same ids)');
    }

    // 3. The call log: what was done to the image and its templates.
    const touching = evidence.calls.filter(
      (call) =>
        (call.action === 'DeleteImage' && imageOf(call).includes(id)) ||
        (call.action === 'DeleteTemplates' && listParam(call.params, 'TemplateIds').some((templateId) => templateIds.has(templateId))) ||
        (call.action === 'CreateTemplate' && templateNames.has(call.params['TemplateName'] ?? '')),
    );
    const creates = touching.filter((call) => call.action === 'CreateTemplate' && isSuccess(call));
    if (image.outcome.kind === 'rejected') {
      if (touching.length > 0) problem(`a rejected image was acted on: ${touching.map(describeCall).join('; ')}`);
    } else if (image.outcome.kind === 'compensated') {
      const regionDeletes = touching.filter((call) => call.action === 'DeleteImage');
      if (regionDeletes.length > 0) problem(`DeleteImage was called before or during a compensation: ${regionDeletes.map(describeCall).join('; ')}`);
      const compensationEnd = creates.map((call) => call.at).sort().at(-1);
      if (compensationEnd !== undefined) {
        const late = touching.filter((call) => DELETE_ACTIONS.has(call.action) && call.at > compensationEnd);
        if (late.length > 0) problem(`deletes after the compensation finished: ${late.map(describeCall).join('; ')}`);
      }
    } else if (creates.length > 0) {
      problem(`templates were re-created for an image that was deleted: ${creates.map(describeCall).join('; ')}`);
    }
  }
  return { mismatches, outcomes };
}

function describePlan(image: PlannedImage): string {
  const outcome = image.outcome;
  const extra =
    outcome.kind === 'rejected'
      ? `, ${outcome.because}`
      : outcome.kind === 'deleted-after-retry'
        ? `, ${outcome.parkedRegion} refused until the retry`
        : outcome.kind === 'compensated'
          ? `, ${outcome.failingTemplateId} refused for good`
          : '';
  return `${outcome.kind}${extra}; ${image.regions.length} region(s), ${image.templates.length} template(s)`;
}

function describeCall(call: EmulatorCall): string {
  const subject = call.params['TemplateName'] ?? call.params['TemplateIds.1'] ?? `${call.params['ImageId'] ?? ''} ${call.params['BizRegionId'] ?? ''}`;
  return `${call.at} ${call.action} ${subject.trim()} → ${call.code ?? 'ok'}`;
}
