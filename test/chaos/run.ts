/**
 * One chaos run, shared by `npm run chaos` (main.ts) and the short variant in `npm test`
 * (test/chaos-short.test.ts): a dev server with a database file, the emulator with a
 * state file and worker child processes; seeded images whose outcomes are planned;
 * faults on every action; all deletions started; workers SIGKILLed, the dev server and
 * the emulator restarted mid-run; parked deletions retried once their faults are gone;
 * then every image checked against the plan, the emulator's state and its call log.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { z } from 'zod';
import { buildWorkflowBundle, silentBundlerLogger } from '../../src/dev/build-bundle.js';
import { EmulatorAdmin, type EmulatorCall, type Fault } from '../../src/emulator/admin-client.js';
import { faultInputSchema, type FaultInput } from '../../src/emulator/faults.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { deletionStatusKey, retryUpdate, SEARCH_STATUS, WORKFLOW_TYPE } from '../../src/workflows/model.js';
import { EmulatorProcess, RestartableDevServer, WorkerPool, type Log } from './cluster.js';
import { planChaos, type ChaosPlan, type FaultRole, type PlannedImage } from './plan.js';
import { SeededRandom } from './random.js';
import { verify, type WorkflowFinal } from './verify.js';

export interface ChaosOptions {
  images: number;
  /** Worker processes polling the queue. */
  workers: number;
  workerKills: number;
  devServerRestarts: number;
  emulatorRestarts: number;
  seed: number;
  /** The whole run (start to verdict) must fit in this; past it, unfinished workflows are mismatches. */
  deadlineMs: number;
  /** Random pause before each chaos event, [min, max] ms. */
  eventGapMs: readonly [number, number];
  /**
   * Kill workers only while nothing but region deletes is in flight. A killed attempt is
   * noticed only when its 30 s heartbeat timeout ends, so short runs pick a moment when the
   * deletions are past validation and a kill hits the steps after the pivot.
   */
  quietKills?: boolean;
  log: Log;
  /** Keep the work directory (database, state file, logs) even when the run passed. */
  keepWorkDir?: boolean;
  signal?: AbortSignal;
}

export interface ChaosReport {
  seed: number;
  images: number;
  /** Planned outcome → count. */
  planned: Map<string, number>;
  /** Observed outcome → count. */
  outcomes: Map<string, number>;
  /** Fault → how many calls it hit. */
  faultsInjected: Map<string, number>;
  workerKills: number;
  workerRestarts: number;
  devServerRestarts: number;
  emulatorRestarts: number;
  retriesSent: number;
  wallTimeMs: number;
  mismatches: string[];
  /** Kept when the run failed (or when asked): database, emulator state, worker output. */
  workDir?: string;
}

export const FULL_RUN: Omit<ChaosOptions, 'seed' | 'log'> = {
  images: 100,
  workers: 2,
  workerKills: 3,
  devServerRestarts: 1,
  emulatorRestarts: 1,
  deadlineMs: 15 * 60_000,
  eventGapMs: [2_000, 8_000],
};

/** Codes the run injects (the emulator's own answers, such as Image.NotExist, are not faults). */
const INJECTED_CODES = new Set(['InternalError', 'ServiceUnavailable', 'Throttling.User', 'DeleteTemplate.Failed', 'ImageNotAllowDelete']);

const listedFaultSchema = z
  .object({
    id: z.string(),
    fired: z.number(),
    action: z.string(),
    code: z.string().optional(),
    httpStatus: z.number().optional(),
    times: z.number(),
    regionId: z.string().optional(),
    imageId: z.string().optional(),
    templateId: z.string().optional(),
    latencyMs: z.number().optional(),
    probability: z.number(),
  })
  .loose();
type ListedFault = z.infer<typeof listedFaultSchema>;

const MAX_RETRIES_PER_IMAGE = 3;

const reportSchema = z.object({ status: z.string(), retries: z.number().optional() }).loose();

/** The faults the run added, with the id each has in the emulator process running now. */
export class FaultBook {
  private entries: Array<{ role: FaultRole; imageId?: string; id: string }> = [];
  /** Calls slowed down by a latency fault, in emulator processes that are gone. */
  latencyFiredBefore = 0;

  constructor(private readonly url: () => string) {}

  async add(role: FaultRole, fault: Fault, imageId?: string): Promise<void> {
    const { id } = await new EmulatorAdmin(this.url()).addFault(fault);
    this.entries.push({ role, id, ...(imageId === undefined ? {} : { imageId }) });
  }

