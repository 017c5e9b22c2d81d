/**
 * The imgdel worker process: polls the image-deletion task queue and runs the deletion
 * workflow and its activities against Alibaba Cloud (or the emulator, via IMGDEL_CLOUD_ENDPOINT).
 *
 *   npm run worker                      # development: bundles src/workflows at start
 *   NODE_ENV=production npm run worker  # production: loads dist/workflow-bundle.js (npm run build:bundle)
 *
 * SIGINT/SIGTERM: graceful shutdown (running activities get IMGDEL_SHUTDOWN_GRACE_MS to finish);
 * a second signal exits at once (one within SAME_SIGNAL_WINDOW_MS of the first is that one, relayed).
 */
import type { Logger } from '@temporalio/common';
import { GracefulShutdownPeriodExpiredError, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { createAlibabaCloudAdapter } from './cloud/alibaba-adapter.js';
import type { CloudPort } from './cloud/port.js';
import { ConfigError, envSchema, loadConfig, type Config } from './config.js';
import { cloudCallMetrics } from './observability/cloud-metrics.js';
import { SERVER_PROBE_TIMEOUT_MS, startHealthServer, type RunningHealthServer } from './observability/health.js';
import { imageIdLogAttributes } from './observability/log-attributes.js';
import { createLogger } from './observability/logger.js';
import { shutdownAbandonLog } from './observability/shutdown-log.js';
import { installRuntime, metricsBindAddress } from './observability/metrics.js';
import { configSecrets, redactedConfig } from './observability/redact.js';
import { namespaceNotFoundMessage, nativeConnectionOptions, temporalRefusedMessage } from './temporal-connection.js';
import { GrpcStatus, grpcCode, isRefusal, serverReason } from './grpc-status.js';
import { TemporalUnavailableError } from './client/errors.js';
import { resolveWorkflowSource, WORKFLOW_BUNDLER_OPTIONS, type WorkflowSource } from './workflow-source.js';
import { ignoreClosedOutput } from './closed-output.js';
import { isEntryPoint } from './entry-point.js';
import { exitCodeForSignal, SAME_SIGNAL_WINDOW_MS, signalCounter } from './signal-counter.js';
import { nodeErrorCode } from './node-error.js';

/** Exit status for configuration errors (sysexits EX_CONFIG), so supervisors can tell them apart. */
export const CONFIG_ERROR_EXIT_CODE = 78;
/** Exit status when Temporal cannot be reached at start (sysexits EX_UNAVAILABLE): worth restarting later. */
export const TEMPORAL_UNAVAILABLE_EXIT_CODE = 69;

/** The account whose images this worker deletes; the worker refuses to start without it. */
export function requireAccountId(config: Config): string {
  const accountId = config.cloud.accountId;
  if (accountId === undefined) {
    throw new ConfigError(
      'IMGDEL_ACCOUNT_ID is not set: the worker deletes only images owned by this account; ' +
        'set it to the numeric Alibaba Cloud account id (for example IMGDEL_ACCOUNT_ID=1234567890123456)',
    );
  }
  return accountId;
}

export interface ImgdelWorkerOptions {
  config: Config;
  /** Reused and left open by close(); when absent, one is opened from config.temporal and closed by close(). */
  connection?: NativeConnection;
  /** The cloud the activities call; the Alibaba Cloud adapter for config.cloud when absent. */
  cloud?: CloudPort;
  /** Overrides config.taskQueue (tests use one queue each). */
  taskQueue?: string;
  logger?: Logger;
}

export interface ImgdelWorker {
  worker: Worker;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowSource: WorkflowSource;
  /** Runs the worker until it is shut down (worker.shutdown() or close()). */
  run(): Promise<void>;
  /** Shuts the worker down (if it runs), waits for it, and closes the connection if this module opened it. */
  close(): Promise<void>;
}

function isStopped(worker: Worker): boolean {
  const state = worker.getState();
  return state === 'STOPPED' || state === 'FAILED';
}

async function waitUntilStopped(worker: Worker): Promise<void> {
  while (!isStopped(worker)) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
}

export async function createImgdelWorker(options: ImgdelWorkerOptions): Promise<ImgdelWorker> {
  const { config } = options;
  const accountId = requireAccountId(config);
  const logger = options.logger ?? createLogger({ level: config.worker.logLevel, format: config.worker.logFormat, secrets: configSecrets(config) });
  const workflowSource = resolveWorkflowSource(config.worker);
  const taskQueue = options.taskQueue ?? config.taskQueue;
  const target = nativeConnectionOptions(config);
  const cloud = options.cloud ?? createAlibabaCloudAdapter(config.cloud, { onCall: cloudCallMetrics(Runtime.instance().metricMeter) });

  const ownsConnection = options.connection === undefined;
  const address = target.connectionOptions.address ?? config.temporal.address;
  let connection: NativeConnection;
  try {
    connection = options.connection ?? (await NativeConnection.connect(target.connectionOptions));
  } catch (error) {
    throw connectFailure(error, address, target.namespace);
  }

  const workflowOptions: Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle' | 'bundlerOptions'> =
    workflowSource.kind === 'bundle'
      ? { workflowBundle: { codePath: workflowSource.codePath } }
      : { workflowsPath: workflowSource.workflowsPath, bundlerOptions: WORKFLOW_BUNDLER_OPTIONS };

  let worker: Worker;
  try {
    await requireNamespace(connection, address, target.namespace);
    worker = await Worker.create({
      connection,
      namespace: target.namespace,
      taskQueue,
      activities: createActivities(cloud, { accountId }),
      interceptors: { activity: [imageIdLogAttributes, shutdownAbandonLog] },
      ...workflowOptions,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
      maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTaskExecutions,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      shutdownGraceTime: config.worker.shutdownGraceTimeMs,
      shutdownForceTime: config.worker.shutdownForceTimeMs,
    });
  } catch (error) {
    if (ownsConnection) await connection.close();
    throw error;
  }
  if (workflowSource.kind === 'bundle') {
    logger.info('loaded the prebuilt workflow bundle', { workflowBundle: workflowSource.codePath, taskQueue });
  } else {
    logger.info('bundled the workflows from source', { workflowsPath: workflowSource.workflowsPath, taskQueue });
  }

  let running: Promise<void> | undefined;
  let closed = false;
  return {
    worker,
    connection,
    namespace: target.namespace,
    taskQueue,
    workflowSource,
    run() {
      running ??= worker.run();
      return running;
    },
    async close() {
      if (closed) return;
      closed = true;
      const state = worker.getState();
      if (state === 'INITIALIZED' && running === undefined) {
        // A created worker holds the connection until it has run; run it out at once.
        await worker.runUntil(Promise.resolve());
      } else {
        if (state === 'RUNNING') worker.shutdown();
        if (running) await running.catch(() => undefined);
        else await waitUntilStopped(worker);
      }
      if (ownsConnection) await connection.close();
    },
  };
}

/**
 * What a first SIGINT/SIGTERM does to a running worker: `announce()`, then a graceful shutdown.
 * False when the worker is no longer RUNNING: the SDK shuts a worker down by itself after an
 * unexpected error (a workflow thread that died), and worker.shutdown() would then throw, which in
 * a signal handler ends the process at once, without the drain it is in the middle of.
 */
export function beginGracefulShutdown(worker: Worker, announce: () => void = () => undefined): boolean {
  if (worker.getState() !== 'RUNNING') return false;
  announce();
  worker.shutdown();
  return true;
}

/**
 * The worker process: logger, Runtime (metrics), health endpoint, worker; runs until SIGINT/SIGTERM.
 * Resolves once the worker has shut down gracefully; rejects when it fails.
 */
export async function runWorker(config: Config = loadConfig()): Promise<void> {
  const logger = createLogger({ level: config.worker.logLevel, format: config.worker.logFormat, secrets: configSecrets(config) });
  try {
    await runWithLogger(config, logger);
  } catch (error) {
    // Why the worker ended belongs in its structured log too, not only on stderr (a configuration
    // error stays the one stderr line its exit status promises).
    if (!(error instanceof ConfigError)) logger.error('imgdel worker failed', { error });
    throw error;
  }
}

/**
 * The SDK would find a missing namespace (or credentials the server refuses) too, but only after
 * bundling the workflows and as a transport error; checked first, it is a configuration error that
 * says what to set.
 */
async function requireNamespace(connection: NativeConnection, address: string, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (error) {
    if (grpcCode(error) === GrpcStatus.NOT_FOUND) throw new ConfigError(namespaceNotFoundMessage(address, namespace));
    if (isRefusal(error)) throw new ConfigError(temporalRefusedMessage(address, namespace, serverReason(error)));
    throw error;
  }
}

/**
 * Why the worker could not connect, in words: the server refusing its credentials is a
 * configuration error; anything else (nothing listening, DNS, TLS) means Temporal cannot be
 * reached. Core reports both as a TransportError with only its Rust text, hence the text match.
 */
export function connectFailure(error: unknown, address: string, namespace: string): Error {
  const text = error instanceof Error ? error.message : String(error);
  const messages = [...text.matchAll(/message: \\?"([^"\\]*)/g)].map((match) => match[1] ?? '');
  const reason = messages.filter((message) => message.trim() !== '').at(-1) ?? text;
  if (/\b(Unauthenticated|PermissionDenied)\b/.test(text)) return new ConfigError(temporalRefusedMessage(address, namespace, reason));
  return new TemporalUnavailableError(address, reason);
}

