/**
 * The workflow's input contract: one zod schema shared by the workflow, the client,
 * the CLI, and (as JSON Schema in schema/) services written in other languages.
 * Pure module: imported by workflow code, and one of the modules every workflow of a worker
 * thread shares (see shared-modules.ts), so the schema is built once per thread, not once per
 * workflow. It is built on first use, after the SDK has deep-frozen the shared modules' exports:
 * zod completes parts of a schema on first use, which a frozen schema would refuse.
 */
import { z } from 'zod';
import { counted } from './narrative.js';

export const IMAGE_ID_MAX_LENGTH = 64;

/**
 * Messages say what is wrong with a value, without naming its field: each problem is reported
 * as `field: message`, and the CLI names its flag instead (src/cli/input-problems.ts).
 */

/** `img-` or `imgc-` followed by lower-case letters and digits (ASCII only: no look-alikes). */
const imageIdSchema = () =>
  z
    .string({ error: 'must be a string such as img-0123abcd' })
    .max(IMAGE_ID_MAX_LENGTH, { error: `is longer than ${IMAGE_ID_MAX_LENGTH} characters` })
    .regex(/^imgc?-[a-z0-9]{4,59}$/, {
      error: 'must look like img-<letters and digits> or imgc-<letters and digits> (lower-case ASCII)',
    });

/** A whole number in [min, max]; one message for every way of missing it (type, fraction, range). */
export const wholeNumberSchema = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** A duration in whole seconds, bounded so a typo cannot park a workflow for a year. */
const seconds = (min: number, max: number) =>
  z
    .number({ error: 'must be a number of seconds' })
    .int({ error: 'must be whole seconds' })
    .min(min, { error: min === 0 ? 'must not be negative' : `must be at least ${counted(min, 'second')}` })
    .max(max, { error: `must be at most ${max} seconds` });

const text = (maxLength: number) =>
  z.string({ error: 'must be text' }).max(maxLength, { error: `must be at most ${maxLength} characters` });

export const DEFAULTS = {
  /** Region deletes at once; the worker's per-action rate limit still paces the calls. */
  regionConcurrency: 16,
  templateAttempts: 5,
  transientAttempts: 10,
  parkTimeoutSeconds: 7 * 24 * 3600,
  retryInitialIntervalMs: 1_000,
  cancelDrainSeconds: 120,
  /** A region delete that got no answer may still be applied: how long the saga waits for it to show. */
  unansweredDeleteWaitSeconds: 30,
  /**
   * Retry rounds one deletion takes at most. Each adds about 20 history events and two Updates: at
   * this many the history stays well under Temporal's 10 240-event warning and the server's limit
   * of Updates per run. Past it a person abandons and starts the deletion again.
   */
  maxRetryRounds: 100,
} as const;

