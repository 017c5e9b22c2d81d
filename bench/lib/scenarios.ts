/**
 * The benchmark's scenarios (P1–P5 of the issue). Each one seeds the emulator, starts
 * workflows on a worker process the runner started, waits for them, and returns its
 * figures. Times come from the Temporal server (start and close time of each
 * execution), never from this process's polling.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { deletionStartOptions } from '../../src/client/client.js';
import type { EmulatorAdmin, EmulatorCall, SeedImage, SeedTemplate } from '../../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { NOOP_WORKFLOW_TYPE, type NoopDeletionInput } from '../noop-workflow.js';
import { ProcessMonitor, cpuSeconds, type MemoryWindow } from './proc-stats.js';
import { pairedRatios, type BatchKind } from './paired-ratios.js';
import type { WorkerProcess } from './worker-process.js';

export interface BenchContext {
  client: Client;
  admin: EmulatorAdmin;
  /** Base URL of the emulator (admin calls the typed client lacks). */
  emulatorUrl: string;
  /** Lower-case letters and digits that make this run's image ids unique. */
  runTag: string;
  /** The Temporal server's process, when this run started it (its CPU is measured per P2 batch). */
  serverPid?: number;
  log(line: string): void;
}

/** The App Streaming regions P1 spreads its image over. */
export const TWELVE_REGIONS = [
  'ap-northeast-1',
  'ap-southeast-1',
  'ap-southeast-5',
  'cn-beijing',
  'cn-chengdu',
  'cn-hangzhou',
  'cn-hongkong',
  'cn-shanghai',
  'cn-shenzhen',
  'eu-central-1',
  'us-east-1',
  'us-west-1',
] as const;

export const P1_CALL_LATENCY_MS = 200;

/**
 * P1's denominator: the cloud calls that must follow one another whatever the design's
 * parallelism, each taking the emulated 200 ms.
 *  1. ListImage of the image: its regions, owner and status (the Community/Shared
 *     children look-ups need no answer from it and may run beside it).
 *  2. The usage check: DescribeDesktopGroups per region needs the regions from (1);
 *     ListAppInstanceGroup, ListWuyingServer and DescribeTemplates run beside it.
 *  3. DeleteTemplates: nothing may change before validation has passed.
 *  4. DeleteImage in one region: the templates go before the pivot (the spec's order);
 *     every region runs in parallel, so one region's delete is on the path.
 *  5. ListImage confirming that region's copy is gone.
 * The issue's "validation" is therefore two rounds (1 and 2): 5 × 200 ms = 1 000 ms.
 */
export const CRITICAL_PATH_CALLS = [
  'ListImage (the image)',
  'DescribeDesktopGroups (usage, needs the regions)',
  'DeleteTemplates',
  'DeleteImage (one region)',
  'ListImage (confirm)',
] as const;

export const CRITICAL_PATH_MS = CRITICAL_PATH_CALLS.length * P1_CALL_LATENCY_MS;
/**
 * The issue's own count, validation taken as one call (validation + template + one region delete
 * + confirm): 800 ms. Reported beside the figure, which divides by the five calls that must follow
 * one another here (the usage check needs the regions the image look-up returns).
 */
export const ISSUE_CRITICAL_PATH_MS = 4 * P1_CALL_LATENCY_MS;

/** Seed bodies are capped at 1 MiB by the emulator: send large seeds in slices. */
const SEED_SLICE = 200;

function seedImage(imageId: string, regions: readonly string[]): SeedImage {
  return {
    imageId,
    imageName: `bench ${imageId}`,
    imageType: 'User',
    aliUid: EMULATOR_DEFAULTS.accountId,
    status: 'AVAILABLE',
    productType: 'CloudDesktop',
    regions: [...regions],
  };
}

function seedTemplates(imageId: string, count: number): SeedTemplate[] {
  return Array.from({ length: count }, (_, index) => ({
    templateId: `b-${imageId.slice(4)}t${index}`,
    templateName: `${imageId}-template-${index}`,
    imageId,
    Description: 'benchmark template',
    SystemDiskSize: 80,
    TemplateType: 'USER',
  }));
}

