/**
 * Keeps the benchmark working: runs `bench/run.ts --quick` as a child process on the
 * test server and checks that it wrote a result for every scenario, with numeric
 * figures. It asserts nothing about speed: the figures are the benchmark's business.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processIsAlive } from '../src/dev/stack-pidfile.js';
import { processesMentioning } from './helpers/processes.js';
import { testTemporalAddress } from './helpers/temporal.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCENARIO_IDS = ['P1', 'P2', 'P3', 'P4', 'P5'];

const resultsSchema = z.object({
  mode: z.literal('quick'),
  scenarios: z.array(
    z.object({
      id: z.string(),
      scenario: z.string().min(1),
      figures: z.record(z.string(), z.number()),
      headline: z.string(),
      goal: z.string().min(1),
      pass: z.boolean(),
    }),
  ),
  chart: z.string(),
});

/** P2's CPU per workflow by process; the server is not measured when it was given (as here). */
const cpuByProcessSchema = z.object({ worker: z.number().positive(), benchProcess: z.number().positive() }).strict();
const p2DetailsSchema = z.object({
  cpuMsPerWorkflow: z.object({ imgdel: cpuByProcessSchema, noop: cpuByProcessSchema }),
  batches: z.array(z.object({ benchProcessCpuSeconds: z.number().positive(), serverCpuSeconds: z.never().optional() })).min(1),
  // One ratio per neighbouring imgdel/no-op pair of batches (ABBA BAAB: four).
  pairRatios: z.array(z.number().positive()).length(4),
});

interface BenchRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Benchmarks still running: a run cut short by its hook's timeout is stopped when the file ends. */
const running = new Set<ChildProcess>();

afterAll(() => {
  // The benchmark stops its dev server, emulator and workers on SIGTERM.
  for (const child of running) child.kill('SIGTERM');
});

interface StartedBench {
  child: ChildProcess;
  finished: Promise<BenchRun>;
  /** Resolves with the first line of stderr (so far or later) that matches `pattern`. */
  stderrLine(pattern: RegExp): Promise<RegExpExecArray>;
}

function startBench(
  args: readonly string[],
  { env = process.env, ownProcessGroup = false }: { env?: NodeJS.ProcessEnv; ownProcessGroup?: boolean } = {},
): StartedBench {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // As a terminal runs it, so that a Ctrl-C can be sent to it and everything it started.
    detached: ownProcessGroup,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  const waiting: Array<() => void> = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const check of [...waiting]) check();
  });
  const finished = new Promise<BenchRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
  const stderrLine = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = stderr.split('\n').map((line) => pattern.exec(line)).find((found) => found !== null);
        if (match) {
          waiting.splice(waiting.indexOf(check), 1);
          resolve(match);
        }
      };
      waiting.push(check);
      check();
      void finished.then((run) => reject(new Error(`the benchmark exited (${String(run.exitCode)}) before printing ${pattern}:\n${run.stderr}`)));
    });
  return { child, finished, stderrLine };
}

function runBench(args: readonly string[]): Promise<BenchRun> {
  return startBench(args).finished;
}

function runQuickBench(outDir: string): Promise<BenchRun> {
  return runBench(['--quick', '--temporal-address', testTemporalAddress(), '--out', outDir]);
}

