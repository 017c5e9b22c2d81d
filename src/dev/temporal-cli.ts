/**
 * Finds the Temporal CLI (which runs the development server), building it with Go on first use.
 *
 * Order: TEMPORAL_CLI (a path) → `temporal` on PATH when ≥ 1.4 → the cached build when ≥ 1.4 →
 * `go install` into the cache. The cache is $XDG_CACHE_HOME/imgdel or ~/.cache/imgdel, outside
 * the checkout, so every clone and worktree shares one build.
 *
 *   npm run temporal:install          builds when needed, says what it does
 *   npm run --silent temporal:path    prints only the absolute path of the binary
 */
import { spawn } from 'node:child_process';
import { createReadStream, rmSync } from 'node:fs';
import { link, mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { isEntryPoint } from '../entry-point.js';
import { findOnPath, isExecutableFile, OutputTail, runCommand, sleep } from './process.js';
import { processIsAlive, processStartTime } from './stack-pidfile.js';
import { nodeErrorCode } from '../node-error.js';

/** Built in this order: the first one that builds wins. Every one is at least MINIMUM_VERSION. */
export const TEMPORAL_CLI_BUILD_VERSIONS = ['v1.5.1', 'v1.4.1'] as const;
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** A `temporal` found on PATH or in the cache must be at least this version (older ones lack flags we pass). */
const MINIMUM_VERSION: SemanticVersion = { major: 1, minor: 4, patch: 0 };
/** Go records the main module in every binary it builds: `mod<TAB>github.com/temporalio/cli<TAB>v1.5.1`. */
const MODULE_INFO_MARKER = Buffer.from('\tgithub.com/temporalio/cli\tv');
const LOCK_WAIT_LIMIT_MS = 30 * 60_000;
const BUILD_PROGRESS_EVERY_MS = 30_000;

export type Log = (line: string) => void;

const logToStderr: Log = (line) => process.stderr.write(`${line}\n`);

export interface SemanticVersion {
  major: number;
  minor: number;
  patch: number;
}

export class TemporalCliUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalCliUnavailableError';
  }
}

const cacheEnvSchema = z.object({
  XDG_CACHE_HOME: z.string().optional(),
  TEMPORAL_CLI: z.string().trim().optional(),
  PATH: z.string().optional(),
});

/** Where imgdel keeps what it builds: $XDG_CACHE_HOME/imgdel, else ~/.cache/imgdel. */
export function imgdelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdgCacheHome = cacheEnvSchema.parse(env).XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdgCacheHome !== undefined && isAbsolute(xdgCacheHome) ? xdgCacheHome : join(homedir(), '.cache');
  return join(base, 'imgdel');
}

export function cachedTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(imgdelCacheDir(env), 'bin', 'temporal');
}

/** Reads `temporal version 1.5.1 (Server …)`; undefined when there is no x.y.z in it. */
export function parseTemporalVersion(versionOutput: string): SemanticVersion | undefined {
  const version = /version\s+(v?\d+\.\d+\.\d+)/.exec(versionOutput)?.[1];
  return version === undefined ? undefined : parseSemanticVersion(version);
}

export function isAtLeast(version: SemanticVersion, minimum: SemanticVersion): boolean {
  if (version.major !== minimum.major) return version.major > minimum.major;
  if (version.minor !== minimum.minor) return version.minor > minimum.minor;
  return version.patch >= minimum.patch;
}

