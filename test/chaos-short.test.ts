/**
 * The short chaos run of `npm test` (the full one is `npm run chaos`): 12 images, a worker
 * process SIGKILLed mid-run, the emulator SIGKILLed and restarted on its state file, the
 * Temporal dev server restarted on its database; then every image is checked against its
 * plan, the emulator's state and its call log (test/chaos/verify.ts).
 * It starts its own dev server: the run restarts it, which the shared one must not be.
 */
import { describe, expect, it } from 'vitest';
import { randomSeed } from './chaos/random.js';
import { formatReport } from './chaos/report.js';
import { runChaos } from './chaos/run.js';

describe('chaos, short', () => {
  it('ends every deletion as planned through a worker kill and emulator and dev-server restarts', async ({ signal }) => {
    const seed = randomSeed();
    const report = await runChaos({
      images: 12,
      workers: 1,
      workerKills: 1,
      devServerRestarts: 1,
      emulatorRestarts: 1,
      seed,
      deadlineMs: 150_000,
      eventGapMs: [300, 1_500],
      quietKills: true,
      log: (line) => process.stderr.write(`[chaos] ${line}\n`),
      // A timed-out or cancelled test stops the processes of its run.
      signal,
    });
    process.stderr.write(`${formatReport(report)}\n`);
    expect(report.mismatches, `seed ${seed}: replay with npm run chaos -- --images 12 --workers 1 --kills 1 --quiet-kills --seed ${seed}`).toEqual([]);
    expect(report.workerKills).toBe(1);
    expect(report.emulatorRestarts).toBe(1);
    expect(report.devServerRestarts).toBe(1);
    expect(report.retriesSent).toBeGreaterThanOrEqual(1);
    expect(report.outcomes.get('deleted after retry')).toBeGreaterThanOrEqual(1);
    expect(report.outcomes.get('compensated')).toBeGreaterThanOrEqual(1);
    expect([...report.faultsInjected.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
  }, 180_000);
});