/** Seeds benchmark images (each in `regions`, with `templatesPerImage` templates) into the emulator. */
export async function seed(
  context: Pick<BenchContext, 'admin'>,
  imageIds: readonly string[],
  regions: readonly string[],
  templatesPerImage: number,
): Promise<void> {
  for (let offset = 0; offset < imageIds.length; offset += SEED_SLICE) {
    const slice = imageIds.slice(offset, offset + SEED_SLICE);
    await context.admin.seed({
      images: slice.map((imageId) => seedImage(imageId, regions)),
      templates: slice.flatMap((imageId) => seedTemplates(imageId, templatesPerImage)),
    });
  }
}

function imageIds(context: BenchContext, scenario: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `img-${context.runTag}${scenario}${String(index).padStart(4, '0')}`);
}

export interface ExecutionTiming {
  workflowId: string;
  startMs: number;
  closeMs: number;
  historyLength: number;
  historySizeBytes: number;
}

async function timingOf(handle: WorkflowHandle): Promise<ExecutionTiming> {
  const description = await handle.describe();
  if (description.closeTime === undefined) throw new Error(`${handle.workflowId} has no close time`);
  return {
    workflowId: handle.workflowId,
    startMs: description.startTime.getTime(),
    closeMs: description.closeTime.getTime(),
    historyLength: description.historyLength,
    historySizeBytes: description.historySize ?? 0,
  };
}

function deletionInput(imageId: string, extra: Partial<DeleteImageInput>): DeleteImageInput {
  return { imageId, reason: 'benchmark', ...extra };
}

async function runDeletions(
  context: BenchContext,
  worker: WorkerProcess,
  ids: readonly string[],
  extra: Partial<DeleteImageInput> = {},
): Promise<ExecutionTiming[]> {
  // Started as the imgdel client starts them (its idempotency look-ups aside: every image is new).
  const handles = await Promise.all(
    ids.map((imageId) =>
      context.client.workflow.start(WORKFLOW_TYPE, deletionStartOptions(deletionInput(imageId, extra), worker.taskQueue, randomUUID())),
    ),
  );
  const reports = (await Promise.all(handles.map((handle) => handle.result()))) as DeletionProgress[];
  const notDeleted = reports.filter((report) => report.status !== 'deleted');
  if (notDeleted.length > 0) {
    throw new Error(`${notDeleted.length} deletion(s) did not end as deleted, e.g. ${JSON.stringify(notDeleted[0])}`);
  }
  return Promise.all(handles.map(timingOf));
}

/** How the no-op baseline runs: as it always does, or with one of the experiments' additions. */
interface NoopVariant {
  /** Started with imgdel's search attributes and memo, and writes its final status (`--noop-status-writes`). */
  statusWrites: boolean;
  /** Bytes more in every activity answer and the result (`--noop-payload-bytes`; 0: none). */
  payloadBytes: number;
}

async function runNoops(
  context: BenchContext,
  worker: WorkerProcess,
  ids: readonly string[],
  regions: readonly string[],
  variant: NoopVariant,
): Promise<ExecutionTiming[]> {
  const { statusWrites, payloadBytes } = variant;
  const handles = await Promise.all(
    ids.map((imageId) => {
      const input: NoopDeletionInput = {
        imageId,
        regions: [...regions],
        templates: [`${imageId}-template-0`],
        statusWrites,
        ...(payloadBytes > 0 ? { payloadBytes } : {}),
      };
      const plain = { taskQueue: worker.taskQueue, workflowId: `noop-${imageId}`, args: [input] };
      // With status writes, started as a deletion is (search attributes, memo, summary).
      const options = statusWrites ? { ...deletionStartOptions(deletionInput(imageId, {}), worker.taskQueue, randomUUID()), ...plain } : plain;
      return context.client.workflow.start(NOOP_WORKFLOW_TYPE, options);
    }),
  );
  await Promise.all(handles.map((handle) => handle.result()));
  return Promise.all(handles.map(timingOf));
}

const WARM_UP_RUNS = 3;

/**
 * A few deletions before measuring, without latency: the first workflows on a fresh
 * worker pay for loading the workflow bundle and the cloud SDK, which users pay once
 * per worker start, not per deletion.
 */
