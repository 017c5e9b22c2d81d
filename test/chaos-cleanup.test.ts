/**
 * A chaos run that cannot start leaves nothing running: here its dev server cannot start (a
 * TEMPORAL_CLI that is no binary), while its emulator does, and must be stopped. Under vitest
 * no exit hook runs when a test process ends, so a process the run does not stop outlives it.
 * An aborted run (Ctrl-C) stops at once, even while it retries a call to a server that is gone.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FULL_RUN, persistently, runChaos } from './chaos/run.js';
import { processCommandLines } from './helpers/processes.js';

/** Command lines of the processes with an argument under `dir` (Linux /proc). */
function processesUnder(dir: string): string[] {
  return processCommandLines()
    .filter(({ args }) => args.some((arg) => arg.startsWith(`${dir}/`)))
    .map(({ args }) => args.join(' '));
}

const workDirs: string[] = [];
const temporalCli = process.env.TEMPORAL_CLI;

afterEach(async () => {
  if (temporalCli === undefined) delete process.env.TEMPORAL_CLI;
  else process.env.TEMPORAL_CLI = temporalCli;
  for (const dir of workDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('chaos run cleanup', () => {
  it.skipIf(!existsSync('/proc/self/cmdline'))('stops the emulator it started when the dev server cannot start', async () => {
    process.env.TEMPORAL_CLI = join(process.cwd(), 'no-such-temporal-binary');
    let workDir: string | undefined;
    const run = runChaos({
      ...FULL_RUN,
      images: 6,
      seed: 1,
      log: (line) => {
        const named = /work dir (\S+)$/.exec(line);
        if (named?.[1] !== undefined) {
          workDir = named[1];
          workDirs.push(named[1]);
        }
      },
    });
    await expect(run).rejects.toThrow('TEMPORAL_CLI');
    if (workDir === undefined) throw new Error('the run did not name its work directory');
    // A process the run left behind has been spawned by now, and stays.
    await sleep(2_000);
    expect(processesUnder(workDir)).toEqual([]);
  });

  it('stops retrying a Temporal call once the run is aborted', async () => {
    // A Ctrl-C in a terminal reaches the dev server too: the call would fail until the deadline.
    const aborting = new AbortController();
    let calls = 0;
    const call = persistently(
      'a call to a stopped server',
      Date.now() + 5_000,
      () => undefined,
      () => {
        calls += 1;
        if (calls === 2) aborting.abort();
        return Promise.reject(new Error('14 UNAVAILABLE: No connection established'));
      },
      undefined,
      aborting.signal,
    );
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(2);
  });
});
