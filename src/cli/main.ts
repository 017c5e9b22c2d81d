/**
 * The `imgdel` command line: start, watch and steer image deletions. Commands, exit
 * codes and the --json shape are a contract scripts rely on (see exit-codes.ts and
 * README "Using imgdel"). Human text comes from render.ts only.
 */
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { createImgdelClient, DEFAULT_LIST_LIMIT, DEFAULT_WORKER_TIMEOUT_MS } from '../client/client.js';
import type { ImgdelClient } from '../client/client.js';
import type { DeletionOutcome } from '../client/outcome.js';
import { ignoreClosedOutput } from '../closed-output.js';
import { isEntryPoint } from '../entry-point.js';
import { emulatorCommand } from '../emulator/cli.js';
import { DEFAULTS, wholeNumberSchema, type DeleteImageInput } from '../workflows/input.js';
import { SEARCH_STATUS } from '../workflows/model.js';
import type { DeletionStatus } from '../workflows/model.js';
import { errorCodeFor, ExitCode, exitCodeForError, exitCodeForStatus } from './exit-codes.js';
import { CommandInterrupted } from './interrupted.js';
import { exitCodeForSignal, signalCounter } from '../signal-counter.js';
import { rethrowInFlagTerms } from './input-problems.js';
import { LiveProgress, renderList, renderOutcome, renderStarted } from './render.js';
import type { TextSink } from './render.js';

export interface CliContext {
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** How long to try reaching Temporal (default 3 s: a CLI should fail fast). */
  connectTimeoutMs?: number;
  /** Poll interval of --wait (default 500 ms). */
  pollMs?: number;
  /** Aborted (with a CommandInterrupted) by Ctrl-C: the command stops at once; what it started goes on. */
  signal?: AbortSignal;
}

const STATUS_VALUES = Object.keys(SEARCH_STATUS) as DeletionStatus[];

/** `awaiting-retry`, `AwaitingRetry` or `awaitingretry` all name the same status. */
const statusArgSchema = z.string().transform((text, ctx) => {
  const wanted = text.toLowerCase().replace(/[^a-z]/g, '');
  const found = STATUS_VALUES.find((status) => status.replace(/-/g, '') === wanted);
  if (found === undefined) {
    ctx.addIssue({ code: 'custom', message: `--status must be one of ${STATUS_VALUES.join(', ')}` });
    return z.NEVER;
  }
  return found;
});

const deleteOptionsSchema = z.object({
  dryRun: z.boolean().optional(),
  wait: z.boolean().optional(),
  json: z.boolean().optional(),
  reason: z.string().optional(),
  requestedBy: z.string().optional(),
  // NaN (not a number) passes through: the input schema refuses it and names the field.
  waitForCreation: z.number().or(z.nan()).optional(),
  workerTimeout: z.number().optional(),
  regionConcurrency: z.number().or(z.nan()).optional(),
  parkTimeout: z.number().or(z.nan()).optional(),
});

/** What `delete --json` adds to the outcome: whether this call started the run, or found the image already deleted. */
interface StartFacts {
  started: boolean;
  alreadyDeleted?: true;
}

const flagsSchema = z.object({
  wait: z.boolean().optional(),
  json: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  workerTimeout: z.number().optional(),
  updateId: z.string().optional(),
});
const abandonOptionsSchema = z.object({
  json: z.boolean().optional(),
  reason: z.string().optional(),
  workerTimeout: z.number().optional(),
  updateId: z.string().optional(),
});
const UPDATE_ID_HELP =
  'an id for this request: the same command repeated with the same id (after an unclear error, say) is not applied twice, and answers how the deletion stands';
const cancelOptionsSchema = z.object({ json: z.boolean().optional(), dryRun: z.boolean().optional() });
const LIST_LIMIT_MAX = 10_000;
const listOptionsSchema = z.object({
  json: z.boolean().optional(),
  status: z.string().optional(),
  limit: wholeNumberSchema(1, LIST_LIMIT_MAX).optional(),
});

