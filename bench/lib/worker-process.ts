/**
 * Runs a worker as a child process (the real worker, or the no-op worker of the benchmark),
 * so its memory and CPU are its own and can be read from /proc. The runner decides how
 * node starts it: compiled JavaScript with the production image's node options, or tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OutputTail, hasExited, stopChild } from '../../src/dev/process.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The line both workers log once they poll their task queue. */
const READY_PATTERN = /worker running/;
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;

export interface WorkerProcessOptions {
  /** Shown in errors. */
  label: string;
  /** node's arguments: options, then the entry script (relative to the repository root), e.g. ['dist/src/worker.js']. */
  nodeArgs: readonly string[];
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** host:port of the emulator. */
  cloudEndpoint: string;
  /** Extra settings (rate limits, worker tuning), as the worker reads them from its environment. */
  env?: Record<string, string>;
}

export interface WorkerProcess {
  label: string;
  pid: number;
  taskQueue: string;
  env: Record<string, string>;
  /** The command line the worker runs, for the report. */
  command: string;
  output(): string;
  /** Log lines at WARN or ERROR so far (activity failures and retries show up here). */
  warnings(): number;
  /** The last few of those lines, shortened. */
  recentWarnings(): string[];
  /**
   * Rejects when the worker exits after it was running without stop() having been called (a
   * crash, an out-of-memory kill): its workflows would then wait for ever, so the runner races
   * its scenarios against this. Never settles otherwise.
   */
  unexpectedExit: Promise<never>;
  stop(): Promise<void>;
}

/** The worker logs JSON lines (IMGDEL_LOG_FORMAT=json, the default). */
const WARNING_LINE = /^.*"level":"(?:WARN|ERROR)".*$/gm;
const KEPT_WARNINGS = 5;

/** A warning line without its task token (long and opaque), shortened. */
function readableWarning(line: string): string {
  try {
    const { taskToken: _taskToken, ...fields } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(fields).slice(0, 600);
  } catch {
    return line.slice(0, 600);
  }
}

/** Only what a worker needs from this process's environment: no inherited TEMPORAL_* or IMGDEL_* settings. */
function baseEnvironment(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  const env: Record<string, string> = {};
  for (const name of keep) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const settings: Record<string, string> = {
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_NAMESPACE: options.namespace,
    IMGDEL_TASK_QUEUE: options.taskQueue,
    IMGDEL_CLOUD_ENDPOINT: options.cloudEndpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
    IMGDEL_ACCOUNT_ID: EMULATOR_DEFAULTS.accountId,
    IMGDEL_LOG_LEVEL: 'INFO',
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, [...options.nodeArgs], {
    cwd: REPO_ROOT,
    env: { ...baseEnvironment(), ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.label}: the worker process did not start`);
  // Never leave a worker behind when the benchmark exits without stopping it.
  const killOnExit = (): void => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    process.removeListener('exit', killOnExit);
    await stopChild(child, STOP_GRACE_MS);
  };
  const tail = new OutputTail(100);
  let ready = false;
  let warnings = 0;
  let recentWarnings: string[] = [];
  const becameReady = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.label}: not running after ${START_TIMEOUT_MS} ms:\n${tail.text()}`)),
      START_TIMEOUT_MS,
    );
    const onOutput = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      tail.push(text);
      const warningLines = text.match(WARNING_LINE) ?? [];
      warnings += warningLines.length;
      if (warningLines.length > 0) recentWarnings = [...recentWarnings, ...warningLines.map(readableWarning)].slice(-KEPT_WARNINGS);
      if (!ready && READY_PATTERN.test(text)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    // Both streams are always drained, so a chatty worker never blocks on a full pipe.
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${options.label}: exited (${String(code ?? signal)}) before running:\n${tail.text()}`));
    });
  });
  try {
    await becameReady;
  } catch (error) {
    await stop();
    throw error;
  }
  const unexpectedExit = new Promise<never>((_resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (!stopping) reject(new Error(`${options.label} worker exited during the run (${String(code ?? signal)}):\n${tail.text()}`));
    };
    if (hasExited(child)) onExit(child.exitCode, child.signalCode);
    else child.once('exit', onExit);
  });
  // Observed by whoever races against it; a rejection nobody awaits is no crash of the runner.
  unexpectedExit.catch(() => undefined);
  return {
    label: options.label,
    pid,
    taskQueue: options.taskQueue,
    env: settings,
    command: ['node', ...options.nodeArgs].join(' '),
    output: () => tail.text(),
    warnings: () => warnings,
    recentWarnings: () => recentWarnings,
    unexpectedExit,
    stop,
  };
}
