/**
 * The benchmark undoes what it started once, in reverse order, even when a signal and the end of
 * the run (the scenario the signal made fail) ask for it at the same time.
 */
import { describe, expect, it } from 'vitest';
import { Cleanups } from '../../bench/lib/cleanups.js';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('Cleanups', () => {
  it('runs every step once, last added first, when run() is called twice at once', async () => {
    const ran: string[] = [];
    const cleanups = new Cleanups(() => undefined);
    for (const name of ['server', 'emulator', 'build', 'workers', 'connection']) {
      cleanups.add(async () => {
        ran.push(`${name} start`);
        await tick();
        ran.push(`${name} end`);
      });
    }
    const bySignal = cleanups.run();
    await tick();
    const byFinally = cleanups.run();
    await Promise.all([bySignal, byFinally]);
    expect(ran).toEqual(
      ['connection', 'workers', 'build', 'emulator', 'server'].flatMap((name) => [`${name} start`, `${name} end`]),
    );
  });

  it('logs a failed step and runs the others', async () => {
    const logged: string[] = [];
    const ran: string[] = [];
    const cleanups = new Cleanups((line) => logged.push(line));
    cleanups.add(async () => {
      ran.push('first');
    });
    cleanups.add(() => Promise.reject(new Error('already closed')));
    await cleanups.run();
    expect(ran).toEqual(['first']);
    expect(logged).toEqual(['cleanup failed: Error: already closed']);
  });

  it('runs a step its owner already ran only once, and waits for it when it is under way', async () => {
    const ran: string[] = [];
    const cleanups = new Cleanups(() => undefined);
    const removeFault = cleanups.add(async () => {
      ran.push('remove fault start');
      await tick();
      ran.push('remove fault end');
    });
    cleanups.add(async () => {
      ran.push('later step');
    });
    const byOwner = removeFault();
    await cleanups.run();
    // run() waited for the removal its owner began, and did not begin another.
    expect(ran).toEqual(['remove fault start', 'later step', 'remove fault end']);
    await byOwner;
    await removeFault();
    expect(ran).toHaveLength(3);
  });

  it('runs a step added after run() began at once', async () => {
    const ran: string[] = [];
    const cleanups = new Cleanups(() => undefined);
    await cleanups.run();
    expect(cleanups.started).toBe(true);
    cleanups.add(async () => {
      ran.push('late');
    });
    await tick();
    expect(ran).toEqual(['late']);
  });
});
