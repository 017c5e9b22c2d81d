/**
 * `npm run chaos [-- --images 100 --workers 2 --kills 3 --seed 42 --deadline-minutes 15 --keep]`
 * Runs the chaos scenario of run.ts, prints its table, exits 1 on any mismatch.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { randomSeed } from './random.js';
import { formatReport } from './report.js';
import { FULL_RUN, runChaos } from './run.js';

const optionsSchema = z.object({
  images: z.coerce.number().int().min(6).max(2_000),
  workers: z.coerce.number().int().min(1).max(8),
  kills: z.coerce.number().int().min(0).max(50),
  seed: z.coerce.number().int().min(0).optional(),
  deadlineMinutes: z.coerce.number().positive().max(120),
  keep: z.boolean().optional(),
  quietKills: z.boolean().optional(),
});

const program = new Command('chaos')
  .description('Chaos run: deletions under injected faults, worker SIGKILLs and server restarts, checked against the emulator')
  .option('--images <n>', 'images to seed and delete', String(FULL_RUN.images))
  .option('--workers <n>', 'worker processes', String(FULL_RUN.workers))
  .option('--kills <n>', 'worker SIGKILLs (at random moments)', String(FULL_RUN.workerKills))
  .option('--seed <n>', 'random seed (replays a plan and its chaos order)')
  .option('--deadline-minutes <n>', 'the run fails if it has not ended by then', String(FULL_RUN.deadlineMs / 60_000))
  .option('--quiet-kills', 'kill workers only while just region deletes are in flight (shorter stalls)')
  .option('--keep', 'keep the work directory even when the run passes');
program.parse(process.argv);

const parsed = optionsSchema.safeParse(program.opts());
if (!parsed.success) {
  process.stderr.write(`chaos: invalid options\n${z.prettifyError(parsed.error)}\n`);
  process.exit(2);
}
const options = parsed.data;
const aborting = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}, stopping every process it started\n`);
    aborting.abort();
  });
}

const started = Date.now();
runChaos({
  ...FULL_RUN,
  images: options.images,
  workers: options.workers,
  workerKills: options.kills,
  deadlineMs: options.deadlineMinutes * 60_000,
  seed: options.seed ?? randomSeed(),
  keepWorkDir: options.keep === true,
  quietKills: options.quietKills === true,
  signal: aborting.signal,
  log: (line) => process.stderr.write(`[chaos +${Math.round((Date.now() - started) / 1000)}s] ${line}\n`),
}).then(
  (report) => {
    process.stdout.write(`${formatReport(report)}\n`);
    process.exit(report.mismatches.length === 0 ? 0 : 1);
  },
  (error: unknown) => {
    process.stderr.write(`chaos: the run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
