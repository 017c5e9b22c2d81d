/**
 * The Temporal UI shows a finished deletion findably: its workflow id and its summary
 * ("Delete image …"). Headless Chromium (playwright-core) against a dev server started
 * here with its UI (the shared test server runs headless). Screenshot: test/artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImgdelClient } from '../src/client/index.js';
import type { ImgdelClient } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';
import { startDevServer } from '../src/dev/dev-server.js';
import type { RunningDevServer } from '../src/dev/dev-server.js';
import { findFreePort } from '../src/dev/process.js';
import { emulatorCloudEnv } from '../src/emulator/defaults.js';
import { startEmulator } from '../src/emulator/server.js';
import type { RunningEmulator } from '../src/emulator/server.js';
import { createImgdelWorker } from '../src/worker.js';
import type { ImgdelWorker } from '../src/worker.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(`test/ui.test.ts skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)\n`);
}

let server: RunningDevServer | undefined;
let emulator: RunningEmulator | undefined;
let worker: ImgdelWorker | undefined;
let running: Promise<void> | undefined;
let imgdel: ImgdelClient | undefined;
let browser: Browser | undefined;

describe.skipIf(!hasChromium)('Temporal UI', () => {
  beforeAll(async () => {
    server = await startDevServer({ ignoreTemporalAddress: true, port: await findFreePort(), uiPort: await findFreePort(), log: () => undefined });
    emulator = await startEmulator({ port: 0, seed: 'demo', log: () => undefined });
    const env = {
      TEMPORAL_ADDRESS: server.address,
      IMGDEL_TASK_QUEUE: 'image-deletion',
      ...emulatorCloudEnv(emulator.endpoint),
      IMGDEL_LOG_LEVEL: 'WARN',
      ...(server.uiUrl === undefined ? {} : { TEMPORAL_UI_URL: server.uiUrl }),
    };
    worker = await createImgdelWorker({ config: loadConfig(env) });
    running = worker.run();
    imgdel = createImgdelClient({ env });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await imgdel?.close();
    await worker?.close();
    await running?.catch(() => undefined);
    await emulator?.close();
    await server?.stop();
  });

  it('shows a finished deletion with its workflow id and summary', async () => {
    if (imgdel === undefined || browser === undefined || server?.uiUrl === undefined) throw new Error('the stack did not start');
    const started = await imgdel.startDeletion({ imageId: 'img-demo0001', reason: 'UI check' });
    const outcome = await imgdel.waitForOutcome('img-demo0001', { pollMs: 200 });
    expect(outcome.status).toBe('deleted');
    expect(started.uiUrl).toBe(`${server.uiUrl}/namespaces/default/workflows/delete-image-img-demo0001`);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(started.uiUrl ?? '', { waitUntil: 'domcontentloaded' });
    await page.getByText('Delete image img-demo0001').first().waitFor({ timeout: 60_000 });
    const text = await page.locator('body').innerText();
    expect(text).toContain('delete-image-img-demo0001');
    expect(text).toContain('Delete image img-demo0001');
    expect(text).toMatch(/Completed/i);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}ui-deletion.png`, fullPage: true });

    // The list finds it through the search attributes, as an operator would.
    const query = encodeURIComponent('ImageId = "img-demo0001"');
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${query}`, { waitUntil: 'domcontentloaded' });
    await page.getByText('delete-image-img-demo0001').first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${ARTIFACTS}ui-deletion-list.png`, fullPage: true });
    await page.close();
  });
});