const buildDeleteImageInputSchema = () =>
  z
    .object(
      {
        imageId: imageIdSchema(),
        reason: text(500).optional(),
        requestedBy: text(200).optional(),
        /** Validate and return the plan; change nothing. */
        dryRun: z.boolean({ error: 'must be true or false' }).optional(),
        /** Wait this long for an image that is still being created, instead of refusing at once (0: do not wait). */
        waitForCreationSeconds: seconds(0, 6 * 3600).optional(),
        /** Region deletes run in parallel, at most this many at once. */
        regionConcurrency: wholeNumberSchema(1, 32).optional(),
        /**
         * Attempts a template delete (or a region delete answered DeleteTemplate.Failed) gets: from
         * this attempt on, DeleteTemplate.Failed is final (before the pivot the saga compensates,
         * after it the region is parked). Every attempt counts, a transient failure's too.
         */
        templateAttempts: wholeNumberSchema(1, 50).optional(),
        /** Attempts for transient errors (throttling, InternalError, …) and unknown codes, per step. */
        transientAttempts: wholeNumberSchema(1, 100).optional(),
        /** How long a parked deletion waits for an operator's retry or abandon. */
        parkTimeoutSeconds: seconds(1, 30 * 24 * 3600).optional(),
        /** First retry interval of every activity (doubles up to 30 s); small values are for tests. */
        retryInitialIntervalMs: wholeNumberSchema(10, 60_000).optional(),
        /**
         * Only for deletions that drain on cancel (those begun before CANCEL_STOPS_DELETE_RETRIES_PATCH):
         * how long a cancellation lets the deletes already running finish, their retries included,
         * before cancelling them. Kept so that their inputs stay valid.
         */
        cancelDrainSeconds: seconds(1, 3600).optional(),
        /**
         * Before re-creating templates (a cancel or a failure before the point of no return): how
         * long to wait for a region delete that got no answer (a timeout after the request was
         * sent), which the cloud may still apply, to show in the region list, and for a template
         * delete that got no answer to land; 0 does not wait.
         */
        unansweredDeleteWaitSeconds: seconds(0, 3600).optional(),
        /** Retry rounds this deletion takes at most (default 100); then it must be abandoned and started again. */
        maxRetryRounds: wholeNumberSchema(1, DEFAULTS.maxRetryRounds).optional(),
      },
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`
            : 'must be an object such as {"imageId": "img-0123abcd"}',
      },
    )
    .strict();

let builtInputSchema: ReturnType<typeof buildDeleteImageInputSchema> | undefined;

/** The input schema, built on its first use (see the module's comment). */
export function deleteImageInputSchema(): ReturnType<typeof buildDeleteImageInputSchema> {
  builtInputSchema ??= buildDeleteImageInputSchema();
  return builtInputSchema;
}

export type DeleteImageInput = z.infer<ReturnType<typeof deleteImageInputSchema>>;

export interface ResolvedInput {
  imageId: string;
  reason?: string;
  requestedBy?: string;
  dryRun: boolean;
  waitForCreationSeconds: number;
  regionConcurrency: number;
  templateAttempts: number;
  transientAttempts: number;
  parkTimeoutSeconds: number;
  retryInitialIntervalMs: number;
  cancelDrainSeconds: number;
  unansweredDeleteWaitSeconds: number;
  maxRetryRounds: number;
}

export function resolveInput(input: DeleteImageInput): ResolvedInput {
  return {
    imageId: input.imageId,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    dryRun: input.dryRun ?? false,
    waitForCreationSeconds: input.waitForCreationSeconds ?? 0,
    regionConcurrency: input.regionConcurrency ?? DEFAULTS.regionConcurrency,
    templateAttempts: input.templateAttempts ?? DEFAULTS.templateAttempts,
    transientAttempts: input.transientAttempts ?? DEFAULTS.transientAttempts,
    parkTimeoutSeconds: input.parkTimeoutSeconds ?? DEFAULTS.parkTimeoutSeconds,
    retryInitialIntervalMs: input.retryInitialIntervalMs ?? DEFAULTS.retryInitialIntervalMs,
    cancelDrainSeconds: input.cancelDrainSeconds ?? DEFAULTS.cancelDrainSeconds,
    unansweredDeleteWaitSeconds: input.unansweredDeleteWaitSeconds ?? DEFAULTS.unansweredDeleteWaitSeconds,
    maxRetryRounds: input.maxRetryRounds ?? DEFAULTS.maxRetryRounds,
  };
}

/** One problem of an input: the field it is about (`input` for the whole), and what is wrong. */
export interface InputProblem {
  field: string;
  message: string;
}

export function inputProblemsOf(error: z.ZodError): InputProblem[] {
  return error.issues.map((issue) => ({ field: issue.path.length > 0 ? issue.path.join('.') : 'input', message: issue.message }));
}

/** The problems on one line: `field: message; field: message`. */
export function describeInputProblems(problems: readonly InputProblem[]): string {
  return problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
}

export type InputCheck = { ok: true; input: DeleteImageInput } | { ok: false; problems: string; issues: InputProblem[] };

export function checkInput(raw: unknown): InputCheck {
  const parsed = deleteImageInputSchema().safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  const issues = inputProblemsOf(parsed.error);
  return { ok: false, problems: describeInputProblems(issues), issues };
}

/** The longest reason an abandon takes (the abandon Update's validator refuses longer ones). */
export const ABANDON_REASON_MAX_LENGTH = 500;

/**
 * The abandon Update's argument: nothing, null, or `{ reason? }`. Strict like the deletion input: a
 * misspelt key (`Reason`) is refused, not accepted with its reason dropped.
 */
const buildAbandonRequestSchema = () =>
  z
    .object(
      { reason: text(ABANDON_REASON_MAX_LENGTH).optional() },
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `has an unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}; the only field is "reason"`
            : 'must be an object such as {"reason": "retired by hand"}, or nothing',
      },
    )
    .strict()
    .nullish();

let builtAbandonRequestSchema: ReturnType<typeof buildAbandonRequestSchema> | undefined;

/** The abandon request's schema, built on its first use (see the module's comment). */
export function abandonRequestSchema(): ReturnType<typeof buildAbandonRequestSchema> {
  builtAbandonRequestSchema ??= buildAbandonRequestSchema();
  return builtAbandonRequestSchema;
}

/** The problems of an abandon request, the request as a whole named `request`; none when it is valid. */
export function abandonRequestProblems(raw: unknown): InputProblem[] {
  const parsed = abandonRequestSchema().safeParse(raw);
  if (parsed.success) return [];
  return inputProblemsOf(parsed.error).map((problem) => (problem.field === 'input' ? { ...problem, field: 'request' } : problem));
}

/** One saga per image: `delete-image-<imageId>`; a dry run has its own id, so it never blocks a real deletion. */
export function workflowIdFor(imageId: string, dryRun = false): string {
  return dryRun ? `delete-image-${imageId}-dry-run` : `delete-image-${imageId}`;
}
