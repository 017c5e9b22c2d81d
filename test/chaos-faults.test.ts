/**
 * The chaos run's book of faults (test/chaos/run.ts) across an emulator restart: every fault
 * that was left is in force in the new process from its first answer, and each keeps its role
 * under the id the new process gave it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultInput } from '../src/emulator/faults.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { admin } from './emulator/helpers.js';
import { FaultBook } from './chaos/run.js';

const emulators: RunningEmulator[] = [];

afterEach(async () => {
  for (const emulator of emulators.splice(0)) await emulator.close();
});

async function emulator(faults: readonly FaultInput[] = []): Promise<RunningEmulator> {
  const started = await startEmulator({ port: 0, faults });
  emulators.push(started);
  return started;
}

describe('the chaos run fault book', () => {
  it('knows each fault by its new id after a restart, when a fault ran out before it', async () => {
    let running = await emulator();
    const book = new FaultBook(() => running.url);
    await book.add('burst', { action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: 'b-chaos0t0', times: 2 }, 'img-chaos0');
    await book.add('park', { action: 'DeleteImage', code: 'ImageNotAllowDelete', imageId: 'img-chaos1', regionId: 'cn-beijing', times: -1 }, 'img-chaos1');
    await book.add('latency', { action: '*', latencyMs: 250, probability: 0.04, times: -1 });
    const [burst] = await book.list();
    if (burst === undefined) throw new Error('the burst was added');
    // The burst runs out: the emulator drops a spent fault, as this does.
    expect((await fetch(`${running.url}/_emulator/faults/${burst.id}`, { method: 'DELETE' })).ok).toBe(true);
    const before = await book.list();

    let givenAtStart: unknown;
    await book.restartWith(before, async (left) => {
      running = await emulator(left);
      givenAtStart = (await admin(running.url, 'GET', 'faults')).json;
    });
    // In force before the restart returned, not added once the new process already answered.
    expect(givenAtStart).toEqual(await book.list());
    const after = await book.list();
    expect(after.map((fault) => [fault.action, book.roleOf(fault.id)])).toEqual([
      ['DeleteImage', 'park'],
      ['*', 'latency'],
    ]);
    expect(await book.remove('park')).toBe(1);
    expect((await book.list()).map((fault) => fault.action)).toEqual(['*']);
  });
});
