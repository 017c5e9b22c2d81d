/**
 * Telling a second Ctrl-C from the first one delivered twice. The worker, `npm start` and the
 * emulator command stop gracefully on a first SIGINT/SIGTERM and at once on a second; this
 * decides which is which.
 */
import { constants as osConstants } from 'node:os';

/**
 * A signal that comes this soon after the first is the same Ctrl-C, not a second one: a terminal
 * sends SIGINT to its whole foreground process group, and npm (`npm run worker`, `npm start`)
 * relays the SIGINT or SIGTERM it receives to the script it runs, so where the script's shell
 * execs node (bash as /bin/sh: macOS, Fedora) node gets one Ctrl-C twice, within milliseconds.
 * A person who means "stop now" presses again later than this.
 */
export const SAME_SIGNAL_WINDOW_MS = 250;

/**
 * Counts signals as a person sent them: the first, then each one that comes at least
 * SAME_SIGNAL_WINDOW_MS after the first (earlier ones are that first signal relayed: ignored).
 * Returns 'first', 'again' or 'relayed'.
 */
export function signalCounter(now: () => number = () => performance.now()): () => 'first' | 'again' | 'relayed' {
  let firstAt: number | undefined;
  return () => {
    const at = now();
    if (firstAt === undefined) {
      firstAt = at;
      return 'first';
    }
    return at - firstAt < SAME_SIGNAL_WINDOW_MS ? 'relayed' : 'again';
  };
}

/** The exit status of a process that ends because of a signal: 128 + its number (130 for SIGINT). */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 1);
}
