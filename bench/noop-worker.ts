/**
 * The no-op baseline's worker process: the same connection, runtime, logger and tuning
 * (IMGDEL_MAX_CONCURRENT_*, IMGDEL_MAX_CACHED_WORKFLOWS) as src/worker.ts, read from
 * the same environment, but registering bench/noop-workflow.ts and its do-nothing activities.
 *
 *   node --import tsx bench/noop-worker.ts   (started by bench/run.ts)
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/observability/logger.js';
import { installRuntime } from '../src/observability/metrics.js';
import { configSecrets } from '../src/observability/redact.js';
import { nativeConnectionOptions } from '../src/temporal-connection.js';
import { WORKFLOW_BUNDLER_OPTIONS } from '../src/workflow-source.js';
import { createNoopActivities } from './noop-activities.js';

const NOOP_WORKFLOWS_PATH = fileURLToPath(new URL('./noop-workflow.ts', import.meta.url));

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.worker.logLevel, format: config.worker.logFormat, secrets: configSecrets(config) });
  installRuntime(config.worker, logger);
  const target = nativeConnectionOptions(config);
  const connection = await NativeConnection.connect(target.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: config.taskQueue,
    // Like src/worker.ts: a prebuilt bundle when IMGDEL_WORKFLOW_BUNDLE names one, else bundled from source.
    ...(config.worker.workflowBundlePath === undefined
      ? { workflowsPath: NOOP_WORKFLOWS_PATH, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS }
      : { workflowBundle: { codePath: resolve(config.worker.workflowBundlePath) } }),
    activities: createNoopActivities(),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTaskExecutions,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    shutdownGraceTime: config.worker.shutdownGraceTimeMs,
  });
  const stop = (): void => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.info('noop worker running', { taskQueue: config.taskQueue });
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`noop worker: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
