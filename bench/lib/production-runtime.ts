/**
 * How the production image runs the worker, read from the Dockerfile, so the benchmark's
 * workers run the same way: compiled JavaScript (`npm run build`), started by the image's
 * CMD, with the image's node and allocator settings (NODE_OPTIONS, MALLOC_ARENA_MAX).
 * The runner compiles src/ and the no-op worker into its own output directory, so a
 * benchmark never depends on (or overwrites) a stale dist/.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { z } from 'zod';
import { hasExited } from '../../src/dev/process.js';

/** The runtime settings of the image the benchmark copies; the image's other ENV (ports, hosts) stays out. */
const RUNTIME_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

const cmdSchema = z.array(z.string()).min(2);

export interface ProductionRuntime {
  /** The image's CMD, e.g. ['node', 'dist/src/worker.js']. */
  command: string[];
  /** The image's NODE_OPTIONS and MALLOC_ARENA_MAX (those it sets). */
  env: Record<string, string>;
}

/** The lines of the Dockerfile's runtime stage, `\` continuations joined. */
function runtimeStageLines(dockerfile: string): string[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const stageStart = lines.findIndex((line) => /^FROM\s+\S+\s+AS\s+runtime\b/i.test(line.trim()));
  if (stageStart < 0) throw new Error('Dockerfile: no `FROM … AS runtime` stage');
  return lines.slice(stageStart + 1);
}

/** Every variable the runtime stage sets with `ENV`, unquoted. */
export function runtimeStageEnv(dockerfile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of runtimeStageLines(dockerfile)) {
    const match = /^ENV\s+(.*)$/.exec(line.trim());
    if (!match?.[1]) continue;
    for (const pair of match[1].matchAll(/([A-Z_][A-Z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const [, name, raw = ''] = pair;
      if (name !== undefined) env[name] = raw.replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The runtime stage's node and allocator settings and its exec-form `CMD`. */
export function parseRuntimeStage(dockerfile: string): ProductionRuntime {
  const imageEnv = runtimeStageEnv(dockerfile);
  const env: Record<string, string> = {};
  for (const name of RUNTIME_VARIABLES) {
    const value = imageEnv[name];
    if (value !== undefined) env[name] = value;
  }
  const cmdLine = [...runtimeStageLines(dockerfile)].reverse().find((line) => /^CMD\s+\[/.test(line.trim()));
  if (cmdLine === undefined) throw new Error('Dockerfile: the runtime stage has no exec-form CMD');
  const command = cmdSchema.parse(JSON.parse(cmdLine.trim().replace(/^CMD\s+/, '')));
  return { command, env };
}

export async function readProductionRuntime(repoRoot: string): Promise<ProductionRuntime> {
  return parseRuntimeStage(await readFile(join(repoRoot, 'Dockerfile'), 'utf8'));
}

/**
 * node's arguments for an entry script compiled into `buildDir`: the image's CMD with its
 * dist/ entry replaced, e.g. ['dist/src/worker.js'] → ['<buildDir>/src/worker.js'].
 */
export function nodeArgsFor(runtime: ProductionRuntime, buildDir: string, compiledEntry: string): string[] {
  const [executable, ...args] = runtime.command;
  if (executable !== 'node') throw new Error(`Dockerfile: CMD starts ${String(executable)}, not node`);
  const entryIndex = args.findIndex((arg) => /^dist\/.*\.js$/.test(arg));
  if (entryIndex < 0) throw new Error(`Dockerfile: CMD ${JSON.stringify(runtime.command)} runs no compiled dist/…js entry`);
  return [...args.slice(0, entryIndex), join(buildDir, compiledEntry), ...args.slice(entryIndex + 1)];
}

/** tsc's exit status when it found type errors but wrote the JavaScript anyway. */
const TSC_EMITTED_WITH_ERRORS = 2;

/**
 * Compiles src/ and the no-op worker with tsc (bench/tsconfig.build.json) into `buildDir`.
 * Type errors (someone's edit in progress) are reported, not fatal: the JavaScript is
 * still written, and type checking is `npm run typecheck`'s job, not the benchmark's.
 * tsc is stopped when `signal` aborts (the answer then waits for it to have exited, so
 * nothing writes into `buildDir` once it rejects) and when this process exits: a run that
 * ends mid-build must not leave tsc writing into a directory it removes.
 */
export async function compileWorkers(repoRoot: string, buildDir: string, warn: (line: string) => void, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const tsc = createRequire(join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', join(repoRoot, 'bench/tsconfig.build.json'), '--outDir', buildDir];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = (): void => {
      if (!hasExited(child)) child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', stop, { once: true });
    process.once('exit', stop);
    const forget = (): void => {
      signal?.removeEventListener('abort', stop);
      process.removeListener('exit', stop);
    };
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', (error) => {
      forget();
      reject(error);
    });
    child.once('exit', (code) => {
      forget();
      if (signal?.aborted === true) return reject(new Error('tsc stopped: the run ended before the build'));
      if (code === 0) return resolve();
      if (code === TSC_EMITTED_WITH_ERRORS) {
        warn(`tsc reported type errors (JavaScript written anyway):\n${output.trim().split('\n').slice(0, 10).join('\n')}`);
        return resolve();
      }
      reject(new Error(`tsc failed (${String(code)}):\n${output}`));
    });
  });
}
