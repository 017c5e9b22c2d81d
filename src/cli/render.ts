/**
 * Everything the CLI shows a person, in one place: the progress block (shared by
 * `delete --wait`, `status` and `retry --wait`), change lines for non-TTY output, the
 * live view that redraws in place on a terminal, and error endings (code + explain()).
 */
import { explain } from '../cloud/errors.js';
import { cloudCodeOf } from '../client/outcome.js';
import type { DeletionOutcome, OutcomeError, OutcomeRegion, OutcomeTemplate, RetryingStep } from '../client/outcome.js';
import type { DeletionListItem, StartedDeletion } from '../client/client.js';
import { workflowIdFor } from '../workflows/input.js';
import { counted } from '../workflows/narrative.js';

export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width, to count wrapped lines when redrawing. */
  columns?: number;
}

const STATUS_HEADLINE: Readonly<Record<DeletionOutcome['status'], string>> = {
  running: 'running',
  'awaiting-retry': 'PARKED, awaiting retry',
  deleted: 'DELETED in every region',
  rejected: 'REJECTED, nothing was changed',
  compensated: 'COMPENSATED, templates restored and the image left as it was',
  abandoned: 'ABANDONED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  planned: 'PLANNED (dry run, nothing was changed)',
};

/**
 * A step's last error. `adviceBelow` is the code whose advice the outcome's last line gives: the
 * message (which the activities end with that advice) leaves it out, so it is read once.
 */
function errorText(error: OutcomeError | undefined, adviceBelow?: string): string {
  if (!error) return '';
  const message = error.code === adviceBelow ? withoutAdvice(error.message, error.code) : error.message;
  return `  ${error.code}: ${message}${requestIdText(error)}`;
}

function withoutAdvice(message: string, code: string): string {
  return message.replace(` ${explain(code)}`, '');
}