  async list(): Promise<ListedFault[]> {
    const response = await fetch(`${this.url()}/_emulator/faults`);
    return z.array(listedFaultSchema).parse(await response.json());
  }

  roleOf(id: string): FaultRole | undefined {
    return this.entries.find((entry) => entry.id === id)?.role;
  }

  /**
   * Restarts the emulator (`restart`) with what was left of every fault in force from its first
   * answer, in the same order, and learns the id each got there. The faults that ran out are
   * forgotten: the new process numbers its faults from the start again, so their old ids are now
   * other faults' ids.
   */
  async restartWith(before: readonly ListedFault[], restart: (faults: FaultInput[]) => Promise<void>): Promise<void> {
    const byOldId = new Map(this.entries.map((entry) => [entry.id, entry]));
    const kept: typeof this.entries = [];
    const faults: FaultInput[] = [];
    for (const listed of before) {
      const remaining = listed.times === -1 ? -1 : listed.times - listed.fired;
      const entry = byOldId.get(listed.id);
      if (entry === undefined || remaining === 0) continue;
      if (entry.role === 'latency') this.latencyFiredBefore += listed.fired;
      const { id: _oldId, fired: _fired, ...fault } = listed;
      faults.push(faultInputSchema.parse({ ...fault, times: remaining }));
      kept.push(entry);
    }
    await restart(faults);
    const now = await this.list();
    if (now.length !== kept.length) throw new Error(`the restarted emulator has ${now.length} faults, not the ${kept.length} it was given`);
    this.entries = kept.map((entry, index) => ({ ...entry, id: now[index]?.id ?? entry.id }));
  }

  async remove(role: FaultRole): Promise<number> {
    let removed = 0;
    for (const entry of this.entries.filter((candidate) => candidate.role === role)) {
      const response = await fetch(`${this.url()}/_emulator/faults/${encodeURIComponent(entry.id)}`, { method: 'DELETE' });
      if (response.ok) removed += 1;
    }
    return removed;
  }
}

/**
 * Temporal calls survive a dev-server restart: retried until they answer (or the deadline, or
 * the run is aborted: a Ctrl-C in a terminal stops the dev server too, so it would never answer).
 */