const EXIT_CODES_HELP = `Exit codes:
  0  deleted (or the dry-run plan printed; or the deletion is still running without --wait)
  1  rejected, compensated, abandoned, cancelled or failed; no such deletion; update refused
  2  bad usage, invalid input, a namespace Temporal does not have, or credentials it refuses
     (nothing was started)
  3  parked, awaiting retry
  4  cannot reach Temporal
  5  no worker answered on the deletion's task queue within --worker-timeout (default 60 s)
  6  with --wait or --dry-run only: the progress query failed on the worker, the deletion's workflow
     task is failing, or a worker answered with a report this imgdel cannot read (status exits 0)
  7  Temporal answered with a failure of its own (RESOURCE_EXHAUSTED, INTERNAL, ...): try again;
     a start or update it was handling may have taken effect (see imgdel status)
  130  stopped by Ctrl-C (143: SIGTERM); only the command stopped, a deletion it started goes on`;

const EXAMPLES = `
Examples:
  $ imgdel delete img-demo0001 --wait             delete everywhere, watch until it ends
  $ imgdel delete img-demo0001 --dry-run          validate and print the plan, change nothing
  $ imgdel status img-demo0001 --json             progress as one JSON object
  $ imgdel list --status awaiting-retry           parked deletions waiting for an operator
  $ imgdel retry img-demo0001 --wait              re-run the failed steps of a parked deletion

${EXIT_CODES_HELP}

Connection (environment):
  TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default default),
  TEMPORAL_API_KEY (Temporal Cloud; implies TLS), TEMPORAL_TLS=true,
  TEMPORAL_TLS_CLIENT_CERT_PATH + TEMPORAL_TLS_CLIENT_KEY_PATH (mTLS, both),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME,
  TEMPORAL_PROFILE + TEMPORAL_CONFIG_FILE (an envconfig profile instead),
  TEMPORAL_UI_URL (for links), IMGDEL_TASK_QUEUE (default image-deletion)
`;

/** The version in package.json (the CLI runs from the checkout or the installed package). */
function packageVersion(): string {
  const manifest = z.object({ version: z.string() }).safeParse(
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')),
  );
  return manifest.success ? manifest.data.version : 'unknown';
}

/** A number option whose value is missing takes the next word, even another option: say so. */
function refuseOptionAsNumber(value: string): void {
  if (value.startsWith('--')) throw new InvalidArgumentError(`Expected a number, not the option ${value}: give the option its value`);
}

function numberArg(value: string): number {
  refuseOptionAsNumber(value);
  // NaN is caught by the input schema, which names the field.
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** A gRPC deadline much further out is refused by grpc-js ("Deadline is too far in the future"). */
const MAX_WORKER_TIMEOUT_SECONDS = 86_400;

/** --worker-timeout <seconds>: a positive number up to a day, else a usage error (commander exits 2). */
function workerTimeoutArg(value: string): number {
  refuseOptionAsNumber(value);
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_WORKER_TIMEOUT_SECONDS) {
    throw new InvalidArgumentError(`Expected a number of seconds greater than 0 and at most ${MAX_WORKER_TIMEOUT_SECONDS} (one day)`);
  }
  return seconds;
}

const WORKER_TIMEOUT_HELP = `give up (exit ${ExitCode.NoWorker}) when no worker answers for this many seconds, at most ${MAX_WORKER_TIMEOUT_SECONDS} (default ${DEFAULT_WORKER_TIMEOUT_MS / 1000})`;

const IMAGE_ID_HELP = 'the image: img- or imgc- and lower-case letters and digits, e.g. img-0123abcd';

function workerTimeoutMs(seconds: number | undefined): { workerTimeoutMs?: number } {
  return seconds === undefined ? {} : { workerTimeoutMs: seconds * 1000 };
}

function defaultRequester(): string | undefined {
  try {
    return `${userInfo().username}@${hostname()}`.slice(0, 200);
  } catch {
    return undefined;
  }
}

class Cli {
  exitCode: number = ExitCode.Ok;
  private clientInstance: ImgdelClient | undefined;

  constructor(private readonly context: CliContext) {}

  client(): ImgdelClient {
    this.clientInstance ??= createImgdelClient({ env: this.context.env, connectTimeoutMs: this.context.connectTimeoutMs ?? 3_000 });
    return this.clientInstance;
  }

  async close(): Promise<void> {
    await this.clientInstance?.close();
  }