describe('npm run bench command line', () => {
  it('--help prints every option, one line each, and exits 0 without starting anything', async () => {
    const run = await runBench(['--help']);
    expect(run.exitCode, run.stderr).toBe(0);
    for (const option of ['--quick', '--temporal-address', '--emulator-url', '--out', '--p2-deletions', '--worker-env', '--server-dynamic-config', '--help']) {
      expect(run.stdout).toMatch(new RegExp(`^\\s+(-h, )?${option}\\b.*\\S\\s*$`, 'm'));
    }
    expect(run.stderr).not.toContain('[bench]');
  });

  it('an unknown option is a short usage error (exit 2), not a stack trace', async () => {
    const run = await runBench(['--no-such-option']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("'--no-such-option'");
    expect(run.stderr).toContain('--help');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('--emulator-url must be the http:// origin the workers can be pointed at', async () => {
    // Without a scheme the URL parsed with an empty host: the workers got no emulator endpoint,
    // which sends them to the real cloud's.
    for (const url of ['localhost:9', 'https://127.0.0.1:9', 'ftp://127.0.0.1:9']) {
      const run = await runBench(['--emulator-url', url]);
      expect(run.exitCode, url).toBe(2);
      expect(run.stderr, url).toContain("expected the emulator's http:// URL");
    }
    // The workers are given host:port only, so a path would reach the admin calls but not the workers.
    const withPath = await runBench(['--emulator-url', 'http://127.0.0.1:9/emulator']);
    expect(withPath.exitCode).toBe(2);
    expect(withPath.stderr).toContain('with no path');
  });

  it('--namespace goes with --temporal-address: the dev server the benchmark starts has only the default namespace', async () => {
    const run = await runBench(['--namespace', 'bench-elsewhere']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--namespace names a namespace of the --temporal-address server');
  });

  it('--worker-env cannot override what the runner sets for each worker', async () => {
    // Another task queue left every deletion without a worker, and the run waiting for ever.
    for (const entry of ['IMGDEL_TASK_QUEUE=mine', 'TEMPORAL_ADDRESS=127.0.0.1:9', 'IMGDEL_LOG_LEVEL=WARN']) {
      const run = await runBench(['--worker-env', entry]);
      expect(run.exitCode, entry).toBe(2);
      expect(run.stderr, entry).toContain(`${entry.slice(0, entry.indexOf('='))} is set by the benchmark`);
    }
  });

  it('--server-dynamic-config takes key=JSON scalar, and only for the dev server the benchmark starts', async () => {
    const notJson = await runBench(['--server-dynamic-config', 'system.forceSearchAttributesCacheRefreshOnRead=yes']);
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toContain('expected key=value with a JSON boolean, number or string');
    const givenServer = await runBench(['--temporal-address', testTemporalAddress(), '--server-dynamic-config', 'limit.maxIDLength=64']);
    expect(givenServer.exitCode).toBe(2);
    expect(givenServer.stderr).toContain('cannot change a --temporal-address server');
  });
});

/** Runs `body` with a fresh directory for the run's results, removed afterwards whatever happens. */
async function withOutDir(body: (outDir: string) => Promise<void>): Promise<void> {
  const outDir = await mkdtemp(join(tmpdir(), 'imgdel-bench-'));
  try {
    await body(outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

describe('npm run bench servers', () => {
  it('stops tsc when SIGTERM ends the run mid-build, and leaves no build directory', async () => {
    // tsc used to go on after the benchmark had exited, writing the build directory it had removed.
    await withOutDir(async (outDir) => {
      const bench = startBench(['--quick', '--temporal-address', testTemporalAddress(), '--out', outDir]);
      const buildDir = join(REPO_ROOT, 'node_modules/.cache/imgdel-bench', `build-${String(bench.child.pid)}`);
      await bench.stderrLine(/\[bench\] emulator: .*\(started\)$/);
      // The build (tsc and two bundles) takes many seconds; by now tsc is running.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(processesMentioning(buildDir), 'tsc of this run').not.toEqual([]);
      bench.child.kill('SIGTERM');
      const run = await bench.finished;
      expect(run.exitCode, run.stderr).toBe(130);
      expect(processesMentioning(buildDir)).toEqual([]);
      expect(existsSync(buildDir)).toBe(false);
    });
  });

  it('Ctrl-C while deletions are in flight stops everything and exits 130, without a stack trace', async () => {
    // The clean-up closed the client's connection first; the dev server, stopped by the same Ctrl-C,
    // failed the deletions' pending result calls, and the client's retry of one threw "Channel has
    // been shut down" out of a timer: exit code 1 and a gRPC stack trace.
    await withOutDir(async (outDir) => {
      const bench = startBench(['--quick', '--out', outDir], { ownProcessGroup: true });
      const [, serverPid] = await bench.stderrLine(/\[bench\] dev server: .*\(pid (\d+)\)/);
      const [, workerList] = await bench.stderrLine(/\[bench\] workers running \(pids (.*)\)$/);
      const pids = [Number(serverPid), ...[...String(workerList).matchAll(/\d+/g)].map(([pid]) => Number(pid))];
      await bench.stderrLine(/\[bench\] P2: /);
      // Into the batches: hundreds of result calls are in flight.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      process.kill(-Number(bench.child.pid), 'SIGINT');
      const run = await bench.finished;
      expect(run.stderr).toContain('SIGINT: stopping');
      expect(run.stderr).not.toContain('Channel has been shut down');
      expect(run.exitCode, run.stderr.slice(-3000)).toBe(130);
      for (let waited = 0; waited < 10_000 && pids.some(processIsAlive); waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(pids.filter(processIsAlive)).toEqual([]);
    });
  }, 300_000);

  it('fails (exit 1) when a worker dies during the run, instead of waiting for ever', async () => {
    // Nothing watched the workers: P2's deletions waited for the dead throughput worker with no end.
    await withOutDir(async (outDir) => {
      const bench = startBench(['--quick', '--temporal-address', testTemporalAddress(), '--out', outDir]);
      const [, throughputPid] = await bench.stderrLine(/\[bench\] workers running \(pids .*\bthroughput (\d+)/);
      process.kill(Number(throughputPid), 'SIGKILL');
      const run = await bench.finished;
      expect(run.exitCode, run.stderr.slice(-3000)).toBe(1);
      expect(run.stderr).toContain('throughput worker exited during the run (SIGKILL)');
    });
  }, 300_000);

  it('starts its own dev server even when TEMPORAL_ADDRESS is set, and stops it on SIGTERM', async () => {
    // Only --temporal-address names a server to use: TEMPORAL_ADDRESS (imgdel's own setting, which
    // may name a production cluster) used to be taken silently, without the dev server's settings.
    await withOutDir(async (outDir) => {
      const bench = startBench(['--quick', '--out', outDir], {
        env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9', TEMPORAL_NAMESPACE: 'elsewhere' },
      });
      const [serverLine] = await bench.stderrLine(/\[bench\] temporal: .*$/);
      expect(serverLine).toMatch(/\(started\), namespace default$/);
      expect(serverLine).not.toContain('127.0.0.1:9');
      const [, pid] = await bench.stderrLine(/\[bench\] dev server: .*\(pid (\d+)\)/);
      bench.child.kill('SIGTERM');
      const run = await bench.finished;
      expect(run.exitCode, run.stderr).toBe(130);
      expect(processIsAlive(Number(pid)), `dev server ${String(pid)}`).toBe(false);
    });
  });
});

describe('npm run bench -- --quick', () => {
  let outDir: string;
  let run: BenchRun;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'imgdel-bench-'));
    run = await runQuickBench(outDir);
    // Alone, --quick takes 80-90 s here; beside the suite's other files on two cores it took
    // 146-157 s and once more than 170 s. How long it takes is the benchmark's to measure, not
    // this test's, so the wait only guards against a run that hangs.
  }, 420_000);

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('exits 0 and prints the Markdown table with a row per scenario', () => {
    expect(run.exitCode, run.stderr.slice(-4000)).toBe(0);
    expect(run.stdout).toContain('| id | scenario | figure | goal | result |');
    for (const id of SCENARIO_IDS) expect(run.stdout).toMatch(new RegExp(`^\\| ${id} \\|`, 'm'));
  });

  it('writes latest.json with every scenario and finite numeric figures', async () => {
    const results = resultsSchema.parse(JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8')));
    expect(results.scenarios.map((scenario) => scenario.id)).toEqual(SCENARIO_IDS);
    for (const scenario of results.scenarios) {
      expect(Object.keys(scenario.figures).length, scenario.id).toBeGreaterThan(0);
      for (const value of Object.values(scenario.figures)) expect(Number.isFinite(value), `${scenario.id}: ${value}`).toBe(true);
      expect(scenario.figures[scenario.headline], `${scenario.id} headline ${scenario.headline}`).toBeTypeOf('number');
    }
  });

  it("records P2's CPU by process, per batch and per workflow, and each pair's ratio", async () => {
    const json: unknown = JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8'));
    const scenarios = z.object({ scenarios: z.array(z.object({ id: z.string(), details: z.unknown() })) }).parse(json).scenarios;
    p2DetailsSchema.parse(scenarios.find((scenario) => scenario.id === 'P2')?.details);
  });

  it('draws the throughput chart as a PNG', async () => {
    const png = await readFile(join(outDir, 'throughput.png'));
    expect((await stat(join(outDir, 'throughput.png'))).size).toBeGreaterThan(1000);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
