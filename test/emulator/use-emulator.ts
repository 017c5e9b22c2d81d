/** The emulator a test file runs against: started once, reset (and seeded) before each test. */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { demoSeed } from '../../src/emulator/seed.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { admin } from './helpers.js';

export interface UseEmulatorOptions {
  /** Seed the demo images (default true). */
  demo?: boolean;
  /** Reset (and re-seed) before every test, or only once for the file (default true). */
  resetEachTest?: boolean;
}

export function useEmulator(options: UseEmulatorOptions = {}): Pick<RunningEmulator, 'url' | 'endpoint' | 'port'> {
  let running: RunningEmulator | undefined;
  const current = (): RunningEmulator => {
    if (!running) throw new Error('the emulator is not started yet (use it inside tests or hooks)');
    return running;
  };
  const prepare = async () => {
    await admin(current().url, 'POST', 'reset');
    if (options.demo ?? true) await admin(current().url, 'POST', 'seed', demoSeed(EMULATOR_DEFAULTS.accountId));
  };
  beforeAll(async () => {
    running = await startEmulator({ port: 0 });
    if (options.resetEachTest === false) await prepare();
  });
  afterAll(async () => {
    await running?.close();
  });
  if (options.resetEachTest !== false) beforeEach(prepare);
  return {
    get url() {
      return current().url;
    },
    get endpoint() {
      return current().endpoint;
    },
    get port() {
      return current().port;
    },
  };
}
