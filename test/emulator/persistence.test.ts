import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/server.js';
import type { StateView } from '../../src/emulator/state.js';
import { admin, callApi } from './helpers.js';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'imgdel-emulator-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function stateOf(url: string): Promise<StateView> {
  return (await admin(url, 'GET', 'state')).json as StateView;
}

describe('emulator --state persistence', () => {
  it('keeps state across a restart, and a second --seed demo does not duplicate', async () => {
    const statePath = join(directory, 'state.json');
    const first = await startEmulator({ port: 0, statePath, seed: 'demo' });
    let before: StateView;
    try {
      expect((await callApi(first.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-hangzhou' })).status).toBe(200);
      expect((await callApi(first.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0012a' })).status).toBe(200);
      const created = await callApi(first.url, 'CreateTemplate', { TemplateName: 'persisted', ImageId: 'img-demo0002', SystemDiskSize: '60' });
      expect(created.status).toBe(200);
      before = await stateOf(first.url);
      // Answered mutations are on disk already (no close needed).
      const onDisk = JSON.parse(await readFile(statePath, 'utf8')) as StateView;
      expect(onDisk).toEqual(before);
    } finally {
      await first.close();
    }

    const second = await startEmulator({ port: 0, statePath, seed: 'demo' });
    try {
      const after = await stateOf(second.url);
      expect(after).toEqual(before);
      expect(after.images.find((image) => image.imageId === 'img-demo0001')?.regions).toEqual(['cn-shanghai', 'ap-southeast-1']);
      expect(after.templates.filter((template) => template.templateName === 'persisted')).toMatchObject([{ SystemDiskSize: 60 }]);
      expect(after.images.filter((image) => image.imageId === 'img-demo0002')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('keeps a created template loadable and itself across a restart: an image is required, and no field stands in for its id', async () => {
    const statePath = join(directory, 'state.json');
    const first = await startEmulator({ port: 0, statePath, seed: 'demo' });
    let created: string;
    try {
      const imageless = await callApi(first.url, 'CreateTemplate', { TemplateName: 'no-image' });
      expect([imageless.status, imageless.json?.['Code']]).toEqual([400, 'MissingImageId']);
      const answer = await callApi(first.url, 'CreateTemplate', {
        TemplateName: 'odd-fields',
        ImageId: 'img-demo0002',
        templateId: 'b-other',
        description: 'lower',
        Description: 'upper',
      });
      expect(answer.status).toBe(200);
      created = String(answer.json?.['Data']);
    } finally {
      await first.close();
    }
    const second = await startEmulator({ port: 0, statePath });
    try {
      const templates = (await stateOf(second.url)).templates.filter((template) => template.templateName === 'odd-fields');
      expect(templates).toHaveLength(1);
      expect(templates[0]).toMatchObject({ templateId: created, imageId: 'img-demo0002' });
      // One wire field for both spellings, as a seed would store it.
      expect(Object.keys(templates[0] ?? {}).filter((key) => key.toLowerCase() === 'description')).toEqual(['Description']);
    } finally {
      await second.close();
    }
  });

  it('has every answered concurrent mutation on disk', async () => {
    const statePath = join(directory, 'state.json');
    const emulator = await startEmulator({ port: 0, statePath, seed: 'demo' });
    try {
      const answers = await Promise.all(
        Array.from({ length: 25 }, (_, n) => callApi(emulator.url, 'CreateTemplate', { TemplateName: `burst-${n}`, ImageId: 'img-demo0002' })),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const onDisk = JSON.parse(await readFile(statePath, 'utf8')) as StateView;
      const names = onDisk.templates.map((template) => template.templateName).filter((name) => name.startsWith('burst-'));
      expect(names.sort()).toEqual(Array.from({ length: 25 }, (_, n) => `burst-${n}`).sort());
    } finally {
      await emulator.close();
    }
  });

  it('persists admin reset and seed', async () => {
    const statePath = join(directory, 'state.json');
    const first = await startEmulator({ port: 0, statePath, seed: 'demo' });
    await admin(first.url, 'POST', 'reset');
    await admin(first.url, 'POST', 'seed', { images: [{ imageId: 'img-kept0001', regions: ['cn-shanghai'] }] });
    await first.close();
    const second = await startEmulator({ port: 0, statePath });
    try {
      expect((await stateOf(second.url)).images.map((image) => image.imageId)).toEqual(['img-kept0001']);
    } finally {
      await second.close();
    }
  });
});

/** The emulator command, started: its first line on stdout and the URL it names. */
interface StartedEmulator {
  firstLine: string;
  url: string;
  child: ChildProcess;
}

/**
 * Runs the emulator command with `args` (as `node --import tsx`, which is what `npx tsx` runs, minus
 * the wrapper processes that would stand between a signal and the emulator); resolves once it prints
 * its start line, or with its exit code and stderr when it exits before.
 */
async function runEmulatorCommand(args: string[]): Promise<StartedEmulator | { exitCode: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts', '--port', '0', ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  return new Promise((resolve) => {
    lines.once('line', (firstLine) => resolve({ firstLine, url: firstLine.slice('emulator listening on '.length), child }));
    child.once('exit', (exitCode) => resolve({ exitCode, stderr }));
  });
}

describe('emulator command line', () => {
  it('prints the start line, serves, and exits cleanly on SIGTERM', async () => {
    const started = await runEmulatorCommand(['--seed', 'demo']);
    if (!('url' in started)) throw new Error(`emulator exited early with ${String(started.exitCode)}: ${started.stderr}`);
    const { child } = started;
    try {
      expect(started.firstLine).toMatch(/^emulator listening on http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await callApi(started.url, 'ListImage', { ImageId: 'img-demo0001' });
      expect(answer.json?.['Count']).toBe(1);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('emulator command line on a port already taken', () => {
  it('exits 1 naming the address and how to choose another port', async () => {
    const holder = await startEmulator({ port: 0 });
    try {
      const port = new URL(holder.url).port;
      const refused = await runEmulatorCommand(['--port', port]);
      if ('url' in refused) {
        refused.child.kill('SIGKILL');
        throw new Error('a second emulator started on a port in use');
      }
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`127.0.0.1:${port} is in use`);
      expect(refused.stderr).toContain('--port 0 for any free one');
    } finally {
      await holder.close();
    }
  });
});

describe('emulator command line and a Ctrl-C delivered twice', () => {
  it('takes a signal a moment after the first (npm relaying the terminal\'s Ctrl-C) for that one, and still exits 0', async () => {
    // Every call takes a second, so closing waits for the one in flight: the second signal comes meanwhile.
    const started = await runEmulatorCommand(['--seed', 'demo', '--latency-ms', '1000']);
    if (!('url' in started)) throw new Error(`emulator exited early with ${String(started.exitCode)}: ${started.stderr}`);
    const { child } = started;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const inFlight = callApi(started.url, 'ListImage', { ImageId: 'img-demo0001' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      child.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 2));
      child.kill('SIGINT');
      expect(await exited, stderr).toEqual({ code: 0, signal: null });
      expect(stderr.match(/emulator: SIGINT, closing/g)).toHaveLength(1);
      expect((await inFlight).json?.['Count']).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('emulator --faults', () => {
  it('answers its first call with a fault the file lists, as a restarted emulator must', async () => {
    const file = join(directory, 'faults.json');
    await writeFile(file, JSON.stringify([{ action: 'ListImage', code: 'ServiceUnavailable', times: 1 }, { action: '*', latencyMs: 1, times: -1 }]));
    const started = await runEmulatorCommand(['--seed', 'demo', '--faults', file]);
    if (!('url' in started)) throw new Error(`the emulator did not start: ${started.stderr}`);
    try {
      const first = await callApi(started.url, 'ListImage', { ImageId: 'img-demo0001' });
      expect([first.status, first.json?.['Code']]).toEqual([500, 'ServiceUnavailable']);
      expect((await callApi(started.url, 'ListImage', { ImageId: 'img-demo0001' })).json?.['Count']).toBe(1);
      const left = (await admin(started.url, 'GET', 'faults')).json as Array<{ id: string; action: string }>;
      expect(left.map((fault) => [fault.id, fault.action])).toEqual([['fault-2', '*']]);
    } finally {
      started.child.kill('SIGKILL');
    }
  });

  it('refuses a file that is not a list of faults, naming it, with exit code 2', async () => {
    const file = join(directory, 'faults.json');
    await writeFile(file, JSON.stringify([{ action: 'ListImage', code: 'InternalError', regoinId: 'cn-hangzhou' }]));
    const refused = await runEmulatorCommand(['--faults', file]);
    if ('url' in refused) {
      refused.child.kill('SIGKILL');
      throw new Error('the emulator started with a misspelt fault');
    }
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`the faults file ${file} is not a list of faults`);
    expect(refused.stderr).toContain('regoinId');
  });
});

describe('an unexpected failure inside the emulator', () => {
  it('answers InternalError with HTTP 400, as the cloud does (docs: InternalError comes with 400)', async () => {
    const stateDirectory = join(directory, 'gone-soon');
    await mkdir(stateDirectory);
    const emulator = await startEmulator({ port: 0, statePath: join(stateDirectory, 'state.json'), seed: 'demo' });
    try {
      // The state file can no longer be written: the mutation's save fails unexpectedly.
      await rm(stateDirectory, { recursive: true, force: true });
      const answer = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0012a' });
      expect([answer.status, answer.json?.['Code']]).toEqual([400, 'InternalError']);
    } finally {
      await emulator.close().catch(() => undefined);
    }
  });
});
