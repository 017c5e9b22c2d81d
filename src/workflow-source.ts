/**
 * Where the worker gets its workflow code: bundled from source in development, or the
 * bundle prebuilt by `npm run build:bundle` in production. Shared by the worker and the
 * bundle builder, and light to import (no activities, no cloud SDK).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type WorkerTuning } from './config.js';

/**
 * The project's root: the nearest directory above this module with a package.json. This
 * module runs from src/ (tsx) or compiled from dist/src/ (`npm run build`), so a fixed
 * number of `..` would be right for only one of them.
 */
function findProjectRoot(moduleDirectory: string): string {
  for (let directory = moduleDirectory; ; ) {
    if (existsSync(join(directory, 'package.json'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return resolve(moduleDirectory, '..');
    directory = parent;
  }
}

const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** The workflow code in development: bundled from source when the worker starts. */
export const WORKFLOWS_SOURCE_PATH = resolve(projectRoot, 'src/workflows/index.ts');
/**
 * How every workflow bundle is built (the worker from source, `npm run build:bundle`, the
 * tests, the benchmark): modules shared by all workflows of a thread rather than evaluated
 * once per workflow (see src/workflows/shared-modules.ts).
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [resolve(projectRoot, 'src/workflows/shared-modules.ts')],
} as const satisfies { preloadModules: string[] };

/** Where `npm run build:bundle` writes the prebuilt workflow bundle. */
export const DEFAULT_WORKFLOW_BUNDLE_PATH = resolve(projectRoot, 'dist/workflow-bundle.js');

export type WorkflowSource = { kind: 'source'; workflowsPath: string } | { kind: 'bundle'; codePath: string };

/** Production (NODE_ENV=production or IMGDEL_WORKFLOW_BUNDLE set) loads a prebuilt bundle; development bundles the source. */
export function resolveWorkflowSource(worker: Pick<WorkerTuning, 'production' | 'workflowBundlePath'>): WorkflowSource {
  if (!worker.production && worker.workflowBundlePath === undefined) {
    return { kind: 'source', workflowsPath: WORKFLOWS_SOURCE_PATH };
  }
  const codePath = worker.workflowBundlePath ? resolve(worker.workflowBundlePath) : DEFAULT_WORKFLOW_BUNDLE_PATH;
  if (!existsSync(codePath)) {
    const variable = worker.workflowBundlePath ? 'IMGDEL_WORKFLOW_BUNDLE' : 'NODE_ENV=production';
    throw new ConfigError(
      `${variable}: the prebuilt workflow bundle ${codePath} does not exist; run npm run build:bundle ` +
        '(or, in development, unset NODE_ENV and IMGDEL_WORKFLOW_BUNDLE to bundle the workflows from source)',
    );
  }
  return { kind: 'bundle', codePath };
}