function formatVersion(version: SemanticVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

/** The absolute path of a usable Temporal CLI; builds it into the cache when there is none. */
export async function ensureTemporalCli(log: Log = logToStderr, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const parsedEnv = cacheEnvSchema.parse(env);

  const explicit = parsedEnv.TEMPORAL_CLI;
  if (explicit !== undefined && explicit !== '') {
    const explicitPath = resolve(explicit);
    if (!isExecutableFile(explicitPath)) {
      throw new TemporalCliUnavailableError(`TEMPORAL_CLI=${explicit} is not an executable file; point it at a temporal binary or unset it.`);
    }
    return explicitPath;
  }

  const onPath = findOnPath('temporal', parsedEnv.PATH ?? '');
  if (onPath !== undefined) {
    const version = await temporalVersionOf(onPath);
    if (version !== undefined && isAtLeast(version, MINIMUM_VERSION)) return onPath;
    log(
      `ignoring ${onPath}: version ${version === undefined ? 'unknown' : formatVersion(version)} is older than ${formatVersion(MINIMUM_VERSION)}`,
    );
  }

  // A cached binary reports 0.0.0-DEV (go install sets no version): its module version tells.
  const cached = cachedTemporalCliPath(env);
  if (await isUsableCachedBuild(cached, log)) return cached;

  const go = findOnPath('go', parsedEnv.PATH ?? '');
  if (go === undefined) throw new TemporalCliUnavailableError(noWayToGetTheCliMessage(cached));

  const cacheDir = imgdelCacheDir(env);
  await mkdir(join(cacheDir, 'bin'), { recursive: true });
  const lockPath = join(cacheDir, 'temporal-build.lock');
  const release = await acquireBuildLock(lockPath, log);
  const forgetLock = atExit(() => rmSync(lockPath, { force: true }));
  try {
    // Whoever held the lock before us may have built it.
    if (await isUsableCachedBuild(cached, () => undefined)) return cached;
    await buildTemporalCli(go, cached, env, log);
    return cached;
  } finally {
    forgetLock();
    await release();
  }
}

/**
 * Runs `cleanup` if the process exits before the returned function is called: a caller's signal
 * handler that ends the process (npm start's Ctrl-C) skips every pending `finally`, and a build
 * must not leave its lock, its staging directory or a running `go` behind.
 */
function atExit(cleanup: () => void): () => void {
  const onExit = (): void => {
    try {
      cleanup();
    } catch {
      // Exiting anyway: a cleanup that fails leaves what the next run tidies up.
    }
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

const versionStampSchema = z.object({ version: z.string(), size: z.number(), mtimeMs: z.number() });

/** `<binary>.version`: the module version found in (or built into) the binary, and which file that was. */
function versionStampPath(binary: string): string {
  return `${binary}.version`;
}

async function writeVersionStamp(binary: string, version: string): Promise<void> {
  const { size, mtimeMs } = await stat(binary);
  await writeFile(versionStampPath(binary), JSON.stringify({ version, size, mtimeMs }));
}

/**
 * The temporalio/cli module version a cached binary was built from: from its stamp when the stamp
 * describes this very file, else read from the binary once (Go's build info) and stamped, so an
 * existing good build is kept without a rebuild and without reading 250 MB on every start.
 */
export async function cachedBuildVersion(binary: string): Promise<SemanticVersion | undefined> {
  const { size, mtimeMs } = await stat(binary);
  try {
    const stamp = versionStampSchema.parse(JSON.parse(await readFile(versionStampPath(binary), 'utf8')));
    if (stamp.size === size && stamp.mtimeMs === mtimeMs) return parseSemanticVersion(stamp.version);
  } catch {
    // No stamp, or an unreadable one: read the binary.
  }
  const version = await moduleVersionInBinary(binary);
  if (version !== undefined) await writeVersionStamp(binary, version).catch(() => undefined);
  return version === undefined ? undefined : parseSemanticVersion(version);
}

/** Scans a Go binary for its build info line of github.com/temporalio/cli; `v1.5.1` or undefined. */
export async function moduleVersionInBinary(binary: string): Promise<string | undefined> {
  const overlap = MODULE_INFO_MARKER.length + 32;
  // The version that follows the marker found at `at` (its `v` is the marker's last byte).
  const versionAt = (buffer: Buffer, at: number): string | undefined =>
    /^v\d+\.\d+\.\d+/.exec(buffer.subarray(at + MODULE_INFO_MARKER.length - 1, at + overlap).toString('latin1'))?.[0];
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(binary, { highWaterMark: 1 << 20 })) {
    const window = Buffer.concat([carry, chunk as Buffer]);
    const at = window.indexOf(MODULE_INFO_MARKER);
    if (at >= 0 && at + overlap <= window.length) return versionAt(window, at);
    carry = window.subarray(Math.max(0, window.length - overlap));
  }
  const at = carry.indexOf(MODULE_INFO_MARKER);
  return at < 0 ? undefined : versionAt(carry, at);
}

function parseSemanticVersion(text: string): SemanticVersion | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** A cached build that exists and was built from temporalio/cli ≥ MINIMUM_VERSION; says why not otherwise. */
async function isUsableCachedBuild(binary: string, log: Log): Promise<boolean> {
  if (!isExecutableFile(binary)) return false;
  const version = await cachedBuildVersion(binary);
  if (version !== undefined && isAtLeast(version, MINIMUM_VERSION)) return true;
  log(
    `not using ${binary}: ${version === undefined ? 'its version is unknown' : `version ${formatVersion(version)} is older than ${formatVersion(MINIMUM_VERSION)}`}; building another`,
  );
  return false;
}

async function temporalVersionOf(binary: string): Promise<SemanticVersion | undefined> {
  try {
    const result = await runCommand(binary, ['--version'], { timeoutMs: 15_000 });
    return result.exitCode === 0 ? parseTemporalVersion(result.stdout) : undefined;
  } catch {
    return undefined;
  }
}

function noWayToGetTheCliMessage(cachedPath: string): string {
  const cachedBuild = isExecutableFile(cachedPath)
    ? `the build at ${cachedPath} is older than ${formatVersion(MINIMUM_VERSION)} or of unknown version`
    : `no build at ${cachedPath}`;
  return [
    `imgdel needs the Temporal CLI to run a development server, and there is none: no TEMPORAL_CLI, no temporal ≥ ${formatVersion(MINIMUM_VERSION)} on PATH, ${cachedBuild}, and no Go to build one.`,
    'Any one of these fixes it:',
    `  1. Install Go (https://go.dev/dl/) and run \`npm run temporal:install\`: it builds the CLI into ${cachedPath} (a few minutes, once).`,
    `  2. Install the Temporal CLI ≥ ${formatVersion(MINIMUM_VERSION)} (https://docs.temporal.io/cli) so that \`temporal\` is on PATH.`,
    '  3. Set TEMPORAL_CLI=/path/to/temporal to use a binary you already have, or TEMPORAL_ADDRESS=host:port to use a running Temporal server (then nothing is started).',
  ].join('\n');
}

async function buildTemporalCli(go: string, destination: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  const binDir = dirname(destination);
  // go install copies the binary in place non-atomically; build into a private directory and rename,
  // so an interrupted build never leaves a half-written binary at the cached path.
  const staging = await mkdtemp(join(binDir, '.build-'));
  const forgetStaging = atExit(() => rmSync(staging, { recursive: true, force: true }));
  const startedAt = Date.now();
  const failures: string[] = [];
  try {
    for (const version of TEMPORAL_CLI_BUILD_VERSIONS) {
      log(`building temporal CLI ${version} with go install into ${binDir} (first run only; takes a few minutes)`);
      const outcome = await goInstall(go, `${TEMPORAL_CLI_MODULE}@${version}`, goInstallEnv(env, staging, dirname(binDir)), (elapsedMs) =>
        log(`still building temporal CLI ${version} (${Math.round(elapsedMs / 1000)} s)`),
      );
      const built = join(staging, 'temporal');
      if (outcome.ok && isExecutableFile(built)) {
        await rename(built, destination);
        await writeVersionStamp(destination, version);
        log(`built temporal CLI in ${Math.round((Date.now() - startedAt) / 1000)} s: ${destination}`);
        return;
      }
      const failure = `go install ${TEMPORAL_CLI_MODULE}@${version} failed (${outcome.exit}):\n${outcome.output}`;
      failures.push(failure);
      log(failure);
    }
  } finally {
    forgetStaging();
    await rm(staging, { recursive: true, force: true });
  }
  throw new TemporalCliUnavailableError(
    [
      `could not build the Temporal CLI (tried ${TEMPORAL_CLI_BUILD_VERSIONS.join(', ')}); the last error:`,
      failures.at(-1) ?? '',
      'Install the Temporal CLI yourself (https://docs.temporal.io/cli) and put it on PATH, or set TEMPORAL_CLI=/path/to/temporal.',
    ].join('\n'),
  );
}

interface GoInstallOutcome {
  ok: boolean;
  exit: string;
  output: string;
}

/**
 * go install's environment: the binary goes to `gobin`. Go keeps its build cache under
 * $XDG_CACHE_HOME or $HOME/.cache and its modules under $GOPATH or $HOME/go, and refuses to build
 * without them; where HOME is unset too (some CI runners, `env -i`), both go under `cacheDir`.
 */
export function goInstallEnv(env: NodeJS.ProcessEnv, gobin: string, cacheDir: string): NodeJS.ProcessEnv {
  const has = (name: string) => (env[name] ?? '') !== '';
  return {
    ...env,
    GOBIN: gobin,
    ...(has('GOCACHE') || has('XDG_CACHE_HOME') || has('HOME') ? {} : { GOCACHE: join(cacheDir, 'go-build') }),
    ...(has('GOPATH') || has('HOME') ? {} : { GOPATH: join(cacheDir, 'go') }),
  };
}

function goInstall(go: string, target: string, env: NodeJS.ProcessEnv, onProgress: (elapsedMs: number) => void): Promise<GoInstallOutcome> {
  return new Promise((resolvePromise) => {
    const startedAt = Date.now();
    const output = new OutputTail(60);
    const child = spawn(go, ['install', target], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forgetChild = atExit(() => child.kill('SIGTERM'));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    const progress = setInterval(() => onProgress(Date.now() - startedAt), BUILD_PROGRESS_EVERY_MS);
    child.once('error', (error) => {
      forgetChild();
      clearInterval(progress);
      resolvePromise({ ok: false, exit: error.message, output: output.text() });
    });
    child.once('close', (exitCode, signal) => {
      forgetChild();
      clearInterval(progress);
      resolvePromise({
        ok: exitCode === 0,
        exit: signal === null ? `exit code ${String(exitCode)}` : `killed by ${signal}`,
        output: output.text(),
      });
    });
  });
}

const lockOwnerSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  /** The owner's process start time (Linux), which tells it from a later process given its pid. */
  processStart: z.string().optional(),
});
type LockOwner = z.infer<typeof lockOwnerSchema>;

/** Whether the process that wrote the lock still runs: the pid alive and, where known, the same process. */
function ownerRuns(owner: LockOwner): boolean {
  if (!processIsAlive(owner.pid)) return false;
  return owner.processStart === undefined || processStartTime(owner.pid) === owner.processStart;
}

/**
 * An exclusive lock file holding the owner's pid, so two processes never build at once.
 * A lock whose owner has died (or that stays unreadable) is stale and taken over.
 */
async function acquireBuildLock(lockPath: string, log: Log): Promise<() => Promise<void>> {
  const waitStartedAt = Date.now();
  let announcedWait = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      const processStart = processStartTime(process.pid);
      await handle.writeFile(
        JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), ...(processStart === undefined ? {} : { processStart }) }),
      );
      await handle.close();
      return async () => {
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if (nodeErrorCode(error) !== 'EEXIST') throw error;
    }

    const owner = await readLockOwner(lockPath);
    if (owner === 'gone') continue;
    if (owner === 'unreadable') {
      // The owner may be between creating the file and writing its pid; only an old unreadable lock is stale.
      const ageMs = await fileAgeMs(lockPath);
      if (ageMs !== undefined && ageMs > 10_000) await removeStaleLock(lockPath, 'unreadable');
    } else if (!ownerRuns(owner)) {
      log(`removing a stale build lock left by pid ${owner.pid}`);
      await removeStaleLock(lockPath, owner);
      continue;
    } else if (!announcedWait) {
      log(`another process (pid ${owner.pid}) is building the temporal CLI; waiting for it (lock ${lockPath})`);
      announcedWait = true;
    }
    if (Date.now() - waitStartedAt > LOCK_WAIT_LIMIT_MS) {
      throw new TemporalCliUnavailableError(`gave up waiting for the build lock ${lockPath}; remove it if no build is running`);
    }
    await sleep(1_000);
  }
}

