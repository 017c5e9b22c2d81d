/**
 * A small saga helper: compensations are registered before their forward step and
 * run in reverse, inside a non-cancellable scope, so cancelling the workflow during
 * compensation never leaves it half done. Each compensation must be idempotent (it
 * may run for a step that never took effect) and retries through its activity's
 * policy; one that still fails is returned to the caller, never swallowed.
 */
import { CancellationScope } from '@temporalio/workflow';

export interface CompensationFailure {
  description: string;
  error: unknown;
}

interface Compensation {
  description: string;
  run: () => Promise<void>;
}

export class Saga {
  private readonly compensations: Compensation[] = [];

  /** Register the undo of the step you are about to take. */
  addCompensation(description: string, run: () => Promise<void>): void {
    this.compensations.push({ description, run });
  }

  get pendingCompensations(): number {
    return this.compensations.length;
  }

  /** Runs every registered compensation, newest first; returns those that failed. */
  async compensate(): Promise<CompensationFailure[]> {
    return CancellationScope.nonCancellable(async () => {
      const failures: CompensationFailure[] = [];
      for (const compensation of [...this.compensations].reverse()) {
        try {
          await compensation.run();
        } catch (error) {
          failures.push({ description: compensation.description, error });
        }
      }
      this.compensations.length = 0;
      return failures;
    });
  }
}
