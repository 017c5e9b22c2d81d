/**
 * `npm start` on a fresh data directory: comes up on free ports (no TEMPORAL_ADDRESS),
 * says it is ready, serves a real deletion through the `imgdel` executable, and stops
 * cleanly on Ctrl-C (SIGINT to its process group), leaving no process behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../src/dev/process.js';
import { EmulatorAdmin } from '../src/emulator/admin-client.js';
import { SAME_SIGNAL_WINDOW_MS } from '../src/signal-counter.js';
import { processCommandLines, type ProcessCommandLine } from './helpers/processes.js';
import { testTemporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const START = join(REPO_ROOT, 'src', 'dev', 'start.ts');
const BIN = join(REPO_ROOT, 'bin', 'imgdel.mjs');

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(IMGDEL_|TEMPORAL_|ALIBABA_CLOUD_)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runBin(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'imgdel-start-'));
const groups: number[] = [];
/** The Temporal servers npm start ran in their own process groups. */
const serverGroups: number[] = [];

afterAll(() => {
  // Only if a test failed half-way: never leave a stack running.
  for (const group of [...groups, ...serverGroups]) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  for (const dir of [dataDir, ...otherDataDirs]) rmSync(dir, { recursive: true, force: true });
});

const otherDataDirs: string[] = [];
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'imgdel-start-'));
  otherDataDirs.push(dir);
  return dir;
}