/**
 * Removes the lock judged stale, and only that one: two waiters can judge the same stale lock,
 * and the slower must not remove the lock the faster has created since. The lock is moved aside
 * first (one mover wins); a lock that turns out not to be the one judged is put back.
 */
async function removeStaleLock(lockPath: string, judged: LockOwner | 'unreadable'): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (nodeErrorCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readLockOwner(aside);
  const isJudged =
    judged === 'unreadable'
      ? moved === 'unreadable'
      : typeof moved === 'object' && moved.pid === judged.pid && moved.startedAt === judged.startedAt;
  if (!isJudged) {
    // Another waiter's fresh lock: back where it was (unless a third has locked since, which then holds it).
    await link(aside, lockPath).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

async function readLockOwner(lockPath: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if (nodeErrorCode(error) === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = lockOwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function fileAgeMs(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('temporal-cli')
    .description('Find or build the Temporal CLI that runs the development server')
    .showHelpAfterError();
  program
    .command('install')
    .description('build the Temporal CLI into the cache unless one is already available')
    .action(async () => {
      const startedAt = Date.now();
      const path = await ensureTemporalCli();
      process.stdout.write(`temporal CLI ready (${Math.round((Date.now() - startedAt) / 1000)} s): ${path}\n`);
    });
  program
    .command('path')
    .description('print only the absolute path of the Temporal CLI (building it first when needed)')
    .action(async () => {
      process.stdout.write(`${await ensureTemporalCli()}\n`);
    });
  await program.parseAsync(argv);
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
