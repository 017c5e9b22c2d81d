/**
 * One WARN line for every activity the worker's shutdown cut short (still running when
 * IMGDEL_SHUTDOWN_GRACE_MS ended): the SDK logs that only at DEBUG ("Activity completed as
 * cancelled"), so at the default level a shutdown that abandoned work read like one that drained.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export const ABANDONED_AT_SHUTDOWN_MESSAGE =
  'activity cut short by the worker shutdown: still running when the grace time ended; Temporal retries it';

export const shutdownAbandonLog: ActivityInterceptorsFactory = (context) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (error) {
        if (context.cancellationDetails?.workerShutdown === true) context.log.warn(ABANDONED_AT_SHUTDOWN_MESSAGE);
        throw error;
      }
    },
  },
});