  out(lines: string[]): void {
    if (lines.length > 0) this.context.stdout.write(`${lines.join('\n')}\n`);
  }

  err(lines: string[]): void {
    if (lines.length > 0) this.context.stderr.write(`${lines.join('\n')}\n`);
  }

  json(value: unknown): void {
    this.context.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** The signal every client call of this command takes (Ctrl-C). */
  get signal(): { signal?: AbortSignal } {
    return this.context.signal === undefined ? {} : { signal: this.context.signal };
  }

  /** Runs one command (about `imageId`, when it has one); any error becomes a message and an exit code. */
  async run(json: boolean, action: () => Promise<void>, imageId?: string): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.exitCode = exitCodeForError(error);
      const message = error instanceof CommandInterrupted ? error.explain(imageId) : error instanceof Error ? error.message : String(error);
      if (json) this.json({ error: { code: errorCodeFor(error), message } });
      this.err([`imgdel: ${message}`]);
    }
  }

  /**
   * Prints the final outcome and sets the exit code from its status. `start` (delete only) adds to
   * the JSON whether this call started the run, so a script tells "deleted now" from "already deleted".
   */
  finish(outcome: DeletionOutcome, json: boolean, live?: LiveProgress, start?: StartFacts): void {
    this.exitCode = exitCodeForStatus(outcome.status);
    if (json) {
      this.json(start === undefined ? outcome : { ...outcome, ...start });
    } else if (live) {
      live.finish(outcome);
    } else {
      this.out(renderOutcome(outcome, { uiLink: this.client().linkFor(outcome.workflowId) }));
    }
  }

  async wait(
    imageId: string,
    json: boolean,
    dryRun: boolean,
    workerTimeoutSeconds: number | undefined,
  ): Promise<{ outcome: DeletionOutcome; live?: LiveProgress }> {
    const client = this.client();
    const common = { dryRun, ...this.pollOption(), ...workerTimeoutMs(workerTimeoutSeconds), ...this.signal };
    if (json) {
      return { outcome: await client.waitForOutcome(imageId, common) };
    }
    const live = new LiveProgress(this.context.stdout);
    const outcome = await client.waitForOutcome(imageId, { ...common, onProgress: (next) => live.update(next) });
    return { outcome, live };
  }

  private pollOption(): { pollMs?: number } {
    return this.context.pollMs === undefined ? {} : { pollMs: this.context.pollMs };
  }

  async delete(imageId: string, rawOptions: unknown): Promise<void> {
    const options = deleteOptionsSchema.parse(rawOptions);
    const json = options.json === true;
    const dryRun = options.dryRun === true;
    await this.run(json, async () => {
      const requestedBy = options.requestedBy ?? defaultRequester();
      const input: DeleteImageInput = {
        imageId,
        ...(dryRun ? { dryRun } : {}),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(requestedBy === undefined ? {} : { requestedBy }),
        ...(options.waitForCreation === undefined ? {} : { waitForCreationSeconds: options.waitForCreation }),
        ...(options.regionConcurrency === undefined ? {} : { regionConcurrency: options.regionConcurrency }),
        ...(options.parkTimeout === undefined ? {} : { parkTimeoutSeconds: options.parkTimeout }),
      };
      const client = this.client();
      const started = await client.startDeletion(input, this.signal).catch(rethrowInFlagTerms);
      if (!json) this.out(renderStarted(started));
      const start: StartFacts = { started: started.started, ...(started.alreadyDeleted === true ? { alreadyDeleted: true } : {}) };
      if (started.alreadyDeleted === true) {
        this.finish(await client.outcome(imageId, this.signal), json, undefined, start);
        return;
      }
      // A dry run's plan is its result: always wait for it (validation only, quick).
      if (options.wait === true || dryRun) {
        const { outcome, live } = await this.wait(imageId, json, dryRun, options.workerTimeout);
        this.finish(outcome, json, live, start);
        return;
      }
      const outcome: DeletionOutcome = started.started
        ? { workflowId: started.workflowId, imageId, status: 'running', phase: 'validating', regions: [], templates: [] }
        : await client.outcome(imageId, this.signal);
      this.exitCode = exitCodeForStatus(outcome.status);
      if (json) this.json({ ...outcome, ...start });
      // Attached to a deletion that is parked (or has just ended): say so, and what to do, as the exit code does.
      else if (outcome.status !== 'running') this.out(renderOutcome(outcome));
      else this.out([`Follow it with: imgdel status ${imageId}   (or imgdel delete ${imageId} --wait)`]);
    }, imageId);
  }

  async status(imageId: string, rawOptions: unknown): Promise<void> {
    const options = flagsSchema.parse(rawOptions);
    const json = options.json === true;
    await this.run(json, async () => {
      this.finish(await this.client().outcome(imageId, { dryRun: options.dryRun === true, ...this.signal }), json);
    }, imageId);
  }

  async retry(imageId: string, rawOptions: unknown): Promise<void> {
    const options = flagsSchema.parse(rawOptions);
    const json = options.json === true;
    await this.run(json, async () => {
      const afterRetry = await this.client()
        .retry(imageId, { ...workerTimeoutMs(options.workerTimeout), updateId: options.updateId, ...this.signal })
        .catch(rethrowInFlagTerms);
      if (options.wait === true) {
        if (!json) this.out([`Retrying the failed steps of ${imageId}…`]);
        const { outcome, live } = await this.wait(imageId, json, false, options.workerTimeout);
        this.finish(outcome, json, live);
      } else {
        this.finish(afterRetry, json);
      }
    }, imageId);
  }

  async abandon(imageId: string, rawOptions: unknown): Promise<void> {
    const options = abandonOptionsSchema.parse(rawOptions);
    const json = options.json === true;
    await this.run(json, async () => {
      const outcome = await this.client()
        .abandon(imageId, options.reason, { ...workerTimeoutMs(options.workerTimeout), updateId: options.updateId, ...this.signal })
        .catch(rethrowInFlagTerms);
      this.finish(outcome, json);
    }, imageId);
  }

  async cancel(imageId: string, rawOptions: unknown): Promise<void> {
    const options = cancelOptionsSchema.parse(rawOptions);
    const json = options.json === true;
    const dryRun = options.dryRun === true;
    await this.run(json, async () => {
      const result = await this.client().cancel(imageId, { dryRun, ...this.signal });
      this.exitCode = result.requested ? ExitCode.Ok : ExitCode.Failed;
      if (json) {
        this.json(result);
        return;
      }
      if (result.requested && dryRun) {
        this.out([`The dry run of ${imageId} was ended (workflow ${result.workflowId}); a dry run changes nothing.`]);
        return;
      }
      if (result.requested) {
        this.out([
          `Cancellation of ${imageId} requested (workflow ${result.workflowId}).`,
          'Before the pivot the templates are restored and the image is left as it was; after it, the deletion stops and reports what is left.',
          `Follow it with: imgdel status ${imageId}`,
        ]);
        return;
      }
      this.err([`imgdel: nothing to cancel: the ${dryRun ? 'dry run' : 'deletion'} of ${imageId} already ended.`]);
      if (result.outcome) this.out(renderOutcome(result.outcome));
    }, imageId);
  }

  async list(rawOptions: unknown): Promise<void> {
    const options = listOptionsSchema.parse(rawOptions);
    const json = options.json === true;
    await this.run(json, async () => {
      let status: DeletionStatus | undefined;
      if (options.status !== undefined) {
        const parsed = statusArgSchema.safeParse(options.status);
        if (!parsed.success) {
          this.exitCode = ExitCode.Usage;
          const message = parsed.error.issues.map((issue) => issue.message).join('; ');
          if (json) this.json({ error: { code: 'InvalidInput', message } });
          this.err([`imgdel: ${message}`]);
          return;
        }
        status = parsed.data;
      }
      const deletions = await this.client().list({ ...(status === undefined ? {} : { status }), limit: options.limit ?? DEFAULT_LIST_LIMIT, ...this.signal });
      if (json) this.json({ deletions });
      else this.out(renderList(deletions));
    });
  }
}

