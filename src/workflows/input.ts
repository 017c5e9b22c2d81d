/**
 * The workflow's input contract: one zod schema shared by the workflow, the client,
 * the CLI, and (as JSON Schema in schema/) services written in other languages.
 * Pure module: imported by workflow code, and one of the modules every workflow of a worker
 * thread shares (see shared-modules.ts), so the schema is built once per thread, not once per
 * workflow. It is built on first use, after the SDK has deep-frozen the shared modules' exports:
 * zod completes parts of a schema on first use, which a frozen schema would refuse.
 */
import { z } from 'zod';

export const IMAGE_ID_MAX_LENGTH = 64;

/** `img-` or `imgc-` followed by lower-case letters and digits (ASCII only: no look-alikes). */
const imageIdSchema = () =>
  z
    .string({ error: 'imageId must be a string such as img-0123abcd' })
    .max(IMAGE_ID_MAX_LENGTH, { error: `imageId is longer than ${IMAGE_ID_MAX_LENGTH} characters` })
    .regex(/^imgc?-[a-z0-9]{4,59}$/, {
      error: 'imageId must look like img-<letters and digits> or imgc-<letters and digits> (lower-case ASCII)',
    });

/** A duration in whole seconds, bounded so a typo cannot park a workflow for a year. */
const seconds = (max: number, label: string) =>
  z
    .number({ error: `${label} must be a number of seconds` })
    .int({ error: `${label} must be whole seconds` })
    .min(1, { error: `${label} must be at least 1 second` })
    .max(max, { error: `${label} must be at most ${max} seconds` });

export const DEFAULTS = {
  /** Region deletes at once; the worker's per-action rate limit still paces the calls. */
  regionConcurrency: 16,
  templateAttempts: 5,
  transientAttempts: 10,
  parkTimeoutSeconds: 7 * 24 * 3600,
  retryInitialIntervalMs: 1_000,
  cancelDrainSeconds: 120,
  /**
   * Retry rounds one deletion takes at most. Each adds about 20 history events and two Updates: at
   * this many the history stays well under Temporal's 10 240-event warning and the server's limit
   * of Updates per run. Past it a person abandons and starts the deletion again.
   */
  maxRetryRounds: 100,
} as const;

const buildDeleteImageInputSchema = () =>
  z
    .object({
      imageId: imageIdSchema(),
      reason: z.string().max(500, { error: 'reason must be at most 500 characters' }).optional(),
      requestedBy: z.string().max(200, { error: 'requestedBy must be at most 200 characters' }).optional(),
      /** Validate and return the plan; change nothing. */
      dryRun: z.boolean().optional(),
      /** Wait this long for an image that is still being created, instead of refusing at once. */
      waitForCreationSeconds: seconds(6 * 3600, 'waitForCreationSeconds').optional(),
      /** Region deletes run in parallel, at most this many at once. */
      regionConcurrency: z.number().int().min(1).max(32).optional(),
      /** Attempts per template delete refused with DeleteTemplate.Failed, before compensating. */
      templateAttempts: z.number().int().min(1).max(50).optional(),
      /** Attempts for transient errors (throttling, InternalError, …) and unknown codes, per step. */
      transientAttempts: z.number().int().min(1).max(100).optional(),
      /** How long a parked deletion waits for an operator's retry or abandon. */
      parkTimeoutSeconds: seconds(30 * 24 * 3600, 'parkTimeoutSeconds').optional(),
      /** First retry interval of every activity (doubles up to 30 s); small values are for tests. */
      retryInitialIntervalMs: z.number().int().min(10).max(60_000).optional(),
      /**
       * Only for deletions that drain on cancel (those begun before CANCEL_STOPS_DELETE_RETRIES_PATCH):
       * how long a cancellation lets the deletes already running finish, their retries included,
       * before cancelling them. Kept so that their inputs stay valid.
       */
      cancelDrainSeconds: seconds(3600, 'cancelDrainSeconds').optional(),
      /** Retry rounds this deletion takes at most (default 100); then it must be abandoned and started again. */
      maxRetryRounds: z.number().int().min(1).max(DEFAULTS.maxRetryRounds).optional(),
    })
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
    maxRetryRounds: input.maxRetryRounds ?? DEFAULTS.maxRetryRounds,
  };
}

/** One line per problem, with the field it is about. */
export function describeInputProblems(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : 'input';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

export type InputCheck = { ok: true; input: DeleteImageInput } | { ok: false; problems: string };

export function checkInput(raw: unknown): InputCheck {
  const parsed = deleteImageInputSchema().safeParse(raw);
  return parsed.success ? { ok: true, input: parsed.data } : { ok: false, problems: describeInputProblems(parsed.error) };
}

/** One saga per image: `delete-image-<imageId>`; a dry run has its own id, so it never blocks a real deletion. */
export function workflowIdFor(imageId: string, dryRun = false): string {
  return dryRun ? `delete-image-${imageId}-dry-run` : `delete-image-${imageId}`;
}
