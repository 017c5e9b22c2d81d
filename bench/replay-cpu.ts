/**
 * What one deletion costs the workflow thread: a recorded history replayed many times through
 * the SDK's replay worker (the workflow code, its promises and the stack trace the SDK captures
 * for each of them, without the server or the activities), as this process's CPU per replay.
 * `--frames` sets how many frames a workflow stack trace keeps (the bundle keeps
 * WORKFLOW_STACK_TRACE_FRAMES; V8's default is 10), to compare the two in one sitting.
 *
 *   npx tsx bench/replay-cpu.ts [--history client-started-clean-3-regions.json] [--replays 400] [--frames 10]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { z } from 'zod';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_SOURCE_PATH } from '../src/workflow-source.js';
import { silentBundlerLogger } from '../src/dev/build-bundle.js';
import { WORKFLOW_STACK_TRACE_FRAMES } from '../src/workflows/stack-traces.js';
import { REPO_ROOT } from './lib/worker-process.js';

const argsSchema = z.object({
  history: z.string().regex(/^[\w.-]+\.json$/, 'a file name in test/histories/').default('client-started-clean-3-regions.json'),
  replays: z.coerce.number().int().min(10).max(5_000).default(400),
  frames: z.coerce.number().int().min(1).max(100).default(WORKFLOW_STACK_TRACE_FRAMES),
});

const WARM_UP_REPLAYS = 50;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { history: { type: 'string' }, replays: { type: 'string' }, frames: { type: 'string' } } });
  const args = argsSchema.parse(values);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const history: unknown = JSON.parse(await readFile(join(REPO_ROOT, 'test/histories', args.history), 'utf8'));
  // Preloaded after the shared modules, so its limit is the one the frozen context keeps.
  const dir = await mkdtemp(join(tmpdir(), 'imgdel-replay-cpu-'));
  try {
    const framesModule = join(dir, 'frames.js');
    await writeFile(framesModule, `Error.stackTraceLimit = ${args.frames};\n`);
    const workflowBundle = await bundleWorkflowCode({
      ...WORKFLOW_BUNDLER_OPTIONS,
      preloadModules: [...WORKFLOW_BUNDLER_OPTIONS.preloadModules, framesModule],
      workflowsPath: WORKFLOWS_SOURCE_PATH,
      logger: silentBundlerLogger,
    });
    const replay = async (count: number, tag: string): Promise<void> => {
      const histories = Array.from({ length: count }, (_, index) => ({ workflowId: `${tag}-${index}`, history }));
      for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
        if (result.error) throw result.error;
      }
    };
    await replay(WARM_UP_REPLAYS, 'warm-up');
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await replay(args.replays, 'measured');
    const cpu = process.cpuUsage(cpuBefore);
    const perReplay = (ms: number) => (ms / args.replays).toFixed(2);
    console.log(
      `${args.history}, ${args.frames} stack frames: ${perReplay((cpu.user + cpu.system) / 1000)} ms of CPU and ` +
        `${perReplay(performance.now() - startedAt)} ms per replay (${args.replays} replays)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`replay-cpu: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
