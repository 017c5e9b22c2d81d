/**
 * Which of a deletion's phase changes the saga writes to the worker's log, and at what level.
 * A clean deletion writes one line, when it ends; a deletion that waits, compensates or parks
 * writes one when it begins to and one when it moves on, so an operator who follows the log
 * (not the UI) still learns that a deletion needs them. The ordinary steps are in the progress
 * query and the UI's current details instead: a line each would cost every deletion. Pure.
 */
import type { DeletionStatus, Phase } from './model.js';

export type TransitionLogLevel = 'info' | 'warn';

/** Phases a person may need to hear about: a wait, a rollback, a park. */
const NOTABLE_PHASES: ReadonlySet<Phase> = new Set<Phase>(['waiting-for-creation', 'compensating', 'awaiting-retry']);

/** Endings that leave nothing for a person to do. */
const QUIET_ENDINGS: ReadonlySet<DeletionStatus> = new Set<DeletionStatus>(['deleted', 'planned', 'cancelled']);

/** The level to log a move from `previous` to `next` at, or undefined to log nothing. */
export function transitionLogLevel(previous: Phase, next: { status: DeletionStatus; phase: Phase }): TransitionLogLevel | undefined {
  if (next.phase === previous) return undefined;
  if (next.phase === 'finished') return QUIET_ENDINGS.has(next.status) ? 'info' : 'warn';
  if (next.phase === 'compensating' || next.phase === 'awaiting-retry') return 'warn';
  if (NOTABLE_PHASES.has(next.phase) || NOTABLE_PHASES.has(previous)) return 'info';
  return undefined;
}