/** A health port another process holds (or one this process may not bind) is a configuration error naming IMGDEL_HEALTH_PORT. */
async function startHealthServerOrExplain(options: Parameters<typeof startHealthServer>[0]): Promise<RunningHealthServer> {
  try {
    return await startHealthServer(options);
  } catch (error) {
    const code = nodeErrorCode(error);
    const address = `${options.host}:${options.port}`;
    if (code === 'EADDRINUSE') {
      throw new ConfigError(`IMGDEL_HEALTH_PORT: ${address} is already in use by another process; choose a free port, or unset IMGDEL_HEALTH_PORT to serve no health endpoint`);
    }
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(`IMGDEL_HEALTH_PORT: cannot listen on ${address} (${code}); choose a port above 1023, or an IMGDEL_OBSERVABILITY_HOST of this machine`);
    }
    throw error;
  }
}

async function runWithLogger(config: Config, logger: Logger): Promise<void> {
  requireAccountId(config);
  resolveWorkflowSource(config.worker);
  logger.info('imgdel worker starting', { config: redactedConfig(config) });
  installRuntime(config.worker, logger);
  const metricsAddress = metricsBindAddress(config.worker);
  if (metricsAddress) logger.info('Prometheus metrics enabled', { metrics: `http://${metricsAddress}/metrics` });

  let imgdel: ImgdelWorker | undefined;
  let health: RunningHealthServer | undefined;
  if (config.worker.healthPort !== undefined) {
    health = await startHealthServerOrExplain({
      port: config.worker.healthPort,
      host: config.worker.observabilityHost,
      state: () => imgdel?.worker.getState() ?? 'STARTING',
      reachesServer: async () => {
        const connection = imgdel?.connection;
        if (connection === undefined) return false;
        await connection.withDeadline(Date.now() + SERVER_PROBE_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}));
        return true;
      },
    });
    logger.info('health endpoint listening', { health: health.url });
  }

  const countSignal = signalCounter();
  let shutdownRequestedAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const received = countSignal();
    if (imgdel === undefined) {
      // Nothing runs yet: there is nothing to drain.
      logger.warn(`received ${signal} while starting: exiting now`, { signal });
      process.exit(exitCodeForSignal(signal));
    }
    if (received === 'relayed') {
      logger.info(`received ${signal} again within ${SAME_SIGNAL_WINDOW_MS} ms: the same Ctrl-C, relayed (npm and the terminal both send it); still shutting down gracefully`, {
        signal,
      });
      return;
    }
    if (received === 'again') {
      logger.warn(`received ${signal} again: exiting now without waiting for running activities`, { signal });
      process.exit(exitCodeForSignal(signal));
    }
    const began = beginGracefulShutdown(imgdel.worker, () => {
      logger.info(`received ${signal}: shutting down gracefully`, { signal, shutdownGraceTimeMs: config.worker.shutdownGraceTimeMs });
      shutdownRequestedAt = Date.now();
    });
    if (!began) {
      const state = imgdel.worker.getState();
      logger.warn(`received ${signal} while the worker is already shutting down (${state}): waiting for it; a second signal exits at once`, {
        signal,
        state,
      });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    imgdel = await createImgdelWorker({ config, logger });
    logger.info('imgdel worker running', {
      address: config.temporal.profile ? `profile ${config.temporal.profile}` : config.temporal.address,
      namespace: imgdel.namespace,
      taskQueue: imgdel.taskQueue,
      workflowSource: imgdel.workflowSource.kind,
    });
    try {
      await imgdel.run();
    } catch (error) {
      // The SDK's GracefulShutdownPeriodExpiredError can be replaced by the error of releasing a
      // worker whose activity is still in use: what tells is the force time having passed.
      const forced =
        shutdownRequestedAt !== undefined && Date.now() - shutdownRequestedAt >= config.worker.shutdownForceTimeMs;
      if (forced || error instanceof GracefulShutdownPeriodExpiredError) {
        logger.error(
          `activities were still running ${config.worker.shutdownForceTimeMs} ms after the shutdown began: exiting without them; Temporal retries each once its heartbeat timeout has passed`,
          { shutdownGraceTimeMs: config.worker.shutdownGraceTimeMs, shutdownForceTimeMs: config.worker.shutdownForceTimeMs },
        );
      }
      throw error;
    }
    logger.info('imgdel worker stopped: shutdown complete');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await imgdel?.close().catch((error: unknown) => logger.warn('closing the worker failed', { error }));
    await health?.close();
  }
}