export async function persistently<T>(
  what: string,
  deadline: number,
  log: Log,
  body: () => Promise<T>,
  isFinal: (error: unknown) => boolean = () => false,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await body();
    } catch (error) {
      signal?.throwIfAborted();
      if (isFinal(error) || Date.now() > deadline) throw error;
      if (attempt === 3) log(`${what}: still failing (${error instanceof Error ? error.message : String(error)}), retrying`);
      await sleep(Math.min(2_000, 100 * attempt), undefined, { signal });
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const startedAt = Date.now();
  const deadline = startedAt + options.deadlineMs;
  const log = options.log;
  const random = new SeededRandom(options.seed);
  const plan = planChaos(options.images, random);
  const workDir = await mkdtemp(join(tmpdir(), 'imgdel-chaos-'));
  const taskQueue = `chaos-${random.token(8)}`;
  log(`chaos run: seed ${options.seed}, ${options.images} images, work dir ${workDir}`);

  let devServer: RestartableDevServer | undefined;
  let emulator: EmulatorProcess | undefined;
  let workers: WorkerPool | undefined;
  let connection: Connection | undefined;
  let watcher: Watcher | undefined;
  let passed = false;
  try {
    // Workers load a prebuilt bundle, as in production: a restarted worker polls again in seconds.
    // All three settle before anything is judged, so that when one fails, the servers that did
    // start are stopped below instead of being left running.
    const [builtBundle, startedDevServer, startedEmulator] = await Promise.allSettled([
      buildWorkflowBundle({ outputPath: join(workDir, 'workflow-bundle.js'), logger: silentBundlerLogger }),
      RestartableDevServer.start(join(workDir, 'temporal.db'), log),
      EmulatorProcess.start(join(workDir, 'emulator-state.json')),
    ]);
    if (startedDevServer.status === 'fulfilled') devServer = startedDevServer.value;
    if (startedEmulator.status === 'fulfilled') emulator = startedEmulator.value;
    if (builtBundle.status === 'rejected') throw builtBundle.reason;
    if (startedDevServer.status === 'rejected') throw startedDevServer.reason;
    if (startedEmulator.status === 'rejected') throw startedEmulator.reason;
    const bundle = builtBundle.value;
    devServer = startedDevServer.value;
    emulator = startedEmulator.value;
    const emulatorNow = emulator;
    const admin = () => new EmulatorAdmin(emulatorNow.url);
    const faults = new FaultBook(() => emulatorNow.url);
    await seed(admin(), plan);
    for (const planned of plan.faults) await faults.add(planned.role, planned.fault, planned.imageId);
    log(`seeded ${plan.images.length} images and ${plan.faults.length} faults; starting ${options.workers} worker(s)`);

    workers = new WorkerPool({ temporalAddress: devServer.address, taskQueue, cloudEndpoint: emulator.endpoint, workflowBundle: bundle.codePath, log });
    await workers.start(options.workers);
    connection = await Connection.connect({ address: devServer.address });
    const client = new Client({ connection });

    await startAll(client, plan.images, taskQueue, deadline, log, options.signal);
    log(`started ${plan.images.length} deletions`);

    const follower = new Watcher(client, plan.images, deadline, log);
    watcher = follower;
    const watching = follower.watch(options.signal).catch((error: unknown) => log(`watching stopped: ${String(error)}`));
    const archivedCalls: EmulatorCall[] = [];

    // Chaos: kills and restarts in random order, at random moments, while the deletions run.
    const events = random.shuffle([
      ...Array<string>(options.workerKills).fill('kill-worker'),
      ...Array<string>(options.devServerRestarts).fill('restart-dev-server'),
      ...Array<string>(options.emulatorRestarts).fill('restart-emulator'),
    ]);
    let devServerRestarts = 0;
    let emulatorRestarts = 0;
    for (const event of events) {
      await sleep(random.int(options.eventGapMs[0], options.eventGapMs[1]), undefined, { signal: options.signal });
      if (event === 'kill-worker') {
        const index = random.int(0, workers.size - 1);
        if (options.quietKills) await follower.untilOnlyRegionDeletesPending(30_000, options.signal);
        log(`SIGKILL worker ${index} (${follower.summary()})`);
        await workers.killAndRestart(index, random.int(200, 2_000));
      } else if (event === 'restart-dev-server') {
        log(`restarting the Temporal dev server (${follower.summary()})`);
        await devServer.restart();
        devServerRestarts += 1;
      } else {
        // Recoverable bursts are left to run out first: added back in full, a burst could
        // spend a template budget that a half-finished one has already used.
        const burstsDone = Date.now() + 30_000;
        while (Date.now() < burstsDone && (await faults.list()).some((fault) => faults.roleOf(fault.id) === 'burst')) {
          await sleep(250, undefined, { signal: options.signal });
        }
        const before = await faults.list();
        archivedCalls.push(...(await admin().calls()));
        log(`SIGKILL the emulator and start it again (${follower.summary()})`);
        await faults.restartWith(before, (left) => emulatorNow.killAndRestart(left));
        emulatorRestarts += 1;
      }
    }
    log(`chaos events done (${follower.summary()}); waiting for every deletion to end or park`);

    // Parked deletions wait for an operator: remove the refusals, then retry them.
    await follower.until(() => follower.allSettled(), options.signal);
    const removed = await faults.remove('park');
    log(`removed ${removed} region refusals; retrying ${follower.parkedNow().length} parked deletion(s)`);
    let retriesSent = 0;
    const retriesPerImage = new Map<string, number>();
    const retriesLeft = (imageId: string) => (retriesPerImage.get(imageId) ?? 0) < MAX_RETRIES_PER_IMAGE;
    while (!follower.allClosed() && Date.now() < deadline) {
      // A deletion that parks again and again is reported, not retried for ever.
      if (follower.allSettled() && !follower.parkedNow().some(retriesLeft)) break;
      for (const imageId of follower.parkedNow().filter(retriesLeft)) {
        const round = (retriesPerImage.get(imageId) ?? 0) + 1;
        retriesPerImage.set(imageId, round);
        retriesSent += 1;
        await retry(client, imageId, round, deadline, log, options.signal);
        follower.markRetried(imageId);
      }
      await sleep(500, undefined, { signal: options.signal });
    }
    follower.stop();
    await watching;
    await follower.pollOnce();

    // The evidence: final workflow states, the emulator's state and every call it answered.
    const finalFaults = await faults.list();
    const calls = [...archivedCalls, ...(await admin().calls())];
    const state = await admin().state();
    const verdict = verify({ images: plan.images, finals: follower.finals(), parked: follower.everParked, state, calls });
    const stuck = await runningCount(client, taskQueue, deadline, log, options.signal);
    if (stuck > 0) verdict.mismatches.push(`${stuck} workflow(s) on ${taskQueue} are still running at the end of the run`);
    verdict.mismatches.push(...workers.unexpectedExits);

    const faultsInjected = countFaults(calls);
    const latency = faults.latencyFiredBefore + finalFaults.filter((fault) => faults.roleOf(fault.id) === 'latency').reduce((sum, fault) => sum + fault.fired, 0);
    faultsInjected.set('added latency', latency);

    passed = verdict.mismatches.length === 0;
    if (!passed || options.keepWorkDir) {
      await writeFile(join(workDir, 'workers.log'), workers.output());
      await writeFile(join(workDir, 'emulator.log'), emulator.lastOutput());
      await writeFile(join(workDir, 'calls.json'), JSON.stringify(calls, null, 1));
    }
    return {
      seed: options.seed,
      images: plan.images.length,
      planned: plannedCounts(plan),
      outcomes: verdict.outcomes,
      faultsInjected,
      workerKills: workers.kills,
      workerRestarts: workers.restarts,
      devServerRestarts,
      emulatorRestarts,
      retriesSent,
      wallTimeMs: Date.now() - startedAt,
      mismatches: verdict.mismatches,
      ...(passed && !options.keepWorkDir ? {} : { workDir }),
    };
  } finally {
    watcher?.stop();
    await connection?.close().catch(() => undefined);
    await workers?.stopAll();
    await emulator?.kill();
    await devServer?.stop();
    if (passed && !options.keepWorkDir) await rm(workDir, { recursive: true, force: true });
  }
}

