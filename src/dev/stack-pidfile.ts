/**
 * The pidfile `npm start` keeps in its data directory. The Temporal server and the worker run in
 * process groups of their own (so Ctrl-C reaches only npm start, which stops them in order); when
 * npm start itself is killed outright (SIGKILL, OOM), nothing stops them. The next npm start reads
 * this file and stops what the dead one left running, so that two servers never open the same
 * SQLite database and no stale worker polls the task queue.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { sleep } from './process.js';

export const STACK_PIDFILE_NAME = 'npm-start.pid';

const groupSchema = z.object({ processGroup: z.number().int().positive() });
const stackPidfileSchema = z.object({
  /** The npm start process that wrote the file. */
  owner: z.number().int().positive(),
  server: groupSchema.extend({ port: z.number().int().min(1).max(65535) }).optional(),
  worker: groupSchema.optional(),
});
export type StackPidfile = z.infer<typeof stackPidfileSchema>;

/** The recorded stack, or undefined when there is no file or it cannot be read as one. */
export function readStackPidfile(path: string): StackPidfile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = stackPidfileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed: a reader never sees half a file. */
export function writeStackPidfile(path: string, content: StackPidfile): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content)}\n`);
  renameSync(temporary, path);
}

export function removeStackPidfile(path: string): void {
  rmSync(path, { force: true });
}

/** The command line of `pid` (/proc, else ps), or undefined when it cannot be read (or it is gone). */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // No /proc (macOS) or no such process: ask ps.
  }
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' });
  if (ps.error !== undefined || ps.status !== 0) return undefined;
  const line = ps.stdout.trim();
  return line === '' ? undefined : line;
}

function groupIsAlive(processGroup: number): boolean {
  try {
    process.kill(-processGroup, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but is not ours to signal.
    return isPermissionError(error);
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isPermissionError(error);
  }
}

function isPermissionError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'EPERM';
}

async function waitForGroupGone(processGroup: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupIsAlive(processGroup)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** SIGTERM to the group, SIGKILL after `graceMs`; throws when it still runs after that. */
async function stopGroup(processGroup: number, graceMs: number, what: string): Promise<'terminated' | 'killed'> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-processGroup, name);
    } catch {
      // Gone, or not ours: the wait below tells.
    }
  };
  signal('SIGTERM');
  if (await waitForGroupGone(processGroup, graceMs)) return 'terminated';
  signal('SIGKILL');
  if (await waitForGroupGone(processGroup, 5_000)) return 'killed';
  throw new Error(`could not stop ${what} (process group ${processGroup}) left running by an earlier npm start; stop it by hand`);
}

export interface LeftoverStopOptions {
  log: (line: string) => void;
  /** How long the worker may drain after SIGTERM. */
  workerGraceMs: number;
  serverGraceMs: number;
  /** Where the pidfile is shown in messages. */
  shownPath: string;
}

/**
 * Stops the worker and the Temporal server the pidfile names, worker first (as npm start stops
 * them), when the npm start that wrote it is gone and each process is still what it was (its
 * command line says so: a reused pid is left alone). Refuses, by throwing, when that npm start is
 * still running: two stacks must not share one data directory.
 */
export async function stopLeftoverStack(path: string, options: LeftoverStopOptions): Promise<void> {
  const recorded = readStackPidfile(path);
  if (recorded === undefined) return;
  if (recorded.owner !== process.pid && processIsAlive(recorded.owner) && isNpmStart(commandLineOf(recorded.owner))) {
    throw new Error(
      `another npm start (pid ${recorded.owner}) is running on this data directory (${options.shownPath}); stop it first, or pass --data-dir <another directory>`,
    );
  }
  const leftovers = [
    ...(recorded.worker === undefined ? [] : [{ group: recorded.worker.processGroup, what: 'the worker', graceMs: options.workerGraceMs, looksRight: isWorker }]),
    ...(recorded.server === undefined
      ? []
      : [{ group: recorded.server.processGroup, what: `the Temporal dev server (port ${recorded.server.port})`, graceMs: options.serverGraceMs, looksRight: isDevServer }]),
  ];
  for (const leftover of leftovers) {
    if (!groupIsAlive(leftover.group)) continue;
    const commandLine = commandLineOf(leftover.group);
    if (commandLine === undefined) {
      options.log(`process group ${leftover.group} from ${options.shownPath} still runs, but its command cannot be read; not stopping it`);
      continue;
    }
    if (!leftover.looksRight(commandLine)) continue; // the pid was reused by something else
    options.log(`stopping ${leftover.what}, pid ${leftover.group}, left running by an earlier npm start that did not stop it`);
    const how = await stopGroup(leftover.group, leftover.graceMs, leftover.what);
    options.log(`stopped ${leftover.what} left running (pid ${leftover.group}${how === 'killed' ? ', killed after the grace period' : ''})`);
  }
  removeStackPidfile(path);
}

function isNpmStart(commandLine: string | undefined): boolean {
  // Unreadable: assume it is, rather than run two stacks on one database.
  return commandLine === undefined || /\bstart\.(ts|js)\b/.test(commandLine);
}

function isDevServer(commandLine: string): boolean {
  return /\bserver start-dev\b/.test(commandLine);
}

function isWorker(commandLine: string): boolean {
  return /\bworker\.(ts|js)\b/.test(commandLine);
}