async function warmUp(
  context: BenchContext,
  worker: WorkerProcess,
  scenario: string,
  { count = WARM_UP_RUNS, regions = ['cn-shanghai'] }: { count?: number; regions?: readonly string[] } = {},
): Promise<void> {
  const ids = imageIds(context, scenario, count);
  await seed(context, ids, regions, 1);
  await runDeletions(context, worker, ids);
}

async function warmUpNoop(
  context: BenchContext,
  worker: WorkerProcess,
  scenario: string,
  variant: NoopVariant,
  count = WARM_UP_RUNS,
): Promise<void> {
  await runNoops(context, worker, imageIds(context, scenario, count), P2_REGIONS, variant);
}

/** A figure for the report, rounded to `digits` decimals. */
export function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

/** Start to close of one execution, as the server recorded them. */
function wallMs(timing: ExecutionTiming): number {
  return timing.closeMs - timing.startMs;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const low = sorted[middle - 1];
  const high = sorted[middle];
  if (high === undefined) return Number.NaN;
  return sorted.length % 2 === 0 && low !== undefined ? (low + high) / 2 : high;
}

/**
 * The run whose time is the median: the middle one, or of an even number the lower of the two
 * middle ones (their mean, the median time, is no run's time). P4 reads its history.
 */
export function medianRunOf<T>(runs: readonly T[], time: (run: T) => number): T | undefined {
  const sorted = [...runs].sort((a, b) => time(a) - time(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

// ── P1 + P4: one image in 12 regions with 2 templates, 200 ms per call ──────────

export interface StepTiming {
  activity: string;
  /** ms after the workflow started. */
  scheduledMs: number;
  startedMs: number;
  closedMs: number;
}

export interface LatencyResult {
  runs: Array<{ wallMs: number; ratio: number }>;
  wallMs: number;
  criticalPathMs: number;
  ratio: number;
  historyEvents: number;
  historyBytes: number;
  regions: number;
  templates: number;
  /** Where the time of the median run went, activity by activity. */
  steps: StepTiming[];
}

async function stepsOf(handle: WorkflowHandle, startMs: number): Promise<StepTiming[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, { activity: string; at: number }>();
  const started = new Map<string, number>();
  const steps: StepTiming[] = [];
  const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
    time ? Number(time.seconds ?? 0) * 1000 + Math.round((time.nanos ?? 0) / 1e6) - startMs : Number.NaN;
  for (const event of history.events ?? []) {
    const id = String(event.eventId ?? '');
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(id, { activity: event.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: millis(event.eventTime) });
    } else if (event.activityTaskStartedEventAttributes) {
      started.set(String(event.activityTaskStartedEventAttributes.scheduledEventId ?? ''), millis(event.eventTime));
    } else if (event.activityTaskCompletedEventAttributes) {
      const scheduledId = String(event.activityTaskCompletedEventAttributes.scheduledEventId ?? '');
      const step = scheduled.get(scheduledId);
      if (step) {
        steps.push({ activity: step.activity, scheduledMs: step.at, startedMs: started.get(scheduledId) ?? Number.NaN, closedMs: millis(event.eventTime) });
      }
    }
  }
  return steps;
}

export async function runLatencyScenario(
  context: BenchContext,
  worker: WorkerProcess,
  options: { runs: number; regionConcurrency?: number; /** One letter that keeps this variant's image ids apart. */ label: string },
): Promise<LatencyResult> {
  const extra: Partial<DeleteImageInput> = options.regionConcurrency === undefined ? {} : { regionConcurrency: options.regionConcurrency };
  await warmUp(context, worker, `w${options.label}`);

  const fault = await context.admin.addFault({ action: '*', latencyMs: P1_CALL_LATENCY_MS, times: -1 });
  const runs: Array<{ timing: ExecutionTiming; handle: WorkflowHandle }> = [];
  try {
    for (const imageId of imageIds(context, `l${options.label}`, options.runs)) {
      await seed(context, [imageId], TWELVE_REGIONS, 2);
      const [timing] = await runDeletions(context, worker, [imageId], extra);
      if (timing === undefined) throw new Error('P1 run without timing');
      runs.push({ timing, handle: context.client.workflow.getHandle(timing.workflowId) });
      context.log(`P1 (${worker.label} worker) run ${runs.length}/${options.runs}: ${wallMs(timing)} ms`);
    }
  } finally {
    await removeFault(context, fault.id);
  }
  const walls = runs.map((run) => wallMs(run.timing));
  const medianWallMs = median(walls);
  const medianRun = medianRunOf(runs, (run) => wallMs(run.timing));
  if (medianRun === undefined) throw new Error('P1 made no runs');
  return {
    runs: walls.map((wall) => ({ wallMs: wall, ratio: wall / CRITICAL_PATH_MS })),
    wallMs: medianWallMs,
    criticalPathMs: CRITICAL_PATH_MS,
    ratio: medianWallMs / CRITICAL_PATH_MS,
    historyEvents: medianRun.timing.historyLength,
    historyBytes: medianRun.timing.historySizeBytes,
    regions: TWELVE_REGIONS.length,
    templates: 2,
    steps: await stepsOf(medianRun.handle, medianRun.timing.startMs),
  };
}

async function removeFault(context: BenchContext, faultId: string): Promise<void> {
  const response = await fetch(`${context.emulatorUrl}/_emulator/faults/${encodeURIComponent(faultId)}`, { method: 'DELETE' });
  // An emulator without per-fault removal: clear them all (the benchmark adds only this one).
  if (!response.ok) await context.admin.clearFaults();
}

// ── P2 + P5: N deletions at once vs the no-op baseline ───────────────────────────

export const P2_REGIONS = ['cn-hangzhou', 'cn-shanghai', 'cn-shenzhen'] as const;

export interface BatchResult {
  count: number;
  durationMs: number;
  perSecond: number;
  /** Seconds after the first start at which each one closed. */
  completedAtSeconds: number[];
  /** Mean history events and bytes per workflow: what the server stored for each. */
  meanHistoryEvents: number;
  meanHistoryBytes: number;
  worker: MemoryWindow;
}

function batchResult(timings: readonly ExecutionTiming[], worker: MemoryWindow): BatchResult {
  const firstStart = Math.min(...timings.map((timing) => timing.startMs));
  const lastClose = Math.max(...timings.map((timing) => timing.closeMs));
  const durationMs = Math.max(1, lastClose - firstStart);
  return {
    count: timings.length,
    durationMs,
    perSecond: (timings.length * 1000) / durationMs,
    completedAtSeconds: timings.map((timing) => (timing.closeMs - firstStart) / 1000).sort((a, b) => a - b),
    meanHistoryEvents: mean(timings.map((timing) => timing.historyLength)),
    meanHistoryBytes: mean(timings.map((timing) => timing.historySizeBytes)),
    worker,
  };
}

/** An activity attempt that failed or timed out before the one that ended it, from a workflow's history. */
interface RetriedAttempt {
  activity: string;
  /** The attempt that followed the failed one. */
  attempt: number;
  lastFailure: string;
}

/**
 * The slowest workflow of a batch, when it took more than twice the batch's median: which
 * attempts its history shows failing (a start-to-close timeout means the attempt never
 * answered), and for imgdel the cloud calls the emulator saw for its image, so a lost
 * attempt (no calls) can be told from a hung one (calls without answers).
 */
interface Straggler {
  workflowId: string;
  seconds: number;
  retriedAttempts: RetriedAttempt[];
  cloudCalls?: Array<{ at: string; action: string; code: string | null }>;
}

async function retriedAttemptsOf(handle: WorkflowHandle): Promise<RetriedAttempt[]> {
  const history = await handle.fetchHistory();
  const activityBySchedule = new Map<string, string>();
  const retried: RetriedAttempt[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) activityBySchedule.set(String(event.eventId ?? ''), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started && (started.attempt ?? 1) > 1) {
      retried.push({
        activity: activityBySchedule.get(String(started.scheduledEventId ?? '')) ?? '?',
        attempt: started.attempt ?? 1,
        lastFailure: started.lastFailure?.message ?? '?',
      });
    }
  }
  return retried;
}

async function stragglerOf(
  context: BenchContext,
  timings: readonly ExecutionTiming[],
  medianSeconds: number,
  calls: readonly EmulatorCall[] | undefined,
): Promise<Straggler | undefined> {
  const slowest = timings.reduce<ExecutionTiming | undefined>((worst, timing) => (!worst || wallMs(timing) > wallMs(worst) ? timing : worst), undefined);
  if (slowest === undefined || wallMs(slowest) / 1000 <= 2 * medianSeconds) return undefined;
  const imageId = slowest.workflowId.replace(/^(delete-image|noop)-/, '');
  return {
    workflowId: slowest.workflowId,
    seconds: round(wallMs(slowest) / 1000),
    retriedAttempts: await retriedAttemptsOf(context.client.workflow.getHandle(slowest.workflowId)),
    ...(calls === undefined
      ? {}
      : {
          cloudCalls: calls
            .filter((call) => Object.values(call.params).some((value) => value.includes(imageId)))
            .map((call) => ({ at: call.at, action: call.action, code: call.code })),
        }),
  };
}

export interface ThroughputResult {
  imgdel: BatchResult;
  noop: BatchResult;
  /** Every batch in the order it ran (ABBA BAAB). */
  batches: Array<{
    kind: BatchKind;
    count: number;
    durationMs: number;
    perSecond: number;
    workerCpuSeconds: number;
    /**
     * CPU seconds of the Temporal server (when this run started it) and of the benchmark's own
     * process (its Temporal client, and the emulator when it runs in it) over the batch.
     */
    serverCpuSeconds?: number;
    benchProcessCpuSeconds: number;
    meanHistoryEvents: number;
    /** Median and longest time from start to close of one workflow: a long tail shows here. */
    medianSeconds: number;
    slowestSeconds: number;
    /** The worker's WARN/ERROR log lines during the batch (failed attempts, timeouts), and the last few. */
    workerWarnings: number;
    lastWorkerWarnings?: string[];
    straggler?: Straggler;
  }>;
  ratio: number;
  /** imgdel over the no-op for each neighbouring pair of batches (AB BA BA AB): the spread within the run. */
  pairRatios: number[];
  activitiesPerDeletion: number;
  /** Cloud calls the emulator answered per imgdel deletion, in all and per action. */
  cloudCallsPerDeletion: { total: number; byAction: Record<string, number> };
  /** CPU milliseconds per workflow by process, over all batches of each kind: where one costs more. */
  cpuMsPerWorkflow: Record<BatchKind, { worker: number; server?: number; benchProcess: number }>;
}

/** Merges the batches of one kind: counts and durations add up, memory peaks take the maximum. */
function combine(batches: readonly BatchResult[]): BatchResult {
  const [first] = batches;
  if (first === undefined) throw new Error('no batch to combine');
  const count = batches.reduce((sum, batch) => sum + batch.count, 0);
  const durationMs = batches.reduce((sum, batch) => sum + batch.durationMs, 0);
  const weighted = (figure: (batch: BatchResult) => number) =>
    batches.reduce((sum, batch) => sum + figure(batch) * batch.count, 0) / count;
  return {
    count,
    durationMs,
    perSecond: (count * 1000) / durationMs,
    meanHistoryEvents: weighted((batch) => batch.meanHistoryEvents),
    meanHistoryBytes: weighted((batch) => batch.meanHistoryBytes),
    // The chart shows the first batch: "N started at once" is one batch.
    completedAtSeconds: first.completedAtSeconds,
    worker: {
      peakSampledRssBytes: Math.max(...batches.map((batch) => batch.worker.peakSampledRssBytes)),
      highWaterMarkBytes: Math.max(...batches.map((batch) => batch.worker.highWaterMarkBytes)),
      cpuSeconds: batches.reduce((sum, batch) => sum + batch.worker.cpuSeconds, 0),
      samples: batches.reduce((sum, batch) => sum + batch.worker.samples, 0),
    },
  };
}

/**
 * Batches run as ABBA then BAAB (no-op = A): on a shared machine whose load drifts, a
 * linear drift then costs both sides alike, and four batches a side halve the spread of
 * two (batches of the same kind differ by up to 25 % here). Two experiments
 * (`--p2-order`): the same order with the kinds swapped (BAAB ABBA: the no-op first and
 * last), and ABBA BAAB ABBA, whose slow batches tell a batch that is slow for being last
 * (the twelfth, a no-op) from one slow for following two of the other kind (the eighth,
 * imgdel, as the last one is in the default order).
 */
const BATCH_ORDER: readonly BatchKind[] = ['noop', 'imgdel', 'imgdel', 'noop', 'imgdel', 'noop', 'noop', 'imgdel'];
const swapped = (order: readonly BatchKind[]): BatchKind[] => order.map((kind) => (kind === 'noop' ? 'imgdel' : 'noop'));
export const P2_BATCH_ORDERS = {
  'abba-baab': BATCH_ORDER,
  'baab-abba': swapped(BATCH_ORDER),
  'abba-baab-abba': [...BATCH_ORDER, ...BATCH_ORDER.slice(0, 4)],
} as const satisfies Record<string, readonly BatchKind[]>;
export type P2Order = keyof typeof P2_BATCH_ORDERS;
export const P2_ORDERS = Object.keys(P2_BATCH_ORDERS) as [P2Order, ...P2Order[]];

/** How many batches of each kind an order runs. */
export function p2BatchesPerKind(order: P2Order): number {
  return P2_BATCH_ORDERS[order].filter((kind) => kind === 'imgdel').length;
}

/** The order as the report names it: `abba-baab` is "ABBA BAAB". */
export function p2OrderLabel(order: P2Order): string {
  return order.toUpperCase().replaceAll('-', ' ');
}

export async function runThroughputScenario(
  context: BenchContext,
  workers: { imgdel: WorkerProcess; noop: WorkerProcess },
  options: {
    deletions: number;
    /** The baseline also writes what imgdel writes besides its activities (an experiment). */
    noopStatusWrites: boolean;
    /** The baseline's activity answers and result carry this many bytes more (an experiment). */
    noopPayloadBytes: number;
    /** `abba-baab` (A = no-op) unless an experiment swaps the kinds. */
    order: P2Order;
  },
): Promise<ThroughputResult> {
  const variant: NoopVariant = { statusWrites: options.noopStatusWrites, payloadBytes: options.noopPayloadBytes };
  await warmUpNoop(context, workers.noop, 'wn', variant);
  await warmUp(context, workers.imgdel, 'wb');
  // A long-running worker has its sockets open, its heaps grown and its concurrent paths
  // compiled; a batch started at once gets a fresh one there, so the first measured batch of
  // each kind is not also measuring a cold start. Full size, because every measured batch then
  // follows a full batch, as the others do: after a batch a tenth the size, the first measured
  // one (always a no-op batch) was the no-op batch the server spent least CPU on, in five runs
  // (bench/README.md), since part of a batch's server work, such as its activities' heartbeat
  // timers firing 30 s after they started, lands in the batch after it.
  const warmUpSize = options.deletions;
  await warmUpNoop(context, workers.noop, 'wnc', variant, warmUpSize);
  await warmUp(context, workers.imgdel, 'wbc', { count: warmUpSize, regions: P2_REGIONS });
  const results: { imgdel: BatchResult[]; noop: BatchResult[] } = { imgdel: [], noop: [] };
  const callsByAction = new Map<string, number>();
  const batches: ThroughputResult['batches'] = [];
  const order = P2_BATCH_ORDERS[options.order];
  for (const [index, kind] of order.entries()) {
    const ids = imageIds(context, `${kind === 'noop' ? 'n' : 'b'}${index}`, options.deletions);
    if (kind === 'imgdel') {
      await seed(context, ids, P2_REGIONS, 1);
      await context.admin.clearCalls();
    }
    const worker = workers[kind];
    const monitor = new ProcessMonitor(worker.pid);
    const warningsBefore = worker.warnings();
    const serverCpuBefore = context.serverPid === undefined ? undefined : cpuSeconds(context.serverPid);
    const benchCpuBefore = process.cpuUsage();
    monitor.start();
    const timings = kind === 'noop' ? await runNoops(context, worker, ids, P2_REGIONS, variant) : await runDeletions(context, worker, ids);
    const batch = batchResult(timings, monitor.stop());
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const serverCpuAfter = context.serverPid === undefined ? undefined : cpuSeconds(context.serverPid);
    const serverCpuSeconds =
      serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : round(serverCpuAfter - serverCpuBefore);
    const benchProcessCpuSeconds = round((benchCpu.user + benchCpu.system) / 1e6);
    results[kind].push(batch);
    const calls = kind === 'imgdel' ? await context.admin.calls() : undefined;
    for (const call of calls ?? []) {
      const kindOfCall = callKind(call);
      callsByAction.set(kindOfCall, (callsByAction.get(kindOfCall) ?? 0) + 1);
    }
    const durations = timings.map((timing) => wallMs(timing) / 1000);
    const medianSeconds = median(durations);
    const straggler = await stragglerOf(context, timings, medianSeconds, calls);
    const workerWarnings = worker.warnings() - warningsBefore;
    const entry: ThroughputResult['batches'][number] = {
      kind,
      count: batch.count,
      durationMs: batch.durationMs,
      perSecond: batch.perSecond,
      workerCpuSeconds: batch.worker.cpuSeconds,
      ...(serverCpuSeconds === undefined ? {} : { serverCpuSeconds }),
      benchProcessCpuSeconds,
      meanHistoryEvents: batch.meanHistoryEvents,
      medianSeconds: round(medianSeconds),
      slowestSeconds: round(Math.max(...durations)),
      workerWarnings,
      ...(workerWarnings > 0 ? { lastWorkerWarnings: worker.recentWarnings() } : {}),
      ...(straggler ? { straggler } : {}),
    };
    batches.push(entry);
    context.log(
      `P2 ${kind} batch ${index + 1}/${order.length}: ${batch.count} in ${batch.durationMs} ms` +
        ` (slowest ${entry.slowestSeconds} s, ${workerWarnings} worker warnings)`,
    );
    if (straggler) {
      const retried = straggler.retriedAttempts.map((attempt) => `${attempt.activity} attempt ${attempt.attempt} after "${attempt.lastFailure}"`);
      context.log(
        `P2 straggler ${straggler.workflowId}: ${straggler.seconds} s; ${retried.join(', ') || 'no retried attempt'}` +
          (straggler.cloudCalls ? `; ${straggler.cloudCalls.length} cloud calls for its image` : ''),
      );
    }
  }
  const imgdel = combine(results.imgdel);
  const noop = combine(results.noop);
  const perDeletion = (calls: number) => round(calls / imgdel.count);
  const totalCalls = [...callsByAction.values()].reduce((sum, calls) => sum + calls, 0);
  return {
    imgdel,
    noop,
    batches,
    ratio: imgdel.perSecond / noop.perSecond,
    pairRatios: pairedRatios(batches).map((ratio) => round(ratio)),
    activitiesPerDeletion: 3 + 1 + P2_REGIONS.length,
    cloudCallsPerDeletion: {
      total: perDeletion(totalCalls),
      byAction: Object.fromEntries([...callsByAction].sort().map(([action, calls]) => [action, perDeletion(calls)])),
    },
    cpuMsPerWorkflow: { imgdel: cpuMsPerWorkflow(batches, 'imgdel'), noop: cpuMsPerWorkflow(batches, 'noop') },
  };
}

function cpuMsPerWorkflow(
  batches: ThroughputResult['batches'],
  kind: BatchKind,
): ThroughputResult['cpuMsPerWorkflow'][typeof kind] {
  const ofKind = batches.filter((batch) => batch.kind === kind);
  const count = ofKind.reduce((sum, batch) => sum + batch.count, 0);
  const perWorkflow = (seconds: number) => round((seconds * 1000) / count);
  const total = (figure: (batch: (typeof ofKind)[number]) => number | undefined) =>
    ofKind.reduce((sum, batch) => sum + (figure(batch) ?? 0), 0);
  const serverMeasured = ofKind.every((batch) => batch.serverCpuSeconds !== undefined);
  return {
    worker: perWorkflow(total((batch) => batch.workerCpuSeconds)),
    ...(serverMeasured ? { server: perWorkflow(total((batch) => batch.serverCpuSeconds)) } : {}),
    benchProcess: perWorkflow(total((batch) => batch.benchProcessCpuSeconds)),
  };
}

/**
 * How P2 counts a call: its action, and for ListImage what it read (one image, or an
 * account-wide list of one ImageType), since those are shared in different ways.
 */
function callKind(call: EmulatorCall): string {
  if (call.action !== 'ListImage') return call.action;
  const imageType = call.params['ImageType'];
  return imageType === undefined ? 'ListImage (one image)' : `ListImage (ImageType=${imageType})`;
}

// ── P3: region deletes against a DeleteImage quota ──────────────────────────────

export const P3_QUOTA_PER_SECOND = 20;
export const P3_REGIONS_PER_IMAGE = 10;

export interface QuotaResult {
  regionDeletes: number;
  quotaPerSecond: number;
  achievedPerSecond: number;
  ratio: number;
  /**
   * The rate once the client's rate limiter has spent its opening burst (one second of calls at
   * once): the accepted deletes from one second after the first, ÷ the quota.
   */
  sustainedPerSecond: number;
  sustainedRatio: number;
  throttled: number;
  throttledCodes: Record<string, number>;
}

export async function runQuotaScenario(
  context: BenchContext,
  worker: WorkerProcess,
  options: { regionDeletes: number },
): Promise<QuotaResult> {
  const imageCount = Math.max(1, Math.ceil(options.regionDeletes / P3_REGIONS_PER_IMAGE));
  const regions = TWELVE_REGIONS.slice(0, P3_REGIONS_PER_IMAGE);
  await warmUp(context, worker, 'wq');
  const ids = imageIds(context, 'q', imageCount);
  await seed(context, ids, regions, 0);
  const ours = new Set(ids);
  const startedAt = new Date().toISOString();
  await context.admin.limit('DeleteImage', P3_QUOTA_PER_SECOND);
  try {
    await runDeletions(context, worker, ids);
  } finally {
    await clearLimits(context);
  }
  const calls = (await context.admin.calls()).filter((call) => call.at >= startedAt);
  const deletes = calls.filter((call) => call.action === 'DeleteImage' && call.code === null && ours.has(call.params['ImageId'] ?? ''));
  const times = deletes.map((call) => Date.parse(call.at)).sort((a, b) => a - b);
  const first = times[0];
  // The rate between the first and the last accepted delete: n − 1 intervals.
  const achievedPerSecond = ratePerSecond(times);
  const sustainedPerSecond = first === undefined ? 0 : ratePerSecond(times.filter((time) => time >= first + 1_000));
  const throttledCalls = calls.filter((call: EmulatorCall) => call.code?.startsWith('Throttling') === true);
  const throttledCodes: Record<string, number> = {};
  for (const call of throttledCalls) {
    const code = call.code ?? '';
    throttledCodes[code] = (throttledCodes[code] ?? 0) + 1;
  }
  return {
    regionDeletes: deletes.length,
    quotaPerSecond: P3_QUOTA_PER_SECOND,
    achievedPerSecond,
    ratio: achievedPerSecond / P3_QUOTA_PER_SECOND,
    sustainedPerSecond,
    sustainedRatio: sustainedPerSecond / P3_QUOTA_PER_SECOND,
    throttled: throttledCalls.length,
    throttledCodes,
  };
}

/** Events per second between the first and the last of sorted times: n − 1 intervals (0 for fewer than two). */
export function ratePerSecond(sortedTimes: readonly number[]): number {
  const first = sortedTimes[0];
  const last = sortedTimes[sortedTimes.length - 1];
  return first !== undefined && last !== undefined && last > first ? ((sortedTimes.length - 1) * 1000) / (last - first) : 0;
}

async function clearLimits(context: BenchContext): Promise<void> {
  const response = await fetch(`${context.emulatorUrl}/_emulator/limits`, { method: 'DELETE' });
  if (!response.ok) throw new Error(`clearing the emulator's limits answered HTTP ${response.status}`);
}
