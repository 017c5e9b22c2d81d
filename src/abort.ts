/**
 * Waiting that an AbortSignal can end: the client's waits (an operator's Ctrl-C) and the cloud
 * calls of an activity (its cancellation) stop with the signal's reason, not with an error of
 * their own, so whoever aborted recognises what comes back.
 */

/** `work`, or a rejection with the signal's reason as soon as it aborts (`work` then goes on unheard). */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined);
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (the timer then cleared). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return unlessAborted(slept, signal).finally(() => clearTimeout(timer));
}

/** For a signal that has already aborted: a rejection with its reason, so no work starts for nothing. */
export function rejectionOf(signal: AbortSignal): Promise<never> {
  return new Promise<never>(() => signal.throwIfAborted());
}
