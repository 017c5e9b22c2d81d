/**
 * The workaround in src/cloud/http-read-timers.ts: a finished request must not stay
 * reachable until the runtime's read timer fires. Without the workaround every request
 * below is held for the whole (60 s) read timeout; with it they are collected at once.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createAlibabaCloudAdapter } from '../../src/cloud/alibaba-adapter.js';
import { loadConfig } from '../../src/config.js';
import { emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { useEmulator } from '../emulator/use-emulator.js';

const CALLS = 20;

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
}

describe('the runtime HTTP layer after a response', () => {
  const emulator = useEmulator({ resetEachTest: false });

  it('lets every finished request be collected long before its read timeout', async () => {
    const adapter = createAlibabaCloudAdapter(
      loadConfig({
        ...emulatorCloudEnv(emulator.endpoint),
        IMGDEL_CLOUD_RATE: '10000',
        IMGDEL_CLOUD_READ_TIMEOUT_MS: '60000',
      }).cloud,
    );
    const requests: Array<WeakRef<object>> = [];
    const track = (message: unknown): void => {
      requests.push(new WeakRef((message as { request: object }).request));
    };
    diagnosticsChannel.subscribe('http.client.request.start', track);
    try {
      for (let call = 0; call < CALLS; call += 1) {
        expect(await adapter.isImageGoneFromRegion('img-demo0001', 'cn-hangzhou')).toBe(false);
      }
    } finally {
      diagnosticsChannel.unsubscribe('http.client.request.start', track);
    }
    // Let the sockets go back to the pool, then collect.
    await new Promise((resolve) => setTimeout(resolve, 50));
    collectGarbage();

    expect(requests).toHaveLength(CALLS);
    const stillHeld = requests.filter((request) => request.deref() !== undefined).length;
    // The agent may keep a reference to the last request of a kept-alive socket.
    expect(stillHeld).toBeLessThanOrEqual(2);
  });
});
