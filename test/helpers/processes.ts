/**
 * The command lines of the machine's processes (Linux /proc), for tests that check a run left
 * nothing behind. Throws where there is no /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessCommandLine {
  pid: number;
  args: string[];
}

export function processCommandLines(): ProcessCommandLine[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        return [{ pid: Number(entry), args: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') }];
      } catch {
        return []; // Gone meanwhile.
      }
    });
}

/** The command lines (joined with spaces) of the processes whose command line contains `text`. */
export function processesMentioning(text: string): string[] {
  return processCommandLines()
    .map(({ pid, args }) => `${pid}: ${args.join(' ')}`)
    .filter((line) => line.slice(line.indexOf(': ') + 2).includes(text));
}