function buildProgram(context: CliContext, cli: Cli): Command {
  const program = new Command('imgdel')
    .description('Delete an App Streaming custom image in every region, durably (a Temporal saga).')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      // Every error imgdel prints starts the same way, commander's usage errors included.
      outputError: (text, write) => write(text.replace(/^error: /, 'imgdel: ')),
    })
    .version(packageVersion(), '-V, --version', 'print the imgdel version')
    .showHelpAfterError('(run imgdel --help for usage)')
    .addHelpText('after', EXAMPLES);

  program
    .command('delete')
    .description('start deleting an image (a second start attaches to the running deletion)')
    .argument('<imageId>', IMAGE_ID_HELP)
    .option('--dry-run', 'validate and print the plan; change nothing')
    .option('--wait', 'show live progress until the deletion ends or parks')
    .option('--json', 'print one JSON object on stdout')
    .option('--reason <text>', 'why, at most 500 characters (kept in the workflow, shown in the UI)')
    .option('--requested-by <name>', 'who asks, at most 200 characters (default: user@host)')
    .option('--wait-for-creation <seconds>', 'wait up to 21600 s for an image still being created (default 0: refuse it at once)', numberArg)
    .option('--region-concurrency <n>', `delete at most this many regions at once, 1 to 32 (default ${DEFAULTS.regionConcurrency})`, numberArg)
    .option(
      '--park-timeout <seconds>',
      `how long a parked deletion waits for retry or abandon, at most 2592000 (30 days; default ${DEFAULTS.parkTimeoutSeconds}, 7 days)`,
      numberArg,
    )
    .option('--worker-timeout <seconds>', `with --wait or --dry-run (which always waits for its plan): ${WORKER_TIMEOUT_HELP}`, workerTimeoutArg)
    .hook('preAction', refuseWorkerTimeoutWithoutWait)
    .action((imageId: string, options: unknown) => cli.delete(imageId, options));

  program
    .command('status')
    .description('progress of the running or last deletion of an image')
    .argument('<imageId>', IMAGE_ID_HELP)
    .option('--dry-run', 'show the last dry run instead')
    .option('--json', 'print one JSON object on stdout')
    .action((imageId: string, options: unknown) => cli.status(imageId, options));

  program
    .command('retry')
    .description('re-run the failed steps of a parked deletion (refused when nothing failed)')
    .argument('<imageId>', IMAGE_ID_HELP)
    .option('--wait', 'show live progress until it ends or parks again')
    .option('--json', 'print one JSON object on stdout')
    .option('--worker-timeout <seconds>', WORKER_TIMEOUT_HELP, workerTimeoutArg)
    .option('--update-id <id>', UPDATE_ID_HELP)
    .action((imageId: string, options: unknown) => cli.retry(imageId, options));

  program
    .command('abandon')
    .description('give up on a parked deletion (exits 1: the deletion ends abandoned)')
    .argument('<imageId>', IMAGE_ID_HELP)
    .option('--reason <text>', 'why, at most 500 characters, kept in the report')
    .option('--json', 'print one JSON object on stdout')
    .option('--worker-timeout <seconds>', WORKER_TIMEOUT_HELP, workerTimeoutArg)
    .option('--update-id <id>', UPDATE_ID_HELP)
    .action((imageId: string, options: unknown) => cli.abandon(imageId, options));

  program
    .command('cancel')
    .description('cancel a running deletion (before the pivot it restores the templates)')
    .argument('<imageId>', IMAGE_ID_HELP)
    .option('--dry-run', 'end the dry run instead, at once (one stuck waiting for a worker, say)')
    .option('--json', 'print one JSON object on stdout: { workflowId, requested, outcome? }')
    .action((imageId: string, options: unknown) => cli.cancel(imageId, options));

  program
    .command('list')
    .description('deletions found through the ImageId / DeletionStatus search attributes')
    .addOption(new Option('--status <status>', `only this status: ${STATUS_VALUES.join(', ')}`))
    .option('--limit <n>', `at most this many, 1 to ${LIST_LIMIT_MAX} (default ${DEFAULT_LIST_LIMIT})`, numberArg)
    .option('--json', 'print one JSON object on stdout')
    .action((options: unknown) => cli.list(options));

  // A usage error points at the help of the command it is about, which lists that command's options;
  // each command's help ends with the exit codes a script checks.
  for (const command of program.commands) {
    command.showHelpAfterError(`(run imgdel ${command.name()} --help for usage)`).addHelpText('after', `\n${EXIT_CODES_HELP}`);
    command.hook('preAction', refuseOptionTakenAsValue);
  }

  const emulator = emulatorCommand()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });
  program.addCommand(emulator);
  return program;
}

