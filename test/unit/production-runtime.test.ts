/**
 * The benchmark runs its workers the way the image does, by reading the Dockerfile: the
 * parse must find the image's compiled entry and its memory settings, and the workflow
 * bundle path must resolve the same from src/ (tsx) and from dist/src/ (compiled).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileWorkers, nodeArgsFor, parseRuntimeStage } from '../../bench/lib/production-runtime.js';
import { DEFAULT_WORKFLOW_BUNDLE_PATH, WORKFLOWS_SOURCE_PATH } from '../../src/workflow-source.js';
import { processesMentioning } from '../helpers/processes.js';
import { PROJECT_ROOT } from '../worker/worker-process.js';

const dockerfile = readFileSync(resolve(PROJECT_ROOT, 'Dockerfile'), 'utf8');

describe('the production runtime, read from the Dockerfile', () => {
  it('runs compiled JavaScript with node, with a bounded V8 heap', () => {
    const runtime = parseRuntimeStage(dockerfile);
    expect(runtime.command).toEqual(['node', 'dist/src/worker.js']);
    expect(runtime.env['NODE_OPTIONS']).toMatch(/--max-old-space-size=\d+/);
    expect(runtime.env['MALLOC_ARENA_MAX']).toMatch(/^\d+$/);
  });

  it('maps the image entry onto a build directory, keeping node options in place', () => {
    const runtime = { command: ['node', '--enable-source-maps', 'dist/src/worker.js'], env: {} };
    expect(nodeArgsFor(runtime, '/build', 'bench/noop-worker.js')).toEqual(['--enable-source-maps', '/build/bench/noop-worker.js']);
    expect(() => nodeArgsFor({ command: ['node', '--import', 'tsx', 'src/worker.ts'], env: {} }, '/build', 'src/worker.js')).toThrow(
      /no compiled dist/,
    );
  });

  it('reads only the runtime stage, with continued ENV lines and quoted values', () => {
    const text = [
      'FROM node AS build',
      'ENV NODE_OPTIONS=--stack-size=1',
      'FROM node AS runtime',
      'ENV NODE_ENV=production \\',
      '    NODE_OPTIONS="--max-old-space-size=64 --max-semi-space-size=1" \\',
      '    IMGDEL_HEALTH_PORT=8081',
      'CMD ["node", "dist/src/worker.js"]',
    ].join('\n');
    expect(parseRuntimeStage(text)).toEqual({
      command: ['node', 'dist/src/worker.js'],
      env: { NODE_OPTIONS: '--max-old-space-size=64 --max-semi-space-size=1' },
    });
  });
});

describe('workflow paths', () => {
  it('resolve from the project root (the same from src/ and from dist/src/)', () => {
    expect(WORKFLOWS_SOURCE_PATH).toBe(resolve(PROJECT_ROOT, 'src/workflows/index.ts'));
    expect(DEFAULT_WORKFLOW_BUNDLE_PATH).toBe(resolve(PROJECT_ROOT, 'dist/workflow-bundle.js'));
  });
});

describe("the benchmark's build of the workers", () => {
  it('stops tsc when the run is stopped, and answers only once it has exited', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'imgdel-bench-build-'));
    const buildDir = join(parent, 'build');
    try {
      const stopping = new AbortController();
      const compiling = compileWorkers(PROJECT_ROOT, buildDir, () => undefined, stopping.signal);
      await new Promise((done) => setTimeout(done, 1_000));
      expect(processesMentioning(buildDir), 'tsc running').not.toEqual([]);
      stopping.abort();
      await expect(compiling).rejects.toThrow(/tsc stopped/);
      expect(processesMentioning(buildDir), 'tsc still running').toEqual([]);
      expect(existsSync(buildDir)).toBe(false);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('starts no tsc once the run has been stopped', async () => {
    const buildDir = join(tmpdir(), `imgdel-bench-never-built-${process.pid}`);
    await expect(compileWorkers(PROJECT_ROOT, buildDir, () => undefined, AbortSignal.abort())).rejects.toThrow(/aborted/);
    expect(processesMentioning(buildDir)).toEqual([]);
  });
});
