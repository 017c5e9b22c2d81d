/**
 * What the benchmark must undo before it exits (servers and workers it started, faults it set on
 * a given emulator, its build directory), last added first. A signal and the end of the run both
 * ask for it, often at the same time (Ctrl-C also stops the dev server, which fails the scenario
 * running): the steps run once, and a second run() answers the first one's promise. The run goes
 * on after a signal until the process exits, so a step added after the undoing began runs at once.
 */
export class Cleanups {
  private readonly steps: Array<() => Promise<void>> = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /** Whether run() has been called. */
  get started(): boolean {
    return this.running !== undefined;
  }

  /**
   * Adds a step and answers a function that runs it now (its owner's own clean-up, e.g. a
   * `finally`); it runs once, whichever asks first, and run() waits for it if it is under way.
   */
  add(step: () => Promise<void>): () => Promise<void> {
    let done: Promise<void> | undefined;
    const once = (): Promise<void> => (done ??= step());
    if (this.running !== undefined) {
      void once().catch((error: unknown) => this.log(`cleanup failed: ${String(error)}`));
    } else {
      this.steps.push(once);
    }
    return once;
  }

  /** Runs every step, last added first, each once; a failed step is logged and the others still run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        await step().catch((error: unknown) => this.log(`cleanup failed: ${String(error)}`));
      }
    })();
    return this.running;
  }
}