/**
 * An option whose value is missing takes the next word as its value, even another option:
 * `delete img-… --reason --dry-run` would start a real deletion with the reason "--dry-run".
 * A value that is one of the command's own options is refused as a usage error instead.
 */
function refuseOptionTakenAsValue(_program: Command, command: Command): void {
  const flags = new Set(command.options.flatMap((option) => [option.long, option.short]).filter((flag) => flag !== undefined));
  flags.add('--help').add('-h');
  for (const option of command.options) {
    const value: unknown = command.getOptionValue(option.attributeName());
    if (typeof value !== 'string') continue;
    const flag = value.split('=')[0] ?? value;
    if (flags.has(flag)) {
      command.error(
        `error: option '${option.flags}' took '${value}' as its value, which is an option of imgdel ${command.name()}: give ${option.long ?? option.flags} its value (nothing was done)`,
        { exitCode: ExitCode.Usage, code: 'imgdel.optionTakenAsValue' },
      );
    }
  }
}

/**
 * `delete` without --wait or --dry-run returns once the deletion has started and waits for no
 * worker, so a --worker-timeout there would be silently ignored: refuse it instead.
 */
function refuseWorkerTimeoutWithoutWait(command: Command): void {
  const options = flagsSchema.parse(command.opts());
  if (options.workerTimeout !== undefined && options.wait !== true && options.dryRun !== true) {
    command.error(
      "error: option '--worker-timeout <seconds>' needs --wait or --dry-run: without them delete returns once the deletion has started, and waits for no worker (nothing was done)",
      { exitCode: ExitCode.Usage, code: 'imgdel.workerTimeoutWithoutWait' },
    );
  }
}