function requestIdText(error: OutcomeError): string {
  return error.requestId ? ` (request id ${error.requestId})` : '';
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A dry run, running or planned: its steps are never run, only listed. */
function isDryRun(outcome: DeletionOutcome): boolean {
  return outcome.status === 'planned' || outcome.workflowId === workflowIdFor(outcome.imageId, true);
}

/** A dry run's steps are all pending: say what would happen instead of counting attempts. */
function stepState(status: string, attempts: number, planned: boolean): string {
  return planned ? 'would be deleted' : `${pad(status, 8)}  ${counted(attempts, 'attempt')}`;
}

/** The same, on a change line (no column padding). */
function changedStepState(status: string, attempts: number, planned: boolean): string {
  return planned ? 'would be deleted' : `${status}, ${counted(attempts, 'attempt')}`;
}

function templateLine(template: OutcomeTemplate, nameWidth: number, planned: boolean, adviceBelow: string | undefined): string {
  const label = pad(`${template.templateId} (${template.templateName})`, nameWidth);
  return `    ${label}  ${stepState(template.status, template.attempts, planned)}${errorText(template.lastError, adviceBelow)}`;
}

function regionLine(region: OutcomeRegion, idWidth: number, planned: boolean, adviceBelow: string | undefined): string {
  return `    ${pad(region.regionId, idWidth)}  ${stepState(region.status, region.attempts, planned)}${errorText(region.lastError, adviceBelow)}`;
}

/** "10:41:03 UTC" from an ISO 8601 time (in UTC, as the Temporal UI's default shows times). */
function utcClock(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}

/** "attempt 3 of 10, next at 10:41:03 UTC". */
function attemptText(step: RetryingStep): string {
  const of = step.maximumAttempts ? ` of ${step.maximumAttempts}` : '';
  const next = step.nextAttemptAt ? `, next at ${utcClock(step.nextAttemptAt)}` : '';
  return `attempt ${step.attempt}${of}${next}`;
}

/** A step Temporal is retrying: which, which attempt, and why the one before failed. */
function retryingLine(step: RetryingStep): string {
  return `${step.activity} (${attemptText(step)})${errorText(step.lastError)}`;
}

/**
 * The error ending: what happened, then the cloud code and what to do about it. The advice is said
 * once, on its own line: a failure's message that already ends with it (the activities add it) loses it there.
 */
export function renderErrorEnding(message: string, cloudCode: string | undefined): string[] {
  if (cloudCode === undefined) return [`Error: ${message}`];
  return [`Error: ${withoutAdvice(message, cloudCode)}`, `${cloudCode}: ${explain(cloudCode)}`];
}

/** Templates compensation could not re-create: name them and say where their snapshots are. */
function unrestoredLines(outcome: DeletionOutcome): string[] {
  const unrestored = outcome.unrestoredTemplates ?? [];
  if (unrestored.length === 0) return [];
  const names = unrestored.map((snapshot) => `${snapshot.templateId} (${snapshot.templateName})`).join(', ');
  return [
    `  Templates NOT re-created (${unrestored.length}): ${names}.`,
    `  Re-create ${unrestored.length === 1 ? 'it' : 'them'} by hand; the full snapshots are in the --json output (unrestoredTemplates): imgdel status ${outcome.imageId} --json`,
  ];
}

/** The full picture of one deletion, as lines. */
export function renderOutcome(outcome: DeletionOutcome, options: { uiLink?: string } = {}): string[] {
  const lines = [`Image ${outcome.imageId}: ${STATUS_HEADLINE[outcome.status]}`];
  const facts = [`phase ${outcome.phase}`, `workflow ${outcome.workflowId}`];
  if (outcome.pivotRegion !== undefined) facts.push(`pivot ${outcome.pivotRegion}`);
  if (outcome.cancelRequested === true) facts.push('cancel requested');
  lines.push(`  ${facts.join(' · ')}`);
  if (options.uiLink !== undefined) lines.push(`  Temporal UI: ${options.uiLink}`);
  const nameWidth = Math.max(0, ...outcome.templates.map((t) => `${t.templateId} (${t.templateName})`.length));
  const templatesKnown = outcome.phase !== 'validating' && outcome.phase !== 'waiting-for-creation';
  const noTemplates = templatesKnown ? '  templates: none' : '  templates: not listed yet';
  lines.push(outcome.templates.length === 0 ? noTemplates : `  templates (${outcome.templates.length}):`);
  const planned = isDryRun(outcome);
  const cloudCode = cloudCodeOf(outcome);
  // The code whose advice the last line gives (see the end of this function).
  const adviceBelow = outcome.error || outcome.status === 'awaiting-retry' ? cloudCode : undefined;
  for (const template of outcome.templates) lines.push(templateLine(template, nameWidth, planned, adviceBelow));
  const idWidth = Math.max(0, ...outcome.regions.map((r) => r.regionId.length));
  const noRegions = outcome.phase === 'finished' ? '  regions: none' : '  regions: none yet';
  lines.push(outcome.regions.length === 0 ? noRegions : `  regions (${outcome.regions.length}):`);
  for (const region of outcome.regions) lines.push(regionLine(region, idWidth, planned, adviceBelow));
  const retrying = outcome.retrying ?? [];
  if (retrying.length > 0) lines.push(`  retrying (${retrying.length}):`, ...retrying.map((step) => `    ${retryingLine(step)}`));
  // The workflow's own paragraph, unless it only repeats the error printed below.
  if (outcome.details && !(outcome.error && outcome.details.includes(outcome.error.message))) lines.push(`  ${outcome.details}`);
  // Unless the workflow's paragraph already says how to go on: a retry, or (its retry rounds spent) an abandon.
  const saysHowToGoOn = outcome.details !== undefined && /imgdel (retry|abandon) /.test(outcome.details);
  if (outcome.status === 'awaiting-retry' && !saysHowToGoOn) {
    lines.push(`  Fix the cause, then: imgdel retry ${outcome.imageId}   (or give up: imgdel abandon ${outcome.imageId})`);
  }
  if (outcome.status === 'awaiting-retry' && outcome.parkedUntil !== undefined) {
    // Days away, so with its date.
    const until = `${outcome.parkedUntil.slice(0, 10)} ${utcClock(outcome.parkedUntil)}`;
    lines.push(`  Parked until ${until}: without a retry or abandon by then, the deletion fails (ParkTimeout).`);
  }
  lines.push(...unrestoredLines(outcome));
  if (outcome.error) {
    lines.push(...renderErrorEnding(`${outcome.error.code}: ${outcome.error.message}${requestIdText(outcome.error)}`, cloudCode));
  } else if (outcome.status === 'awaiting-retry' && cloudCode !== undefined) {
    lines.push(`${cloudCode}: ${explain(cloudCode)}`);
  }
  return lines;
}

/** One line per change between two snapshots (the whole story when `previous` is undefined). */
export function renderChanges(previous: DeletionOutcome | undefined, next: DeletionOutcome): string[] {
  const lines: string[] = [];
  if (previous === undefined || previous.status !== next.status || previous.phase !== next.phase) {
    lines.push(`${next.imageId}: ${next.status} (${next.phase})`);
  }
  if (next.pivotRegion !== undefined && previous?.pivotRegion !== next.pivotRegion) {
    lines.push(`pivot: ${next.pivotRegion} (from here on the deletion only goes forward)`);
  }
  // Before any step is known the paragraph is all there is to say, e.g. that no worker answers
  // (a pipe would otherwise show one line, then nothing until the worker timeout).
  const noSteps = next.templates.length === 0 && next.regions.length === 0;
  if (noSteps && next.phase !== 'finished' && next.details && next.details !== previous?.details) lines.push(`  ${next.details}`);
  const planned = isDryRun(next);
  const previousTemplates = new Map(previous?.templates.map((t) => [t.templateId, t]));
  for (const template of next.templates) {
    const before = previousTemplates.get(template.templateId);
    if (before?.status === template.status && before.attempts === template.attempts) continue;
    lines.push(
      `template ${template.templateId} (${template.templateName}): ${changedStepState(template.status, template.attempts, planned)}${errorText(template.lastError)}`,
    );
  }
  const previousRegions = new Map(previous?.regions.map((r) => [r.regionId, r]));
  for (const region of next.regions) {
    const before = previousRegions.get(region.regionId);
    if (before?.status === region.status && before.attempts === region.attempts) continue;
    lines.push(`region ${region.regionId}: ${changedStepState(region.status, region.attempts, planned)}${errorText(region.lastError)}`);
  }
  const previousRetrying = new Map(previous?.retrying?.map((step) => [step.activityId, step]));
  for (const step of next.retrying ?? []) {
    if (previousRetrying.get(step.activityId)?.attempt === step.attempt) continue;
    lines.push(`retrying ${retryingLine(step)}`);
  }
  return lines;
}

/** Rows the lines take on a terminal `columns` wide (long lines wrap). */
export function screenRows(lines: string[], columns: number | undefined): number {
  if (columns === undefined || columns <= 0) return lines.length;
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(line.length / columns)), 0);
}

