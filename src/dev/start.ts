/**
 * `npm start`: the whole local stack in one command — the Temporal dev server (or the
 * one TEMPORAL_ADDRESS names), the cloud emulator with demo data, and an imgdel worker —
 * then says where everything is and what to try. Ctrl-C stops it all: worker first,
 * then emulator, then server. State persists in .data/ (workflows and emulator).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { Command } from 'commander';
import { z } from 'zod';
import { ConfigError, loadConfig, SHUTDOWN_FORCE_MARGIN_MS, type Config, type WorkerTuning } from '../config.js';
import { clientConnectionOptions, type TemporalTarget } from '../temporal-connection.js';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../emulator/defaults.js';
import { startEmulator } from '../emulator/server.js';
import type { RunningEmulator } from '../emulator/server.js';
import { startDevServer } from './dev-server.js';
import type { RunningDevServer } from './dev-server.js';
import { findFreePort, hasExited, OutputTail, signalProcessGroup, sleep, waitForExit } from './process.js';
import { claimStack, processGroupRecord, removeStackPidfile, STACK_PIDFILE_NAME, writeStackPidfile } from './stack-pidfile.js';
import type { StackPidfile } from './stack-pidfile.js';
import { ignoreClosedOutput } from '../closed-output.js';
import { isEntryPoint } from '../entry-point.js';
import { signalCounter } from '../signal-counter.js';

const HOST = '127.0.0.1';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_ENTRY = join(REPO_ROOT, 'src', 'worker.ts');
/** This file, however it runs (tsx, or compiled): how a pidfile's owner is recognised as an npm start of this checkout. */
const START_ENTRIES = [fileURLToPath(import.meta.url), join(REPO_ROOT, 'src', 'dev', 'start.ts')];
const DEFAULT_PORTS = { temporal: 7233, ui: 8233, emulator: EMULATOR_DEFAULTS.port } as const;
/** Bundling the workflows on a cold machine takes a while; this is a ceiling. */
const WORKER_READY_TIMEOUT_MS = 180_000;
/** How often npm start says it still waits for the worker. */
const WORKER_PROGRESS_EVERY_MS = 10_000;
/** How long a Temporal server left running by an earlier npm start gets to stop after SIGTERM. */
const LEFTOVER_SERVER_GRACE_MS = 5_000;
/** Task queue type WORKFLOW in the Temporal API. */
const TASK_QUEUE_TYPE_WORKFLOW = 1;

const portSchema = z.coerce.number().int().min(0).max(65535);
const optionsSchema = z.object({
  temporalPort: portSchema,
  uiPort: portSchema,
  emulatorPort: portSchema,
  dataDir: z.string().min(1),
});
type StartOptions = z.infer<typeof optionsSchema>;

type CloudMode =
  | { kind: 'emulator' }
  | { kind: 'real'; accountId: string | undefined }
  | { kind: 'endpoint'; endpoint: string };

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** `preferred` if nobody listens there, else a free port (0 always means "any free port"). */
async function portOrFree(preferred: number): Promise<number> {
  if (preferred === 0) return findFreePort(HOST);
  const free = await new Promise<boolean>((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen({ host: HOST, port: preferred }, () => probe.close(() => done(true)));
  });
  return free ? preferred : findFreePort(HOST);
}

function cloudModeFor(env: NodeJS.ProcessEnv): CloudMode {
  const config = loadConfig(env);
  if (config.cloud.endpoint !== undefined) return { kind: 'endpoint', endpoint: config.cloud.endpoint };
  if (config.cloud.accessKeyId !== undefined) return { kind: 'real', accountId: config.cloud.accountId };
  return { kind: 'emulator' };
}