/** Runs the CLI and resolves with the exit code (it never calls process.exit). */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const cli = new Cli(context);
  const program = buildProgram(context, cli);
  // Scripts that ask for --json get a JSON object on stdout for every failure, usage errors included.
  const wantsJson = argv.includes('--json');
  const usageError = (message: string): number => {
    if (wantsJson) context.stdout.write(`${JSON.stringify({ error: { code: 'Usage', message } }, null, 2)}\n`);
    return ExitCode.Usage;
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return cli.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with exit code 0 and are not errors.
      return error.exitCode === 0 ? ExitCode.Ok : usageError(error.message.replace(/^error: /, ''));
    }
    if (error instanceof z.ZodError) {
      const message = `invalid options: ${error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; ')}`;
      context.stderr.write(`imgdel: ${message}\n`);
      return usageError(message);
    }
    context.stderr.write(`imgdel: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Failed;
  } finally {
    await cli.close();
  }
}

/** The process entry point (bin/imgdel.mjs, `npm run imgdel`). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A reader that stops early (`imgdel list | head -1`) is not an error of imgdel's.
  ignoreClosedOutput(process.stdout);
  ignoreClosedOutput(process.stderr);
  // The emulator command handles its own signals (a graceful stop of the server).
  const interrupt = argv[0] === 'emulator' ? undefined : interruptOnSignals();
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: interrupt?.signal });
  interrupt?.release();
  // The emulator keeps serving until a signal; every other command ends here, once what it
  // printed has reached the pipe (process.exit would cut a JSON object a slow reader has not taken).
  if (argv[0] !== 'emulator' || code !== ExitCode.Ok) {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  }
}

/**
 * Ctrl-C (or SIGTERM) stops the command at once with a sentence saying what goes on, instead of
 * the process dying mid-wait: the first signal aborts the command's signal, the same Ctrl-C
 * relayed by npm is ignored, a second one exits at once.
 */
function interruptOnSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const countSignal = signalCounter();
  const onSignal = (signal: NodeJS.Signals): void => {
    const received = countSignal();
    if (received === 'relayed') return;
    if (received === 'again') process.exit(exitCodeForSignal(signal));
    controller.abort(new CommandInterrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Resolves once everything written to the stream so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

if (isEntryPoint(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`imgdel: ${String(error)}\n`);
    process.exit(ExitCode.Failed);
  });
}