async function seed(admin: EmulatorAdmin, plan: ChaosPlan): Promise<void> {
  // In slices: the admin API takes bodies up to 1 MB.
  for (let index = 0; index < plan.images.length; index += 25) {
    const slice = plan.images.slice(index, index + 25);
    await admin.seed({
      images: slice.map((image) => image.image),
      templates: slice.flatMap((image) => image.templates),
      instances: slice.flatMap((image) => image.instances),
    });
  }
}

async function startAll(client: Client, images: readonly PlannedImage[], taskQueue: string, deadline: number, log: Log, signal?: AbortSignal): Promise<void> {
  for (let index = 0; index < images.length; index += 20) {
    await Promise.all(
      images.slice(index, index + 20).map((image) =>
        persistently(
          `start ${image.imageId}`,
          deadline,
          log,
          () =>
            client.workflow.start(WORKFLOW_TYPE, {
              taskQueue,
              workflowId: workflowIdFor(image.imageId),
              args: [image.input],
              // A start retried after a lost answer attaches to the one that did start.
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          undefined,
          signal,
        ),
      ),
    );
  }
}

async function retry(client: Client, imageId: string, round: number, deadline: number, log: Log, signal?: AbortSignal): Promise<void> {
  const handle = client.workflow.getHandle(workflowIdFor(imageId));
  try {
    // One update id per round: a call repeated after a lost answer is the same retry.
    await persistently(
      `retry ${imageId}`,
      deadline,
      log,
      () => handle.executeUpdate(retryUpdate, { updateId: `chaos-retry-${imageId}-${round}` }),
      (error) => error instanceof WorkflowUpdateFailedError,
      signal,
    );
  } catch (error) {
    if (signal?.aborted) throw error;
    log(`retry of ${imageId} refused or failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Follows every deletion through describe (no worker needed), and reads how each ended. */
class Watcher {
  private readonly results = new Map<string, WorkflowFinal>();
  readonly everParked = new Set<string>();
  private readonly parked = new Set<string>();
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly images: readonly PlannedImage[],
    private readonly deadline: number,
    private readonly log: Log,
  ) {}

  finals(): Map<string, WorkflowFinal> {
    const finals = new Map(this.results);
    for (const image of this.images) {
      if (!finals.has(image.imageId)) {
        finals.set(image.imageId, { execution: 'NOT_FINISHED', status: this.parked.has(image.imageId) ? 'awaiting-retry' : 'running' });
      }
    }
    return finals;
  }

  summary(): string {
    return `${this.results.size}/${this.images.length} ended, ${this.parked.size} parked`;
  }

  allClosed(): boolean {
    return this.results.size === this.images.length;
  }

  allSettled(): boolean {
    return this.results.size + this.parked.size === this.images.length;
  }

  parkedNow(): string[] {
    return [...this.parked];
  }

  /** A retried deletion runs again until a later poll says otherwise. */
  markRetried(imageId: string): void {
    this.parked.delete(imageId);
  }

  stop(): void {
    this.stopped = true;
  }

  async watch(signal?: AbortSignal): Promise<void> {
    while (!this.stopped && !this.allClosed() && Date.now() < this.deadline) {
      await this.pollOnce();
      await sleep(500, undefined, { signal });
    }
  }

  async until(condition: () => boolean, signal?: AbortSignal): Promise<void> {
    while (!condition() && Date.now() < this.deadline) await sleep(250, undefined, { signal });
  }

  /** Waits (at most `limitMs`) until region deletes, and nothing else, are pending. */
  async untilOnlyRegionDeletesPending(limitMs: number, signal?: AbortSignal): Promise<void> {
    const until = Math.min(Date.now() + limitMs, this.deadline);
    while (Date.now() < until) {
      const open = this.images.filter((image) => !this.results.has(image.imageId));
      const pending = await Promise.all(
        open.map(async (image) => {
          try {
            const description = await this.client.workflow.getHandle(workflowIdFor(image.imageId)).describe();
            return (description.raw.pendingActivities ?? []).map((activity) => activity.activityType?.name ?? '?');
          } catch {
            return ['?'];
          }
        }),
      );
      const types = pending.flat();
      if (types.length > 0 && types.every((type) => type === 'deleteImageInRegion')) return;
      await sleep(100, undefined, { signal });
    }
  }

  async pollOnce(): Promise<void> {
    const open = this.images.filter((image) => !this.results.has(image.imageId));
    for (let index = 0; index < open.length; index += 25) {
      await Promise.all(open.slice(index, index + 25).map((image) => this.pollImage(image.imageId)));
    }
  }

  private async pollImage(imageId: string): Promise<void> {
    const handle = this.client.workflow.getHandle(workflowIdFor(imageId));
    try {
      const description = await handle.describe();
      const execution = description.status.name;
      if (execution === 'RUNNING') {
        const status = description.typedSearchAttributes.get(deletionStatusKey);
        if (status === SEARCH_STATUS['awaiting-retry']) {
          if (!this.parked.has(imageId)) this.log(`${imageId} parked`);
          this.parked.add(imageId);
          this.everParked.add(imageId);
        } else {
          this.parked.delete(imageId);
        }
        return;
      }
      this.parked.delete(imageId);
      this.results.set(imageId, await finalOf(handle, execution));
    } catch {
      // The dev server is restarting (or the call timed out): the next poll asks again.
    }
  }
}

async function finalOf(handle: WorkflowHandle, execution: string): Promise<WorkflowFinal> {
  try {
    const report = reportSchema.safeParse(await handle.result());
    return report.success
      ? { execution, status: report.data.status, ...(report.data.retries === undefined ? {} : { retries: report.data.retries }) }
      : { execution, message: 'the workflow completed without a report' };
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const cause = error.cause;
    if (!(cause instanceof ApplicationFailure)) return { execution, message: cause?.message ?? error.message };
    const report = reportSchema.safeParse(cause.details?.[0]);
    const causeType = cause.cause instanceof ApplicationFailure ? cause.cause.type : cause.cause?.name;
    return {
      execution,
      message: cause.message,
      ...(cause.type ? { failureType: cause.type } : {}),
      ...(causeType ? { causeType } : {}),
      ...(report.success ? { status: report.data.status } : {}),
      ...(report.success && report.data.retries !== undefined ? { retries: report.data.retries } : {}),
    };
  }
}

/** Workflows of this run still running, per visibility (retried briefly: visibility lags a little). */
async function runningCount(client: Client, taskQueue: string, deadline: number, log: Log, signal?: AbortSignal): Promise<number> {
  const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
  let count = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 20 && count > 0; attempt += 1) {
    count = (await persistently('count running workflows', deadline + 60_000, log, () => client.workflow.count(query), undefined, signal)).count;
    if (count > 0) await sleep(500, undefined, { signal });
  }
  return count;
}

function countFaults(calls: readonly EmulatorCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    if (call.code === null || !INJECTED_CODES.has(call.code)) continue;
    // ImageNotAllowDelete is injected only on DeleteImage; at validation it is the emulator's own answer.
    if (call.code === 'ImageNotAllowDelete' && call.action !== 'DeleteImage') continue;
    const label = call.code === 'ImageNotAllowDelete' ? 'ImageNotAllowDelete (parked region)' : call.code;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

function plannedCounts(plan: ChaosPlan): Map<string, number> {
  const counts = new Map<string, number>();
  for (const image of plan.images) {
    const label = image.outcome.kind === 'rejected' ? `rejected: ${image.outcome.code}` : image.outcome.kind.replace(/-/g, ' ');
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}
