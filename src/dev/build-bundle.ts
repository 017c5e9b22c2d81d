/**
 * Prebuilds the workflow bundle for production workers (npm run build:bundle), so a worker
 * starts without webpack and every replica runs byte-identical workflow code.
 *
 *   npm run build:bundle                 # → dist/workflow-bundle.js
 *   npm run build:bundle -- out/bundle.js
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Logger } from '@temporalio/common';
import { isEntryPoint } from '../entry-point.js';
import { DEFAULT_WORKFLOW_BUNDLE_PATH, WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_SOURCE_PATH } from '../workflow-source.js';

export interface BuildBundleOptions {
  /** Where to write the bundle; dist/workflow-bundle.js by default. */
  outputPath?: string;
  /** The workflow entry module; src/workflows/index.ts by default. */
  workflowsPath?: string;
  logger?: Logger;
}

/** A logger that drops webpack's output: for the tests and the benchmark, which bundle as a step of their own. */
export const silentBundlerLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export interface BuiltBundle {
  codePath: string;
  bytes: number;
}

export async function buildWorkflowBundle(options: BuildBundleOptions = {}): Promise<BuiltBundle> {
  const codePath = resolve(options.outputPath ?? DEFAULT_WORKFLOW_BUNDLE_PATH);
  const { code } = await bundleWorkflowCode({
    ...WORKFLOW_BUNDLER_OPTIONS,
    workflowsPath: options.workflowsPath ?? WORKFLOWS_SOURCE_PATH,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await mkdir(dirname(codePath), { recursive: true });
  await writeFile(codePath, code);
  return { codePath, bytes: Buffer.byteLength(code) };
}

if (isEntryPoint(import.meta.url)) {
  buildWorkflowBundle({ ...(process.argv[2] ? { outputPath: process.argv[2] } : {}) }).then(
    ({ codePath, bytes }) => {
      process.stdout.write(`workflow bundle written: ${codePath} (${Math.round(bytes / 1024)} KiB)\n`);
    },
    (error: unknown) => {
      process.stderr.write(`build:bundle failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