/**
 * Shows progress as it changes: redrawn in place on a terminal, one line per change
 * otherwise (logs, CI, pipes).
 */
export class LiveProgress {
  private previous: DeletionOutcome | undefined;
  private drawnLines = 0;

  constructor(
    private readonly sink: TextSink,
    private readonly uiLink?: string,
  ) {}

  update(outcome: DeletionOutcome): void {
    if (this.sink.isTTY === true) {
      // Move up over the previous block and clear it, then draw the new one.
      const erase = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : '';
      const block = renderOutcome(outcome, this.uiLink === undefined ? {} : { uiLink: this.uiLink });
      this.sink.write(`${erase}${block.join('\n')}\n`);
      this.drawnLines = screenRows(block, this.sink.columns);
    } else {
      const lines = renderChanges(this.previous, outcome);
      if (lines.length > 0) this.sink.write(`${lines.join('\n')}\n`);
    }
    this.previous = outcome;
  }

  /** After the last update: on a TTY the block is already complete; elsewhere print it once. */
  finish(outcome: DeletionOutcome): void {
    if (this.sink.isTTY === true) {
      if (this.previous === undefined) this.update(outcome);
      return;
    }
    this.sink.write(`${renderOutcome(outcome, this.uiLink === undefined ? {} : { uiLink: this.uiLink }).join('\n')}\n`);
  }
}

export function renderStarted(started: StartedDeletion): string[] {
  const lines: string[] = [];
  // A dry run is never called a deletion: it changes nothing.
  const dryRun = started.workflowId === workflowIdFor(started.imageId, true);
  if (started.alreadyDeleted === true) {
    lines.push(`Image ${started.imageId} was already deleted (workflow ${started.workflowId}); nothing was started.`);
  } else if (dryRun) {
    lines.push(
      started.started
        ? `Started a dry run of the deletion of ${started.imageId} (nothing will be changed).`
        : `A dry run of ${started.imageId} is already running; attached to it (nothing will be changed).`,
    );
  } else if (started.started) {
    lines.push(`Started the deletion of ${started.imageId}.`);
  } else {
    lines.push(`A deletion of ${started.imageId} is already running; attached to it (one deletion per image).`);
  }
  lines.push(`  workflow id  ${started.workflowId}`);
  if (started.uiUrl !== undefined) lines.push(`  Temporal UI  ${started.uiUrl}`);
  return lines;
}

export function renderList(items: DeletionListItem[]): string[] {
  if (items.length === 0) return ['No deletions found.'];
  const header = ['IMAGE', 'STATUS', 'STARTED', 'WORKFLOW ID'];
  const rows = items.map((item) => [
    item.imageId,
    item.dryRun ? `${item.status} (dry run)` : item.status,
    item.startTime.replace(/\.\d+Z$/, 'Z'),
    item.workflowId,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : pad(cell, widths[column] ?? 0)))
      .join('  ');
  return [format(header), ...rows.map(format)];
}
