/**
 * The pidfile `npm start` keeps in its data directory. The Temporal server and the worker run in
 * process groups of their own (so Ctrl-C reaches only npm start, which stops them in order); when
 * npm start itself is killed outright (SIGKILL, OOM), nothing stops them. The next npm start reads
 * this file and stops what the dead one left running, so that two servers never open the same
 * SQLite database and no stale worker polls the task queue. The file is also the data directory's
 * lock: created atomically (claimStack), so of two npm starts at once only one runs.
 */
import { spawnSync } from 'node:child_process';
import { linkSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { signalProcessGroup, sleep } from './process.js';
import { nodeErrorCode } from '../node-error.js';

export const STACK_PIDFILE_NAME = 'npm-start.pid';

/** Start times (Linux: /proc/<pid>/stat field 22) tell a process from a later one that reuses its pid. */
const groupSchema = z.object({ processGroup: z.number().int().positive(), startTime: z.string().optional() });
const stackPidfileSchema = z.object({
  /** The npm start process that wrote the file. */
  owner: z.number().int().positive(),
  ownerStart: z.string().optional(),
  server: groupSchema.extend({ port: z.number().int().min(1).max(65535) }).optional(),
  worker: groupSchema.optional(),
});
export type StackPidfile = z.infer<typeof stackPidfileSchema>;

/** What the processes of this checkout's stack look like, to tell them from anything else. */
export interface StackIdentity {
  repoRoot: string;
  /** Absolute paths of npm start's entry (src/dev/start.ts, and the compiled one). */
  startEntries: readonly string[];
  /** Absolute path of the worker's entry, as npm start runs it. */
  workerEntry: string;
  /** The database the Temporal dev server is started with (`--db-filename`). */
  dbFilename: string;
}

function parseStackPidfile(text: string): StackPidfile | undefined {
  try {
    const parsed = stackPidfileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The recorded stack, or undefined when there is no file or it cannot be read as one. */
export function readStackPidfile(path: string): StackPidfile | undefined {
  const text = readText(path);
  return text === undefined ? undefined : parseStackPidfile(text);
}

/** A process group the stack runs (its leader's pid), as the pidfile records it, with the leader's start time. */
export function processGroupRecord(leaderPid: number): z.infer<typeof groupSchema> {
  const startTime = processStartTime(leaderPid);
  return { processGroup: leaderPid, ...(startTime === undefined ? {} : { startTime }) };
}

/** This process, as a new pidfile names it. */
export function ownStackRecord(): StackPidfile {
  const ownerStart = processStartTime(process.pid);
  return { owner: process.pid, ...(ownerStart === undefined ? {} : { ownerStart }) };
}

function namesOwner(recorded: StackPidfile | undefined, owner: StackPidfile): boolean {
  return recorded !== undefined && recorded.owner === owner.owner && recorded.ownerStart === owner.ownerStart;
}

/**
 * Updates our own pidfile: written to a temporary file and renamed, so a reader never sees half a
 * file. Throws when the file no longer names this process (another npm start took it over).
 */
export function writeStackPidfile(path: string, content: StackPidfile): void {
  if (!namesOwner(readStackPidfile(path), content)) {
    throw new Error(`${path} no longer names this npm start (pid ${content.owner}): another npm start claimed this data directory`);
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content)}\n`);
  renameSync(temporary, path);
}

/** Removes the pidfile only while it still names `owner`: never another npm start's. */
export function removeStackPidfile(path: string, owner: StackPidfile): void {
  if (namesOwner(readStackPidfile(path), owner)) rmSync(path, { force: true });
}

type LinkFunction = (existingPath: string, newPath: string) => void;

/** What link(2) fails with where the filesystem has no hard links (VirtualBox shared folders, exFAT). */
const NO_HARD_LINKS: ReadonlySet<string | undefined> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Makes `path` hold what `source` holds, only if `path` does not exist (false if it does): a hard
 * link, atomic with its content. Without hard links, an exclusive create and write instead, which
 * a reader may briefly see empty or partial (claimStack re-reads before judging such a file).
 */
function placeExclusive(source: string, path: string, link: LinkFunction): boolean {
  try {
    link(source, path);
    return true;
  } catch (error) {
    if (nodeErrorCode(error) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(nodeErrorCode(error))) throw error;
  }
  try {
    writeFileSync(path, readFileSync(source), { flag: 'wx' });
    return true;
  } catch (error) {
    if (nodeErrorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Creates `path` holding `content` only if it does not exist: written aside, then hard-linked
 * (atomic, EEXIST if taken). `link` is replaceable for tests of filesystems without hard links.
 */
export function createExclusive(path: string, content: StackPidfile, link: LinkFunction = linkSync): boolean {
  const temporary = `${path}.${process.pid}.new`;
  writeFileSync(temporary, `${JSON.stringify(content)}\n`);
  try {
    return placeExclusive(temporary, path, link);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Moves aside a pidfile judged stale, but only the one judged: if another npm start replaced it
 * in between (its content differs), that one is put back.
 */
function takeOverStale(path: string, judged: string): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (nodeErrorCode(error) === 'ENOENT') return; // another npm start took it first: the next attempt sees its claim
    throw error;
  }
  try {
    if (readText(aside) !== judged) {
      try {
        placeExclusive(aside, path, linkSync);
      } catch {
        // Yet another claim took the place; the next attempt refuses or retries on it.
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

const CLAIM_ATTEMPTS = 5;
/** Without hard links a claim's file is created before it is written: how long it may look empty or partial. */
const PARTIAL_REREADS = 4;
const PARTIAL_REREAD_MS = 50;

/** The pidfile's text, re-read for a while when it does not parse (it may be being written). */
async function readSettled(path: string): Promise<string | undefined> {
  let text = readText(path);
  for (let reread = 0; text !== undefined && parseStackPidfile(text) === undefined && reread < PARTIAL_REREADS; reread++) {
    await sleep(PARTIAL_REREAD_MS);
    text = readText(path);
  }
  return text;
}

/**
 * Claims the data directory for this npm start: creates the pidfile atomically, naming this
 * process. A pidfile of a running npm start of this checkout refuses (throws); a stale one has
 * what it names stopped (when positively identified) and is taken over.
 */
export async function claimStack(path: string, identity: StackIdentity, options: LeftoverStopOptions): Promise<StackPidfile> {
  const mine = ownStackRecord();
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    if (createExclusive(path, mine)) return mine;
    const text = await readSettled(path);
    if (text === undefined) continue; // removed in between: try again
    const recorded = parseStackPidfile(text);
    if (recorded !== undefined && ownerIsRunning(recorded, identity)) {
      throw new Error(
        `another npm start (pid ${recorded.owner}) is running on this data directory (${options.shownPath}); stop it first, or pass --data-dir <another directory>`,
      );
    }
    if (recorded !== undefined) await stopLeftovers(recorded, identity, options);
    takeOverStale(path, text);
  }
  throw new Error(`could not claim ${options.shownPath}: other npm starts keep claiming this data directory`);
}

/** The arguments of `pid` (/proc; else ps, split at spaces), or undefined when they cannot be read (or it is gone). */
export function commandArgs(pid: number): string[] | undefined {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (cmdline !== undefined) {
    const args = cmdline.split('\0').filter((arg) => arg !== '');
    return args.length === 0 ? undefined : args;
  }
  // No /proc (macOS) or no such process: ask ps.
  const ps = spawnSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' });
  if (ps.error !== undefined || ps.status !== 0) return undefined;
  const line = ps.stdout.trim();
  return line === '' ? undefined : line.split(/\s+/);
}

/**
 * Whether a process group has a member that runs. kill(-group, 0) also succeeds when all its
 * members are zombies (a container whose PID 1 never reaps): where /proc lists its members, a
 * group of zombies only is gone.
 */
export function groupIsAlive(processGroup: number): boolean {
  try {
    process.kill(-processGroup, 0);
  } catch (error) {
    // EPERM: it exists, but is not ours to signal.
    if (!isPermissionError(error)) return false;
  }
  const states = groupMemberStates(processGroup);
  // No member seen (no /proc, or hidden from us): trust kill.
  return states === undefined || states.length === 0 || states.some((state) => !isDeadState(state));
}

/** The states of the processes in `processGroup` (/proc/<pid>/stat field 5), or undefined without /proc. */
function groupMemberStates(processGroup: number): string[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const states: string[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined && fields[5 - 3] === String(processGroup) && fields[0] !== undefined) states.push(fields[0]);
  }
  return states;
}

/** Whether `pid` runs: kill(pid, 0) succeeds on a zombie too, so /proc's state Z or X (where known) is dead. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (!isPermissionError(error)) return false;
  }
  const state = statFields(pid)?.[0];
  return state === undefined || !isDeadState(state);
}

/** The state in a /proc/<pid>/stat line (the field after the parenthesised command name), or undefined. */
export function statState(stat: string): string | undefined {
  return statFieldsOf(stat)?.[0] || undefined;
}

/** Z (zombie) and X (dead): exited, only not yet reaped by its parent. */
function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X';
}

function isPermissionError(error: unknown): boolean {
  return nodeErrorCode(error) === 'EPERM';
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
  // A signal that cannot be sent (gone, or not ours) is ignored: the wait below tells.
  signalProcessGroup(processGroup, 'SIGTERM');
  if (await waitForGroupGone(processGroup, graceMs)) return 'terminated';
  signalProcessGroup(processGroup, 'SIGKILL');
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
 * Stops the worker and the Temporal server a stale pidfile names, worker first (as npm start stops
 * them). Only a group whose leader is positively ours is stopped: same start time as recorded
 * (where known) and the command line of this checkout's worker, or of a dev server on this data
 * directory's database. Anything else (a reused pid, a group whose leader is gone) is left alone.
 */
async function stopLeftovers(recorded: StackPidfile, identity: StackIdentity, options: LeftoverStopOptions): Promise<void> {
  const leftovers = [
    ...(recorded.worker === undefined
      ? []
      : [{ recorded: recorded.worker, what: 'the worker', graceMs: options.workerGraceMs, looksRight: (args: string[]) => isWorker(args, identity) }]),
    ...(recorded.server === undefined
      ? []
      : [
          {
            recorded: recorded.server,
            what: `the Temporal dev server (port ${recorded.server.port})`,
            graceMs: options.serverGraceMs,
            looksRight: (args: string[]) => isDevServer(args, identity),
          },
        ]),
  ];
  for (const leftover of leftovers) {
    const group = leftover.recorded.processGroup;
    if (!groupIsAlive(group)) continue;
    if (!processIsAlive(group)) {
      // Its members cannot be told from anything else without their leader: never signal them blindly.
      options.log(
        `process group ${group} from ${options.shownPath} still has processes but its leader is gone, so they cannot be identified as ${leftover.what}; not stopping them (if they are, stop them with: kill -- -${group})`,
      );
      continue;
    }
    if (!sameStart(group, leftover.recorded.startTime)) continue; // the pid was reused
    const args = commandArgs(group);
    if (args === undefined) {
      options.log(`process group ${group} from ${options.shownPath} still runs, but its command cannot be read; not stopping it`);
      continue;
    }
    if (!leftover.looksRight(args)) continue; // the pid was reused by something else
    options.log(`stopping ${leftover.what}, pid ${group}, left running by an earlier npm start that did not stop it`);
    const how = await stopGroup(group, leftover.graceMs, leftover.what);
    options.log(`stopped ${leftover.what} left running (pid ${group}${how === 'killed' ? ', killed after the grace period' : ''})`);
  }
}

/** The start time of `pid` (Linux: /proc/<pid>/stat field 22, in clock ticks since boot), or undefined. */
export function processStartTime(pid: number): string | undefined {
  const fields = statFields(pid);
  // fields[0] is field 3 (the state): the command name (field 2) may contain spaces and parentheses.
  return fields?.[22 - 3];
}

/** /proc/<pid>/stat from field 3 on, or undefined without /proc or such a process. */
function statFields(pid: number): string[] | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : statFieldsOf(stat);
}

/** A stat line from field 3 on: after the parenthesised command name, which may hold spaces and parentheses. */
function statFieldsOf(stat: string): string[] | undefined {
  const afterName = stat.lastIndexOf(')');
  return afterName < 0 ? undefined : stat.slice(afterName + 1).trim().split(/\s+/);
}

/** False only when both start times are known and differ: the pid belongs to a later process. */
function sameStart(pid: number, recorded: string | undefined): boolean {
  if (recorded === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === recorded;
}

function parentOf(pid: number): number | undefined {
  const fromProc = statFields(pid)?.[4 - 3];
  const text = fromProc ?? spawnSync('ps', ['-p', String(pid), '-o', 'ppid='], { encoding: 'utf8' }).stdout?.trim();
  const parent = Number(text);
  return Number.isInteger(parent) && parent > 0 ? parent : undefined;
}

/** This process and its ancestors: none of them can be the npm start a pidfile names as another. */
function ownLineage(): Set<number> {
  const lineage = new Set<number>([process.pid, process.ppid]);
  let pid: number | undefined = process.ppid;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < 64; depth++) {
    pid = parentOf(pid);
    if (pid !== undefined) lineage.add(pid);
  }
  return lineage;
}

/**
 * Whether the npm start a pidfile names still runs: alive, not this process or one of its
 * ancestors, and (Linux) started when recorded; without a start time to compare, its command line
 * must run this checkout's start entry.
 */
export function ownerIsRunning(recorded: StackPidfile, identity: StackIdentity): boolean {
  const owner = recorded.owner;
  if (ownLineage().has(owner) || !processIsAlive(owner)) return false;
  const now = processStartTime(owner);
  if (recorded.ownerStart !== undefined && now !== undefined) return now === recorded.ownerStart;
  const args = commandArgs(owner);
  if (args === undefined) return false;
  const cwd = cwdOf(owner) ?? identity.repoRoot;
  return args.slice(1).some((arg) => identity.startEntries.includes(resolve(cwd, arg)));
}

function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function isDevServer(args: readonly string[], identity: StackIdentity): boolean {
  const db = args.indexOf('--db-filename');
  return args.includes('start-dev') && db >= 0 && args[db + 1] === identity.dbFilename;
}

function isWorker(args: readonly string[], identity: StackIdentity): boolean {
  return args.slice(1).includes(identity.workerEntry);
}