function realCloudBanner(accountId: string | undefined): string[] {
  const width = 76;
  const row = (text: string) => `!!  ${text.padEnd(width - 8)}  !!`;
  const edge = '!'.repeat(width);
  return [
    edge,
    row('REAL ALIBABA CLOUD'),
    row('ALIBABA_CLOUD_ACCESS_KEY_ID is set and IMGDEL_CLOUD_ENDPOINT is not:'),
    row('the worker talks to the real cloud. No emulator is started.'),
    row(`Deletions started now DELETE REAL IMAGES in account ${accountId ?? '(IMGDEL_ACCOUNT_ID unset)'}.`),
    row('Unset ALIBABA_CLOUD_ACCESS_KEY_ID to use the local emulator instead.'),
    edge,
  ];
}

/**
 * When npm start kills a worker that has not stopped: after the worker's own forced exit (grace
 * time, one cloud call's timeouts and a margin) and a margin more, so the worker always gets to
 * log which of its limits passed and exit by itself first.
 */
export function workerKillAfterMs(worker: Pick<WorkerTuning, 'shutdownForceTimeMs'>): number {
  return worker.shutdownForceTimeMs + SHUTDOWN_FORCE_MARGIN_MS;
}

/**
 * How npm start itself reaches Temporal to see the worker poll: the server it started, plainly, or
 * the one TEMPORAL_ADDRESS names, with the TLS, API key or profile the worker connects with too.
 */
export function readinessTarget(server: Pick<RunningDevServer, 'address' | 'namespace' | 'external'>, config: Config): TemporalTarget<ConnectionOptions> {
  return server.external ? clientConnectionOptions(config) : { connectionOptions: { address: server.address }, namespace: server.namespace };
}

/** Resolves once a worker polls the task queue; rejects if the worker process dies first. */
async function waitForWorker(
  target: TemporalTarget<ConnectionOptions>,
  taskQueue: string,
  worker: ChildProcess,
  tail: OutputTail,
  workerLog: string,
): Promise<void> {
  const { namespace } = target;
  const connection = await Connection.connect({ ...target.connectionOptions, connectTimeout: 5_000 });
  const startedAt = Date.now();
  const deadline = startedAt + WORKER_READY_TIMEOUT_MS;
  let lastProgressAt = startedAt;
  try {
    for (;;) {
      if (hasExited(worker)) throw new Error(`the worker exited (code ${String(worker.exitCode)}) before it was ready:\n${tail.text()}`);
      if (Date.now() > deadline) throw new Error(`the worker did not poll ${taskQueue} within ${WORKER_READY_TIMEOUT_MS} ms:\n${tail.text()}`);
      const answer = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((answer.pollers ?? []).length > 0) return;
      // The first start bundles the workflows, which takes a while on a cold machine: say so.
      if (Date.now() - lastProgressAt >= WORKER_PROGRESS_EVERY_MS) {
        lastProgressAt = Date.now();
        note(`still waiting for the worker to poll ${taskQueue} (${Math.round((lastProgressAt - startedAt) / 1000)} s; it bundles the workflows at start; its log: ${workerLog})`);
      }
      await sleep(250);
    }
  } finally {
    await connection.close();
  }
}

function workerEnv(server: RunningDevServer, taskQueue: string, mode: CloudMode, emulator: RunningEmulator | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, IMGDEL_TASK_QUEUE: taskQueue };
  if (!server.external) {
    // A profile would point the worker elsewhere than the server started here.
    delete env.TEMPORAL_PROFILE;
    delete env.TEMPORAL_CONFIG_FILE;
  }
  env.IMGDEL_LOG_FORMAT ??= 'pretty';
  if (mode.kind === 'emulator' && emulator !== undefined) {
    Object.assign(env, emulatorCloudEnv(emulator.endpoint));
    delete env.ALIBABA_CLOUD_SECURITY_TOKEN;
  }
  return env;
}