/** Processes whose command line names `text` (Linux /proc; undefined elsewhere). */
function processesNaming(text: string): number[] | undefined {
  let processes: ProcessCommandLine[];
  try {
    processes = processCommandLines();
  } catch {
    return undefined;
  }
  return processes.filter(({ args }) => args.includes(text)).map(({ pid }) => pid);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

interface RunningStart {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  ready: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Closes our ends of its stdout and stderr, as a terminal that went away. */
  closeOutput: () => void;
}

/** Spawns the start script in its own process group (like a terminal job) and waits for `imgdel is ready`. */
async function spawnStart(args: string[], env: NodeJS.ProcessEnv): Promise<RunningStart> {
  const launched = launchStart(args, env);
  return { ...launched, ready: await launched.whenReady };
}

/** Spawns the start script in its own process group; `whenReady` says whether it got to `imgdel is ready`. */
function launchStart(args: string[], env: NodeJS.ProcessEnv): Omit<RunningStart, 'ready'> & { whenReady: Promise<boolean> } {
  const child = spawn(process.execPath, ['--import', 'tsx', START, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid ?? 0;
  groups.push(pid);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const whenReady = new Promise<boolean>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (/^imgdel is ready/m.test(stdout)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  const closeOutput = (): void => {
    child.stdout.destroy();
    child.stderr.destroy();
  };
  return { pid, stdout: () => stdout, stderr: () => stderr, whenReady, exited, closeOutput };
}

/** Ctrl-C: SIGINT to the whole group; resolves with how the start script ended. */
async function interrupt(run: RunningStart): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  process.kill(-run.pid, 'SIGINT');
  return run.exited;
}

function workerPidOf(stdout: string): number {
  return Number(/pid (\d+)/.exec(stdout)?.[1]);
}

function serverPidOf(stderr: string): number {
  return Number(/temporal dev server answering on \S+ after \d+ ms \(pid (\d+)\)/.exec(stderr)?.[1]);
}

async function freeArgs(dir: string): Promise<string[]> {
  const [temporalPort, uiPort, emulatorPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
  return ['--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--emulator-port', String(emulatorPort), '--data-dir', dir];
}

describe('npm start', () => {
  it('refuses a misspelt option with exit 2, pointing at its help, and starts nothing', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', START, '--temporal-prot', '0'], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    // 'close': after the last of its output, which 'exit' may precede.
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(2);
    expect(output).toContain("unknown option '--temporal-prot'");
    expect(output).toContain('npm start -- --help');
    expect(output).not.toContain('imgdel is ready');
  });

  it('comes up, deletes img-demo0001 through the imgdel executable, stops cleanly on Ctrl-C, and keeps the workflows', async () => {
    const [temporalPort, uiPort, emulatorPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
    const args = ['--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--emulator-port', String(emulatorPort), '--data-dir', dataDir];
    const first = await spawnStart(args, cleanEnv());
    expect(first.ready, `npm start did not get ready:\n${first.stdout()}\n${first.stderr()}`).toBe(true);
    const stdout = first.stdout();
    expect(stdout).toContain(`Temporal server   127.0.0.1:${temporalPort}`);
    expect(stdout).toContain(`Temporal UI       http://127.0.0.1:${uiPort}`);
    expect(stdout).toContain(`Cloud emulator    http://127.0.0.1:${emulatorPort}`);
    expect(stdout).toContain('task queue image-deletion');
    expect(stdout).toContain(`export TEMPORAL_ADDRESS=127.0.0.1:${temporalPort}`);
    expect(stdout).toContain('npx imgdel delete img-demo0001 --wait');
    expect(stdout).not.toContain('REAL ALIBABA CLOUD');
    // The data dir is not the default one: starting over must name it.
    expect(stdout).toMatch(/start over with fresh demo data: stop, rm -r \S+, npm start -- --data-dir \S+\)/);
    const workerPid = workerPidOf(stdout);
    expect(isAlive(workerPid)).toBe(true);

    const userEnv = { ...cleanEnv(), TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}` };
    const deletion = await runBin(['delete', 'img-demo0001', '--wait'], userEnv);
    expect(deletion.code, deletion.stdout + deletion.stderr).toBe(0);
    expect(deletion.stdout).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/delete-image-img-demo0001`);
    expect(deletion.stdout).toContain('DELETED in every region');

    const serverPid = serverPidOf(first.stderr());
    serverGroups.push(serverPid);
    expect(isAlive(serverPid)).toBe(true);
    const ending = await interrupt(first);
    expect(ending, first.stderr()).toEqual({ code: 0, signal: null });
    const stopLog = first.stderr();
    expect(stopLog).toContain('stopped.');
    // Worker, then emulator, then server; Ctrl-C did not reach the server while the worker drained.
    const order = ['worker stopped', 'emulator stopped', 'Temporal server stopped'].map((line) => stopLog.indexOf(line));
    expect(order.every((position) => position >= 0), stopLog).toBe(true);
    expect(order, stopLog).toEqual([...order].sort((a, b) => a - b));
    expect(stopLog).not.toContain('had already stopped');
    expect(isAlive(workerPid)).toBe(false);
    expect(() => process.kill(-serverPid, 0)).toThrow();
    // Nothing is left in its process group (the Temporal server) or in the worker's.
    expect(() => process.kill(-first.pid, 0)).toThrow();
    expect(() => process.kill(-workerPid, 0)).toThrow();
    expect(existsSync(join(dataDir, 'temporal.sqlite'))).toBe(true);
    expect(existsSync(join(dataDir, 'emulator.json'))).toBe(true);
    // A clean stop leaves nothing for the next npm start to stop.
    expect(existsSync(join(dataDir, 'npm-start.pid'))).toBe(false);

    // Started again on the same data: the finished deletion is still there.
    const second = await spawnStart(args, cleanEnv());
    expect(second.ready, second.stderr()).toBe(true);
    const status = await runBin(['status', 'img-demo0001', '--json'], userEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ imageId: 'img-demo0001', status: 'deleted' });

    // Ctrl-C while an activity runs: the worker drains it (every cloud call takes 4 s) against a
    // server that is still up, and only then is the server stopped.
    const emulatorAdmin = new EmulatorAdmin(`http://127.0.0.1:${emulatorPort}`);
    await emulatorAdmin.addFault({ action: '*', latencyMs: 4_000, times: -1 });
    const inFlight = await runBin(['delete', 'img-demo0002'], userEnv);
    expect(inFlight.code, inFlight.stderr).toBe(0);
    // Once a cloud call has reached the emulator (and waits there), an activity is running.
    while (!(await emulatorAdmin.faults()).some((fault) => fault.fired > 0)) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await interrupt(second)).toEqual({ code: 0, signal: null });
    const secondStopLog = second.stderr();
    expect(secondStopLog).not.toContain('had already stopped');
    expect(secondStopLog.indexOf('worker stopped')).toBeGreaterThanOrEqual(0);
    expect(secondStopLog.indexOf('worker stopped')).toBeLessThan(secondStopLog.indexOf('Temporal server stopped'));
    // The worker was let drain, not killed: its last graceful stop completed.
    const workerLog = readFileSync(join(dataDir, 'worker.log'), 'utf8');
    const lastStop = workerLog.lastIndexOf('shutting down gracefully');
    expect(lastStop).toBeGreaterThanOrEqual(0);
    expect(workerLog.indexOf('shutdown complete', lastStop)).toBeGreaterThan(lastStop);
  });

  it('on a second Ctrl-C stops the worker without waiting for its running activities', async () => {
    const dir = freshDataDir();
    const args = await freeArgs(dir);
    const run = await spawnStart(args, cleanEnv());
    expect(run.ready, run.stderr()).toBe(true);
    const [, temporalPort, , , , emulatorPort] = args;
    const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
    // Every cloud call takes a minute, longer than the worker's grace time (10 s).
    const emulatorAdmin = new EmulatorAdmin(emulatorUrl);
    await emulatorAdmin.addFault({ action: '*', latencyMs: 60_000, times: -1 });
    const started = await runBin(['delete', 'img-demo0002'], { ...cleanEnv(), TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` });
    expect(started.code, started.stderr).toBe(0);
    const callOnTheWire = async () => (await emulatorAdmin.faults()).some((fault) => fault.fired > 0);
    while (!(await callOnTheWire())) await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(-run.pid, 'SIGINT');
    expect(await waitUntil(() => run.stderr().includes('Ctrl-C again to not wait'), 10_000), run.stderr()).toBe(true);
    // A second press, not the first one relayed: later than the window that tells them apart.
    await new Promise((resolve) => setTimeout(resolve, 2 * SAME_SIGNAL_WINDOW_MS));
    process.kill(-run.pid, 'SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(run.stderr()).toContain('SIGINT again: stopping the worker without waiting for its running activities');
    const workerLog = readFileSync(join(dir, 'worker.log'), 'utf8');
    expect(workerLog).toContain('received SIGTERM again: exiting now');
    expect(workerLog.lastIndexOf('shutdown complete')).toBeLessThan(workerLog.lastIndexOf('shutting down gracefully'));
  });

  it('takes the Ctrl-C npm relays a moment after the terminal\'s for that one Ctrl-C: the worker drains', async () => {
    const dir = freshDataDir();
    const run = await spawnStart(await freeArgs(dir), cleanEnv());
    expect(run.ready, run.stderr()).toBe(true);
    // The terminal sends SIGINT to the whole foreground group; npm, which ran the script, sends
    // its own child the same signal a moment later.
    process.kill(-run.pid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(run.pid, 'SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(run.stderr()).not.toContain('SIGINT again');
    const workerLog = readFileSync(join(dir, 'worker.log'), 'utf8');
    expect(workerLog).not.toContain('received SIGTERM again: exiting now');
    const lastStop = workerLog.lastIndexOf('shutting down gracefully');
    expect(lastStop).toBeGreaterThanOrEqual(0);
    expect(workerLog.indexOf('shutdown complete', lastStop)).toBeGreaterThan(lastStop);
  });

  it('on a Ctrl-C while the worker is still starting, stops what started once and exits 0', async () => {
    const dir = freshDataDir();
    const run = launchStart(await freeArgs(dir), cleanEnv());
    // The worker is spawned (the pidfile names it) but takes seconds to bundle its workflows and poll.
    const pidfile = join(dir, 'npm-start.pid');
    const workerSpawned = (): boolean => existsSync(pidfile) && readFileSync(pidfile, 'utf8').includes('"worker"');
    expect(await waitUntil(workerSpawned, 60_000), run.stderr()).toBe(true);
    process.kill(-run.pid, 'SIGINT');
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(await run.whenReady).toBe(false);
    expect(run.stderr()).not.toContain('before it was ready');
    for (const stopped of ['worker stopped', 'emulator stopped', 'Temporal server stopped', 'stopped.']) {
      expect(run.stderr().split('\n').filter((line) => line === stopped), run.stderr()).toHaveLength(1);
    }
    expect(existsSync(pidfile)).toBe(false);
  });

  it('stops the rest and exits 1 when the worker dies, saying so (not as if asked to stop)', async () => {
    const dir = freshDataDir();
    const run = await spawnStart(await freeArgs(dir), cleanEnv());
    expect(run.ready, run.stderr()).toBe(true);
    const serverPid = serverPidOf(run.stderr());
    process.kill(-workerPidOf(run.stdout()), 'SIGKILL');
    expect(await run.exited, run.stderr()).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('the worker stopped unexpectedly (SIGKILL)');
    expect(run.stderr()).toContain('stopping the emulator and the Temporal server');
    expect(run.stderr()).not.toContain('SIGTERM: stopping');
    expect(() => process.kill(-serverPid, 0)).toThrow();
    expect(existsSync(join(dir, 'npm-start.pid'))).toBe(false);
  });

  it('says LOUDLY that it talks to the real cloud when real credentials are configured, and starts no emulator', async () => {
    const env = {
      ...cleanEnv(),
      // The shared test server stands in for the user's; nothing is deleted (no workflow is started).
      TEMPORAL_ADDRESS: testTemporalAddress(),
      IMGDEL_TASK_QUEUE: uniqueTaskQueue('start-real'),
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIrealLookingKeyForTest',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-a-real-secret',
      IMGDEL_ACCOUNT_ID: '1111222233334444',
    };
    const run = await spawnStart(['--data-dir', dataDir], env);
    expect(run.ready, run.stderr()).toBe(true);
    const stdout = run.stdout();
    expect(stdout).toMatch(/^!{20,}$/m);
    expect(stdout).toContain('REAL ALIBABA CLOUD');
    expect(stdout).toContain('DELETE REAL IMAGES in account 1111222233334444');
    expect(stdout).not.toContain('Cloud emulator');
    expect(stdout).not.toContain('not-a-real-secret');
    expect(stdout).toContain('npx imgdel delete <imageId> --dry-run');
    expect(await interrupt(run)).toEqual({ code: 0, signal: null });
  });

  it('stops the server and the worker a killed npm start left running, so one server only opens the database', async () => {
    const dir = freshDataDir();
    const args = await freeArgs(dir);
    const first = await spawnStart(args, cleanEnv());
    expect(first.ready, first.stderr()).toBe(true);
    const serverPid = serverPidOf(first.stderr());
    const workerPid = workerPidOf(first.stdout());
    serverGroups.push(serverPid, workerPid);

    // Killed outright: no signal handler, no exit hook; the server and the worker, in process
    // groups of their own, keep running.
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    expect(isAlive(serverPid)).toBe(true);
    expect(isAlive(workerPid)).toBe(true);
    expect(existsSync(join(dir, 'npm-start.pid'))).toBe(true);

    const second = await spawnStart(args, cleanEnv());
    expect(second.ready, second.stderr()).toBe(true);
    const log = second.stderr();
    expect(log).toContain(`stopping the worker, pid ${workerPid}, left running by an earlier npm start`);
    expect(log).toMatch(new RegExp(`stopping the Temporal dev server \\(port \\d+\\), pid ${serverPid}, left running`));
    expect(log.indexOf('stopping the worker')).toBeLessThan(log.indexOf('stopping the Temporal dev server'));
    expect(() => process.kill(-serverPid, 0)).toThrow();
    expect(() => process.kill(-workerPid, 0)).toThrow();
    serverGroups.push(serverPidOf(log), workerPidOf(second.stdout()));
    const users = processesNaming(join(dir, 'temporal.sqlite'));
    if (users !== undefined) expect(users).toEqual([serverPidOf(log)]);

    // While it runs, a third npm start on the same data directory refuses and touches nothing.
    const third = await spawnStart(args, cleanEnv());
    expect(third.ready).toBe(false);
    expect(await third.exited).toEqual({ code: 1, signal: null });
    expect(third.stderr()).toContain(`another npm start (pid ${second.pid}) is running on this data directory`);
    expect(isAlive(serverPidOf(log))).toBe(true);

    expect(await interrupt(second)).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dir, 'npm-start.pid'))).toBe(false);
  });

  it('stops in order on SIGHUP when its terminal is gone (writes fail)', async () => {
    const dir = freshDataDir();
    const run = await spawnStart(await freeArgs(dir), cleanEnv());
    expect(run.ready, run.stderr()).toBe(true);
    const serverPid = serverPidOf(run.stderr());
    const workerPid = workerPidOf(run.stdout());
    serverGroups.push(serverPid, workerPid);
    run.closeOutput();
    process.kill(run.pid, 'SIGHUP');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    // The worker was asked to stop and drained (not SIGKILLed by an exit hook).
    expect(readFileSync(join(dir, 'worker.log'), 'utf8')).toContain('shutdown complete');
    expect(await waitUntil(() => !isAlive(serverPid) && !isAlive(workerPid), 5_000)).toBe(true);
    expect(existsSync(join(dir, 'npm-start.pid'))).toBe(false);
  });
});
