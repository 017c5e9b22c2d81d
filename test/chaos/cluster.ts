/**
 * The processes a chaos run starts and breaks: a Temporal dev server with a database
 * file (stopped and started again on the same port), the emulator as a child process
 * with a state file (SIGKILLed and started again on the same port), and worker child
 * processes (SIGKILLed and started again), exactly as they run in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDevServer, type RunningDevServer } from '../../src/dev/dev-server.js';
import { findFreePort, hasExited, OutputTail, waitForExit } from '../../src/dev/process.js';
import { emulatorCloudEnv } from '../../src/emulator/defaults.js';
import type { FaultInput } from '../../src/emulator/faults.js';
import { PROJECT_ROOT, startWorkerProcess, workerEnvironment, type WorkerProcess } from '../worker/worker-process.js';

const HOST = '127.0.0.1';
const EMULATOR_ENTRY = resolve(PROJECT_ROOT, 'src/emulator/main.ts');

export type Log = (line: string) => void;

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: a run that ends without its cleanup (an uncaught error) still leaves no process behind. */
function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const running of children) running.kill('SIGKILL');
  });
}

/** A dev server that can be restarted on the same port with the same database. */
export class RestartableDevServer {
  private server: RunningDevServer | undefined;

  private constructor(
    readonly port: number,
    private readonly dbFilename: string,
    private readonly log: Log,
  ) {}

  static async start(dbFilename: string, log: Log): Promise<RestartableDevServer> {
    const devServer = new RestartableDevServer(await findFreePort(HOST), dbFilename, log);
    await devServer.startProcess();
    return devServer;
  }

  get address(): string {
    return `${HOST}:${this.port}`;
  }

  private async startProcess(): Promise<void> {
    this.server = await startDevServer({
      port: this.port,
      dbFilename: this.dbFilename,
      headless: true,
      ignoreTemporalAddress: true,
      log: (line) => this.log(`dev server: ${line}`),
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startProcess();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }
}

/** The emulator as a child process (`node --import tsx src/emulator/main.ts --port P --state F`). */
export class EmulatorProcess {
  private child: ChildProcess | undefined;
  private readonly output = new OutputTail(200);

  private constructor(
    readonly port: number,
    private readonly statePath: string,
  ) {}

  static async start(statePath: string): Promise<EmulatorProcess> {
    const emulator = new EmulatorProcess(await findFreePort(HOST), statePath);
    await emulator.startProcess();
    return emulator;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  get endpoint(): string {
    return `${HOST}:${this.port}`;
  }

  private async startProcess(faultsPath?: string): Promise<void> {
    const args = ['--import', 'tsx', EMULATOR_ENTRY, '--host', HOST, '--port', String(this.port), '--state', this.statePath];
    if (faultsPath !== undefined) args.push('--faults', faultsPath);
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env: workerEnvironment({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    this.child = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (hasExited(child)) throw new Error(`the emulator exited at start:\n${this.output.text()}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`the emulator did not answer within 60 s:\n${this.output.text()}`);
      }
      try {
        const response = await fetch(`${this.url}/_emulator/health`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  }

  /**
   * SIGKILL (no chance to flush anything), then the same command again, with `faults` in force
   * from its first answer on (none answers before they are).
   */
  async killAndRestart(faults: readonly FaultInput[] = []): Promise<void> {
    await this.kill();
    const faultsPath = `${this.statePath}.faults.json`;
    await writeFile(faultsPath, JSON.stringify(faults));
    await this.startProcess(faultsPath);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || hasExited(child)) return;
    child.kill('SIGKILL');
    await waitForExit(child);
  }

  lastOutput(): string {
    return this.output.text();
  }
}

export interface WorkerSettings {
  temporalAddress: string;
  taskQueue: string;
  cloudEndpoint: string;
  /** A prebuilt workflow bundle (IMGDEL_WORKFLOW_BUNDLE). */
  workflowBundle: string;
  log: Log;
}

interface WorkerSlot {
  process: WorkerProcess;
  /** Set just before the run kills it on purpose. */
  killedOnPurpose: boolean;
}

/** Worker child processes (`node --import tsx src/worker.ts`), each in a numbered slot. */
export class WorkerPool {
  private readonly slots: WorkerSlot[] = [];
  /** Exits nobody asked for: each is a failure of the run. */
  readonly unexpectedExits: string[] = [];
  /** Output of every process that has ended, for the failure report. */
  private readonly pastOutput: string[] = [];
  kills = 0;
  restarts = 0;

  constructor(private readonly settings: WorkerSettings) {}

  get size(): number {
    return this.slots.length;
  }

  private env(): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.settings.temporalAddress,
      IMGDEL_TASK_QUEUE: this.settings.taskQueue,
      ...emulatorCloudEnv(this.settings.cloudEndpoint),
      IMGDEL_CLOUD_RATE: '200',
      IMGDEL_WORKFLOW_BUNDLE: this.settings.workflowBundle,
      IMGDEL_LOG_LEVEL: 'INFO',
    };
  }

  /** Starts a worker in slot `index` and waits until it polls. */
  async startSlot(index: number): Promise<void> {
    const worker = startWorkerProcess(this.env());
    killOnExit(worker.child);
    const slot: WorkerSlot = { process: worker, killedOnPurpose: false };
    this.slots[index] = slot;
    void worker.exited.then((code) => {
      this.pastOutput.push(`--- worker ${index} (exit ${code}) ---\n${worker.output()}`);
      if (!slot.killedOnPurpose) {
        this.unexpectedExits.push(`worker ${index} exited by itself with ${code}: ${lastLines(worker.output(), 5)}`);
        this.settings.log(`worker ${index} exited by itself (${code}); starting it again`);
        if (this.slots[index] === slot) void this.startSlot(index).catch((error: unknown) => this.settings.log(String(error)));
      }
    });
    await waitUntilPolling(worker);
  }

  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, index) => this.startSlot(index)));
  }

  /** SIGKILL the worker in `index`, wait `downMs`, start it again. */
  async killAndRestart(index: number, downMs: number): Promise<void> {
    const slot = this.slots[index];
    if (slot === undefined) throw new Error(`no worker in slot ${index}`);
    slot.killedOnPurpose = true;
    await slot.process.kill();
    this.kills += 1;
    await sleep(downMs);
    await this.startSlot(index);
    this.restarts += 1;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.killedOnPurpose = true;
        await slot.process.kill();
      }),
    );
  }

  /** Everything the workers printed (ended ones first). */
  output(): string {
    return [...this.pastOutput, ...this.slots.map((slot, index) => `--- worker ${index} (running) ---\n${slot.process.output()}`)].join('\n');
  }
}

/** Waits until the worker has connected and runs (it logs that once the workflow bundle is built). */
async function waitUntilPolling(worker: WorkerProcess): Promise<void> {
  await worker.waitForLog((line) => line.message === 'imgdel worker running', 120_000);
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