/** What to export so that `npx imgdel …` in another shell finds this stack. */
function exportsFor(server: RunningDevServer, uiUrl: string | undefined, taskQueue: string): string[] {
  const lines: string[] = [];
  if (server.address !== `${HOST}:${DEFAULT_PORTS.temporal}` && server.address !== `localhost:${DEFAULT_PORTS.temporal}`) {
    lines.push(`export TEMPORAL_ADDRESS=${server.address}`);
  }
  if (server.namespace !== 'default') lines.push(`export TEMPORAL_NAMESPACE=${server.namespace}`);
  const port = Number(/:(\d+)$/.exec(server.address)?.[1] ?? DEFAULT_PORTS.temporal);
  if (uiUrl !== undefined && uiUrl !== `http://${HOST}:${port + 1000}`) lines.push(`export TEMPORAL_UI_URL=${uiUrl}`);
  if (taskQueue !== 'image-deletion') lines.push(`export IMGDEL_TASK_QUEUE=${taskQueue}`);
  return lines;
}

async function run(options: StartOptions): Promise<void> {
  const env = process.env;
  const config = loadConfig(env);
  const mode = cloudModeFor(env);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const relativeDataDir = relative(process.cwd(), dataDir);
  const shownDataDir = relativeDataDir === '' ? '.' : relativeDataDir.startsWith('..') ? dataDir : relativeDataDir;
  const logs: WriteStream[] = [];
  const logFile = (name: string): WriteStream => {
    const stream = createWriteStream(join(dataDir, name), { flags: 'a' });
    logs.push(stream);
    return stream;
  };

  if (mode.kind === 'real') {
    for (const line of realCloudBanner(mode.accountId)) say(line);
    say();
  }

  // Names the process groups this npm start runs, so that the next one can stop them if this one
  // is killed without stopping them (they are in groups of their own, out of reach of its death).
  const pidfilePath = join(dataDir, STACK_PIDFILE_NAME);
  const dbFilename = join(dataDir, 'temporal.sqlite');
  // Undefined until claimStack has created the file naming this process (it is then ours to update and remove).
  let stack: StackPidfile | undefined;
  const recordStack = (change: Partial<StackPidfile>): void => {
    if (stack === undefined) return;
    Object.assign(stack, change);
    writeStackPidfile(pidfilePath, stack);
  };

  let server: RunningDevServer | undefined;
  let emulator: RunningEmulator | undefined;
  let worker: ChildProcess | undefined;
  let stopping = false;

  // One stop, however many ask for it: a signal during startup and the startup failing it causes
  // (the worker stopped before it was ready) would otherwise stop every part twice.
  let stoppingAll: Promise<void> | undefined;
  const stopAll = (): Promise<void> => (stoppingAll ??= stopEverything());
  const stopEverything = async (): Promise<void> => {
    if (worker !== undefined && worker.pid !== undefined && !hasExited(worker)) {
      const group = worker.pid;
      const exited = waitForExit(worker);
      signalProcessGroup(group, 'SIGTERM');
      const timer = setTimeout(() => signalProcessGroup(group, 'SIGKILL'), workerKillAfterMs(config.worker));
      await exited;
      clearTimeout(timer);
      // Anything the worker left in its process group goes with it.
      signalProcessGroup(group, 'SIGKILL');
      note('worker stopped');
    }
    if (emulator !== undefined) {
      await emulator.close();
      note('emulator stopped');
    }
    if (server !== undefined) {
      await server.stop();
      if (!server.external) note('Temporal server stopped');
    }
    // Only now is nothing left running that the next npm start would have to stop.
    if (stack !== undefined) removeStackPidfile(pidfilePath, stack);
    await Promise.all(logs.map((stream) => new Promise<void>((done) => stream.end(() => done()))));
  };

  /** Stops the stack and exits: 0 when asked to stop, 1 when a part of it failed. */
  const shutDown = (announcement: string, exitCode: number): void => {
    stopping = true;
    note(announcement);
    stopAll().then(
      () => {
        note('stopped.');
        process.exit(exitCode);
      },
      (error: unknown) => {
        note(`stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };

  const countSignal = signalCounter();
  const onSignal = (signal: NodeJS.Signals): void => {
    // The terminal's Ctrl-C that npm relays a moment later is that Ctrl-C, not a second one.
    if (countSignal() === 'relayed') return;
    if (stopping) {
      // A second Ctrl-C: the worker's own rule for a second signal, exit without waiting for running activities.
      if (worker?.pid !== undefined && !hasExited(worker)) {
        note(`${signal} again: stopping the worker without waiting for its running activities (Temporal retries them)…`);
        signalProcessGroup(worker.pid, 'SIGTERM');
      }
      return;
    }
    shutDown(
      `\n${signal}: stopping the worker (it lets running activities finish, at most ${config.worker.shutdownGraceTimeMs / 1000} s; Ctrl-C again to not wait), the emulator and the Temporal server…`,
      0,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal: the server and the worker, in their own process groups, would not hear it.
  process.on('SIGHUP', onSignal);
  // If this process dies without stopping, do not leave the worker behind.
  process.once('exit', () => {
    if (worker?.pid !== undefined && !hasExited(worker)) signalProcessGroup(worker.pid, 'SIGKILL');
  });
  // (The dev server's own exit hook kills its process group likewise.)

  try {
    // Before any port is probed: a leftover server would hold the default port and the database.
    // Claimed atomically: of two npm starts at once on one data directory, one refuses.
    stack = await claimStack(
      pidfilePath,
      { repoRoot: REPO_ROOT, startEntries: START_ENTRIES, workerEntry: WORKER_ENTRY, dbFilename },
      {
        log: note,
        workerGraceMs: workerKillAfterMs(config.worker),
        serverGraceMs: LEFTOVER_SERVER_GRACE_MS,
        shownPath: join(shownDataDir, STACK_PIDFILE_NAME),
      },
    );
    const [temporalPort, uiPort] = [await portOrFree(options.temporalPort), await portOrFree(options.uiPort)];
    server = await startDevServer({
      port: temporalPort,
      uiPort,
      dbFilename,
      log: (line) => note(`[temporal] ${line}`),
      // Ctrl-C must not reach the server directly: the worker drains first, against a live server.
      ownProcessGroup: true,
      onSpawn: (pid, port) => recordStack({ server: { ...processGroupRecord(pid), port } }),
    });
    const uiUrl = server.uiUrl ?? config.temporal.uiUrl ?? (server.external ? undefined : `http://${HOST}:${uiPort}`);

    if (mode.kind === 'emulator') {
      const emulatorLog = logFile('emulator.log');
      emulator = await startEmulator({
        port: await portOrFree(options.emulatorPort),
        host: HOST,
        statePath: join(dataDir, 'emulator.json'),
        seed: 'demo',
        log: (line) => emulatorLog.write(`${new Date().toISOString()} ${line}\n`),
      });
    }

    const workerLog = logFile('worker.log');
    const tail = new OutputTail(60);
    worker = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
      cwd: REPO_ROOT,
      env: workerEnv(server, config.taskQueue, mode, emulator),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only this process, which stops the worker first.
      detached: true,
    });
    if (worker.pid !== undefined) recordStack({ worker: processGroupRecord(worker.pid) });
    for (const stream of [worker.stdout, worker.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        workerLog.write(chunk);
        tail.push(chunk);
      });
    }
    const runningWorker = worker;
    await waitForWorker(readinessTarget(server, config), config.taskQueue, runningWorker, tail, join(shownDataDir, 'worker.log'));
    runningWorker.once('exit', (code, signal) => {
      if (stopping) return;
      note(`the worker stopped unexpectedly (${signal ?? `code ${String(code)}`}); last output:\n${tail.text()}`);
      shutDown('stopping the emulator and the Temporal server…', 1);
    });

    const exports = exportsFor(server, uiUrl, config.taskQueue);
    say(`Temporal server   ${server.address}  (namespace ${server.namespace}${server.external ? ', from TEMPORAL_ADDRESS' : `, workflows kept in ${join(shownDataDir, 'temporal.sqlite')}`})`);
    if (uiUrl !== undefined) say(`Temporal UI       ${uiUrl}`);
    if (emulator !== undefined) {
      say(`Cloud emulator    ${emulator.url}  (demo images img-demo0001 … img-demo0012, state in ${join(shownDataDir, 'emulator.json')})`);
    } else if (mode.kind === 'endpoint') {
      say(`Cloud endpoint    ${mode.endpoint}  (from IMGDEL_CLOUD_ENDPOINT; no emulator started)`);
    } else {
      say('Cloud             REAL Alibaba Cloud (no emulator)');
    }
    say(`Worker            task queue ${config.taskQueue}, pid ${String(runningWorker.pid)}, log in ${join(shownDataDir, 'worker.log')}`);
    say();
    say('Try, in another terminal:');
    for (const line of exports) say(`  ${line}`);
    if (mode.kind === 'emulator') {
      say('  npx imgdel delete img-demo0001 --wait      # a clean image: templates, then 3 regions');
      say('  npx imgdel delete img-demo0003 --wait      # in use by an app instance group: rejected');
    } else {
      say('  npx imgdel delete <imageId> --dry-run      # validate and print the plan, change nothing');
    }
    say('  npx imgdel list                            # every deletion, by status');
    const startAgain = dataDir === resolve(REPO_ROOT, '.data') ? 'npm start' : `npm start -- --data-dir ${shownDataDir}`;
    if (emulator !== undefined) say(`(start over with fresh demo data: stop, rm -r ${shownDataDir}, ${startAgain})`);
    say();
    say('imgdel is ready. Ctrl-C stops everything.');
  } catch (error) {
    // Asked to stop while starting: that shutdown stops what started and exits 0; what failed
    // here (the worker stopped before it was ready, say) is its consequence, not an error.
    const askedToStop = stopping;
    stopping = true;
    await stopAll().catch(() => undefined);
    if (askedToStop) return;
    throw error;
  }
}

