/**
 * Helpers for the client and CLI tests: unique images seeded into a test stack's
 * emulator (workflow ids are per image and the dev server is shared by every test file),
 * and the CLI run in-process with captured output.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { EmulatorAdmin } from '../../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { runCli } from '../../src/cli/main.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createImgdelClient, type ImgdelClient } from '../../src/client/index.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { testNamespace, testTemporalAddress } from '../helpers/temporal.js';

export { grpcError } from '../helpers/grpc-error.js';

/** img-t + 12 random lower-case letters and digits: valid, and new on every call. */
export function uniqueImageId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (const byte of randomBytes(12)) suffix += alphabet.charAt(byte % alphabet.length);
  return `img-t${suffix}`;
}

export interface ImageSpec {
  regions?: string[];
  /** How many CloudDesktop templates reference it. */
  templates?: number;
  /** An app instance group uses it in its first region (validation rejects it). */
  inUse?: boolean;
}

/** Seeds one fresh image (default: 3 regions, 1 template) and returns its id. */
export async function seedImage(admin: EmulatorAdmin, spec: ImageSpec = {}): Promise<string> {
  const imageId = uniqueImageId();
  const regions = spec.regions ?? ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'];
  const templateCount = spec.templates ?? 1;
  const firstRegion = regions[0] ?? 'cn-shanghai';
  await admin.seed({
    images: [
      {
        imageId,
        imageName: `test ${imageId}`,
        imageType: 'User',
        aliUid: EMULATOR_DEFAULTS.accountId,
        status: 'AVAILABLE',
        productType: 'CloudDesktop',
        regions,
      },
    ],
    templates: Array.from({ length: templateCount }, (_, index) => ({
      templateId: `b-${imageId.slice(4)}${index}`,
      templateName: `tpl-${imageId}-${index}`,
      imageId,
      TemplateType: 'USER_TEMPLATE',
      ProductType: 'CloudDesktop',
      SystemDiskSize: 80,
      RegionConfigList: [{ RegionId: firstRegion, OfficeSiteId: `${firstRegion}+dir-test`, ResourceInstanceType: 'eds.enterprise_office.4c8g' }],
    })),
    instances: spec.inUse ? [{ kind: 'AppInstanceGroup', id: `aig-${imageId.slice(4)}`, imageId, regionId: firstRegion }] : [],
  });
  return imageId;
}

/** The environment the CLI (or a client) needs to reach the test stack. */
export function stackEnv(stack: Pick<TestStack, 'taskQueue'>): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: testNamespace(),
    IMGDEL_TASK_QUEUE: stack.taskQueue,
    TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process, as `imgdel <argv>` would, capturing what it prints. */
export async function imgdel(
  argv: string[],
  env: Record<string, string | undefined>,
  options: { tty?: boolean; signal?: AbortSignal } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty === true },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    pollMs: 100,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { code, stdout, stderr };
}

const outcomeErrorSchema = z.strictObject({ code: z.string().min(1), message: z.string(), requestId: z.string().min(1).optional() });

/** The documented --json shape (plus the optional `details` paragraph and `unrestoredTemplates`), strictly. */
export const outcomeJsonSchema = z.strictObject({
  workflowId: z.string().startsWith('delete-image-'),
  imageId: z.string(),
  status: z.enum(['running', 'awaiting-retry', 'deleted', 'rejected', 'compensated', 'abandoned', 'failed', 'cancelled', 'planned']),
  phase: z.string(),
  pivotRegion: z.string().optional(),
  regions: z.array(
    z.strictObject({ regionId: z.string(), status: z.string(), attempts: z.number().int().min(0), lastError: outcomeErrorSchema.optional() }),
  ),
  templates: z.array(
    z.strictObject({
      templateId: z.string(),
      templateName: z.string(),
      status: z.string(),
      attempts: z.number().int().min(0),
      lastError: outcomeErrorSchema.optional(),
    }),
  ),
  error: outcomeErrorSchema.optional(),
  details: z.string().optional(),
  unrestoredTemplates: z
    .array(
      z.strictObject({
        templateId: z.string(),
        templateName: z.string(),
        imageId: z.string(),
        fields: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  parkedUntil: z.iso.datetime().optional(),
  // delete --json only: whether that call started the run, or found the image already deleted.
  started: z.boolean().optional(),
  alreadyDeleted: z.literal(true).optional(),
});

export function parseOutcomeJson(stdout: string): z.infer<typeof outcomeJsonSchema> {
  return outcomeJsonSchema.parse(JSON.parse(stdout));
}

/**
 * One test stack and one imgdel client on it for the whole file; `use` receives them
 * once they are up (the hooks close both at the end).
 */
export function useClientStack(use: (stack: TestStack, imgdel: ImgdelClient) => void): void {
  let stack: TestStack | undefined;
  let imgdel: ImgdelClient | undefined;
  beforeAll(async () => {
    stack = await startTestStack();
    imgdel = createImgdelClient({ env: stackEnv(stack) });
    use(stack, imgdel);
  });
  // A fault a test adds (slow or failing calls for every image) never outlives it, failed or not.
  afterEach(async () => {
    await stack?.admin.clearFaults();
  });
  afterAll(async () => {
    await imgdel?.close();
    await stack?.close();
  });
}