const USAGE = `Usage: npm run worker            (development: bundles src/workflows at start)
       npm run worker:prod       (production: compiled JavaScript and the prebuilt workflow bundle)

Runs an imgdel worker: polls the task queue (IMGDEL_TASK_QUEUE, default image-deletion) and runs the
image-deletion workflow and its activities. Configured only through the environment; every variable,
its default and an example are in the README, "Configuration reference":

  ${Object.keys(envSchema.shape).join('\n  ')}

SIGINT/SIGTERM shut it down gracefully: running activities get IMGDEL_SHUTDOWN_GRACE_MS to finish, then
they are cancelled and their cloud calls abandoned (Temporal retries them elsewhere). A second signal
(${SAME_SIGNAL_WINDOW_MS} ms or more after the first; an earlier one is the first relayed, as npm does)
exits at once, and so does the worker itself when activities still run once the grace time and one
cloud call's timeouts (IMGDEL_CLOUD_CONNECT_TIMEOUT_MS + IMGDEL_CLOUD_READ_TIMEOUT_MS) and 5 s more
have passed.
Exit status: 0 after a clean shutdown, ${CONFIG_ERROR_EXIT_CODE} for a configuration error, ${TEMPORAL_UNAVAILABLE_EXIT_CODE} when Temporal
cannot be reached at start, 128 + the signal's number (130, 143) for a signal while it starts or a
second signal, 1 otherwise.
`;

if (isEntryPoint(import.meta.url) && (process.argv.includes('--help') || process.argv.includes('-h'))) {
  process.stdout.write(USAGE);
} else if (isEntryPoint(import.meta.url)) {
  // npm start pipes a worker's output; killed outright, it leaves the worker running (the next npm
  // start stops it) and a write into its closed pipe must not end the worker on its own.
  ignoreClosedOutput(process.stdout);
  ignoreClosedOutput(process.stderr);
  runWorker().then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      if (error instanceof ConfigError) {
        process.stderr.write(`imgdel worker: configuration error: ${error.message}\n`);
        process.exit(CONFIG_ERROR_EXIT_CODE);
      }
      if (error instanceof TemporalUnavailableError) {
        process.stderr.write(`imgdel worker: ${error.message}\n`);
        process.exit(TEMPORAL_UNAVAILABLE_EXIT_CODE);
      }
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`imgdel worker: failed: ${message}\n`);
      process.exit(1);
    },
  );
}