export function startCommand(): Command {
  return new Command('start')
    // It runs as `npm start`, whose options follow `--`; commander would print "start [options]".
    .usage('-- [options]')
    .description('Run the local imgdel stack: Temporal dev server, cloud emulator (demo data) and a worker')
    .addHelpText('after', '\nExample: npm start -- --temporal-port 0 --ui-port 0 --emulator-port 0 --data-dir /tmp/imgdel')
    // Commander has printed the problem; a misspelt option exits 2, as an invalid value does.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .showHelpAfterError('(npm start -- --help lists the options)')
    .option('--temporal-port <port>', 'Temporal gRPC port (busy: any free port; 0: any free port)', String(DEFAULT_PORTS.temporal))
    .option('--ui-port <port>', 'Temporal UI port', String(DEFAULT_PORTS.ui))
    .option('--emulator-port <port>', 'emulator port', String(DEFAULT_PORTS.emulator))
    .option('--data-dir <dir>', 'where workflows, emulator state and logs are kept', join(REPO_ROOT, '.data'))
    .action(async (raw: unknown) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        note(`npm start: invalid options\n${z.prettifyError(parsed.error)}`);
        process.exit(2);
      }
      await run(parsed.data);
    });
}

// Only as the process's entry (`npm start`): importing this module for readinessTarget or
// startCommand must not start a stack in the checkout's .data.
if (isEntryPoint(import.meta.url)) {
  // Unhandled, a write error after SIGHUP would end this process at once, and its exit hooks would
  // SIGKILL the worker and the server instead of stopping them in order.
  ignoreClosedOutput(process.stdout);
  ignoreClosedOutput(process.stderr);
  startCommand()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      note(`npm start: ${message}`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    });
}
