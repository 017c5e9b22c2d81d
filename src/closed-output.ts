import { nodeErrorCode } from './node-error.js';

/**
 * A closed terminal (SIGHUP) or a reader that went away (a parent killed outright) makes writes to
 * stdout/stderr fail with EIO or EPIPE. Unhandled, that error ends the process at once; the lines
 * are lost anyway, so the process goes on and stops the way it was meant to (a signal, its own end).
 */
export function ignoreClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: unknown) => {
    const code = nodeErrorCode(error);
    if (code === 'EIO' || code === 'EPIPE') return;
    throw error;
  });
}
