/**
 * The Temporal Runtime's telemetry: Prometheus metrics (GET /metrics on IMGDEL_METRICS_PORT)
 * and native (Core) logs forwarded to our logger so every line has one format.
 * Runtime.install must run before the first connection; runWorker() does it.
 */
import type { LogLevel, Logger } from '@temporalio/common';
import { Runtime, type TelemetryOptions } from '@temporalio/worker';
import { ConfigError, type WorkerTuning } from '../config.js';

/** Core's INFO is chatty (one line per poller); it follows our level only when debugging. */
function coreLogLevel(level: LogLevel): LogLevel {
  return level === 'TRACE' || level === 'DEBUG' ? level : 'WARN';
}

export function metricsBindAddress(worker: Pick<WorkerTuning, 'metricsPort' | 'observabilityHost'>): string | undefined {
  if (worker.metricsPort === undefined) return undefined;
  const host = worker.observabilityHost.includes(':') ? `[${worker.observabilityHost}]` : worker.observabilityHost;
  return `${host}:${worker.metricsPort}`;
}

export function telemetryOptions(worker: Pick<WorkerTuning, 'metricsPort' | 'observabilityHost' | 'logLevel'>): TelemetryOptions {
  const bindAddress = metricsBindAddress(worker);
  return {
    logging: { forward: {}, filter: { core: coreLogLevel(worker.logLevel), other: 'ERROR' } },
    ...(bindAddress ? { metrics: { prometheus: { bindAddress } } } : {}),
  };
}

/**
 * Installs the process-wide Temporal Runtime with our logger and telemetry.
 * Signals are handled by runWorker (graceful first, forced second), not by the Runtime.
 * A metrics port another process holds is a configuration error naming IMGDEL_METRICS_PORT.
 */
export function installRuntime(worker: Pick<WorkerTuning, 'metricsPort' | 'observabilityHost' | 'logLevel'>, logger: Logger): Runtime {
  try {
    return Runtime.install({ logger, shutdownSignals: [], telemetryOptions: telemetryOptions(worker) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const address = metricsBindAddress(worker);
    if (address !== undefined && /metrics exporter/i.test(message) && /in use|os error 98/i.test(message)) {
      throw new ConfigError(`IMGDEL_METRICS_PORT: ${address} is already in use by another process; choose a free port, or unset IMGDEL_METRICS_PORT to serve no metrics`);
    }
    throw error;
  }
}
