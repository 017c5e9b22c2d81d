/**
 * Ctrl-C (or SIGTERM) while a command waits: the command stops at once, with this as its
 * signal's reason. Only the command stops: what Temporal had already accepted goes on.
 */
export class CommandInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal}`);
    this.name = 'CommandInterrupted';
  }

  /** What the person who pressed Ctrl-C needs to know: nothing was undone, and where to look. */
  explain(imageId: string | undefined): string {
    const look = imageId === undefined ? '' : `: see imgdel status ${imageId}`;
    return `stopped by ${this.signal}. Only this command stopped: what Temporal had already accepted goes on (a deletion keeps running without it; imgdel cancel stops one)${look}`;
  }
}
