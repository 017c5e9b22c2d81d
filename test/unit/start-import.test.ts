/**
 * src/dev/start.ts exports readinessTarget and startCommand for other modules and tests; importing
 * it must not run `npm start` (claim a data directory, start a Temporal dev server, an emulator
 * and a worker). Only running it as the process's entry does.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { workerKillAfterMs } from '../../src/dev/start.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = join(REPO_ROOT, 'src', 'dev', 'start.ts');
const tempDir = useTempDirs();

describe('src/dev/start.ts as a module', () => {
  it('starts nothing when imported, even with npm start options on the command line', async () => {
    const dir = tempDir('imgdel-start-import-');
    const dataDir = join(dir, 'data');
    const script = join(dir, 'import-start.mjs');
    // Imports the module, says what it exports, and stays a while: long enough for a stack to begin.
    writeFileSync(
      script,
      [
        `const start = await import(${JSON.stringify(pathToFileURL(START).href)});`,
        `process.stdout.write(Object.keys(start).sort().join(',') + '\\n');`,
        'setTimeout(() => process.exit(0), 3000);',
        '',
      ].join('\n'),
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, '--data-dir', dataDir, '--temporal-port', '0', '--ui-port', '0', '--emulator-port', '0'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('readinessTarget,startCommand,workerKillAfterMs\n');
    expect(stderr).toBe('');
    // No data directory claimed (npm-start.pid), no server database, no logs.
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  }, 30_000);
});

describe("npm start's deadline for a worker that does not stop", () => {
  it("comes after the worker's own forced exit, which waits out one cloud call's timeouts after the grace time", () => {
    for (const env of [{}, { IMGDEL_SHUTDOWN_GRACE_MS: '1000', IMGDEL_CLOUD_READ_TIMEOUT_MS: '120000' }]) {
      const { worker } = loadConfig(env);
      expect(worker.shutdownForceTimeMs).toBeGreaterThan(worker.shutdownGraceTimeMs);
      expect(workerKillAfterMs(worker)).toBeGreaterThan(worker.shutdownForceTimeMs);
    }
  });
});
