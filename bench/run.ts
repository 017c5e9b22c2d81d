/**
 * `npm run bench`: imgdel measured the way its users judge it, as ratios taken side by
 * side in one run (absolute times drift on shared machines). Starts a Temporal dev
 * server, the emulator and worker processes (or uses the given servers), runs P1–P5,
 * writes bench/results/latest.json and bench/results/throughput.png, and prints a
 * Markdown table. Always exits 0 once it has measured: a missed goal is a finding,
 * marked in the table, not a crash. See bench/README.md.
 *
 *   npm run bench                      # full run (9–12 minutes on 2 cores)
 *   npm run bench -- --quick           # small run, under two minutes
 *   npm run bench -- --temporal-address 127.0.0.1:7233 --emulator-url http://127.0.0.1:8787
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { startDevServer, type RunningDevServer } from '../src/dev/dev-server.js';
import { buildWorkflowBundle, silentBundlerLogger } from '../src/dev/build-bundle.js';
import { EmulatorAdmin } from '../src/emulator/admin-client.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { renderCompletionChart } from './lib/chart.js';
import { Cleanups } from './lib/cleanups.js';
import {
  CRITICAL_PATH_CALLS,
  CRITICAL_PATH_MS,
  ISSUE_CRITICAL_PATH_MS,
  P1_CALL_LATENCY_MS,
  P2_ORDERS,
  p2BatchesPerKind,
  p2OrderLabel,
  P3_QUOTA_PER_SECOND,
  runLatencyScenario,
  runQuotaScenario,
  round,
  runThroughputScenario,
  type BenchContext,
} from './lib/scenarios.js';
import { compileWorkers, nodeArgsFor, readProductionRuntime } from './lib/production-runtime.js';
import { REPO_ROOT, startWorkerProcess, type WorkerProcess } from './lib/worker-process.js';
import { hostPort, loadConfig } from '../src/config.js';
import { nodeErrorCode } from '../src/node-error.js';

const SCENARIO_IDS = ['P1', 'P2', 'P3', 'P4', 'P5'] as const;
type ScenarioId = (typeof SCENARIO_IDS)[number];

const count = (max: number) => z.coerce.number().int().min(1).max(max).optional();
/**
 * The emulator's base URL. The workers reach it as IMGDEL_CLOUD_ENDPOINT (host:port, over
 * HTTP), so it must be http:// with a host and nothing after the origin: a URL without a
 * scheme gave the workers an empty endpoint, which sends them to the real cloud's endpoints.
 */
const emulatorUrlSchema = z
  .url({ protocol: /^http$/, hostname: /^[A-Za-z0-9.-]+$/, error: "expected the emulator's http:// URL, e.g. http://127.0.0.1:8787" })
  .refine((url) => {
    // zod runs this check also after the URL check failed: a string that is no URL is that check's to report.
    if (!URL.canParse(url)) return true;
    const parsed = new URL(url);
    return parsed.pathname === '/' && parsed.search === '' && parsed.hash === '' && parsed.username === '' && parsed.password === '';
  }, "expected the emulator's base URL, http://host:port with no path, e.g. http://127.0.0.1:8787");

/** host:port of an emulator URL (port 80 when it names none), as IMGDEL_CLOUD_ENDPOINT wants it. */
function endpointOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port === '' ? '80' : parsed.port}`;
}

/**
 * Worker settings the runner owns: which server, namespace and task queue a worker serves, which
 * emulator and keys it calls, which bundle it loads, and the JSON log lines at INFO that tell the
 * runner it is ready and count its warnings. Given with --worker-env they would not change an
 * experiment but break the run: a worker polling another task queue leaves every deletion waiting
 * for one, for ever.
 */
const RUNNER_OWNED_WORKER_ENV = /^(TEMPORAL_[A-Z0-9_]*|ALIBABA_CLOUD_[A-Z0-9_]*|IMGDEL_(TASK_QUEUE|CLOUD_ENDPOINT|CLOUD_PROTOCOL|ACCOUNT_ID|WORKFLOW_BUNDLE|LOG_LEVEL|LOG_FORMAT))=/;

const argsSchema = z.object({
  quick: z.boolean().default(false),
  'temporal-address': hostPort.optional(),
  namespace: z.string().min(1).optional(),
  'emulator-url': emulatorUrlSchema.optional(),
  out: z.string().min(1).optional(),
  'p1-runs': count(50),
  'p2-deletions': count(5_000),
  'p3-region-deletes': count(5_000),
  'region-concurrency': count(32),
  'noop-status-writes': z.boolean().default(false),
  'noop-payload-bytes': z.coerce.number().int().min(1).max(100_000).optional(),
  'p2-order': z.enum(P2_ORDERS).default('abba-baab'),
  'worker-env': z
    .array(
      z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*=.*$/, 'expected NAME=value, e.g. IMGDEL_MAX_CACHED_WORKFLOWS=200')
        .refine(
          (entry) => !RUNNER_OWNED_WORKER_ENV.test(entry),
          {
            error: (issue) =>
              `${String(issue.input).split('=')[0] ?? ''} is set by the benchmark for each worker (server, task queue, emulator, keys, bundle, log level and format) and cannot be overridden`,
          },
        ),
    )
    .default([]),
  'server-dynamic-config': z
    .array(
      z
        .string()
        .regex(
          /^[a-z][A-Za-z0-9.]*=(true|false|-?\d+(\.\d+)?|"[^"]*")$/,
          'expected key=value with a JSON boolean, number or string, e.g. system.forceSearchAttributesCacheRefreshOnRead=true',
        ),
    )
    .default([]),
})
  .refine((args) => args['temporal-address'] === undefined || args['server-dynamic-config'].length === 0, {
    message: '--server-dynamic-config configures the dev server the benchmark starts; it cannot change a --temporal-address server',
  })
  .refine((args) => args.namespace === undefined || args['temporal-address'] !== undefined, {
    message: "--namespace names a namespace of the --temporal-address server; the dev server the benchmark starts has only 'default'",
  });

type Args = z.infer<typeof argsSchema>;

const SIZES = {
  quick: { p1Runs: 1, p2Deletions: 40, p3RegionDeletes: 40 },
  full: { p1Runs: 5, p2Deletions: 500, p3RegionDeletes: 200 },
} as const;

/** P2 and P3 measure imgdel, not the limiter's default quota: the emulator has no quota there (P3 sets one). */
const UNTHROTTLED_RATE = '1000';
/**
 * The worker's DeleteImage pace in P3: imgdel's default rate (IMGDEL_CLOUD_RATE), 10 % under the
 * emulated quota of 20/s. At 19/s the margin was one token, which the jitter of arrivals at the
 * emulator's limiter (its own event loop, new connections) did not always absorb: one full run
 * in four had a request throttled.
 */
const P3_WORKER_DELETE_RATE = '18';

/**
 * The started dev server's dynamic config, over the CLI's own defaults. The CLI turns the
 * search-attribute cache off (`system.forceSearchAttributesCacheRefreshOnRead`) so that attributes
 * created while it runs are usable at once; a production server caches them (60 s). imgdel's
 * attributes are registered when the server starts, so nothing here needs that, and with the cache
 * off every start, upsert and visibility write re-reads the cluster metadata from SQLite, more
 * often for a deletion (it has search attributes) than for the no-op: P2 would measure a
 * test convenience of the dev server. `--server-dynamic-config` overrides these.
 */
const SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

interface ScenarioResult {
  id: ScenarioId;
  scenario: string;
  figures: Record<string, number>;
  /** The figure shown first and judged against the goal. */
  headline: string;
  goal: string;
  pass: boolean;
  details: Record<string, unknown>;
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** The command line, described once: parseArgs reads it and --help prints it. */
const OPTIONS = {
  quick: { type: 'boolean', help: `small sizes, under two minutes (P1 ${SIZES.quick.p1Runs} run, P2 ${SIZES.quick.p2Deletions} deletions, P3 ${SIZES.quick.p3RegionDeletes} region deletes)` },
  'temporal-address': { type: 'string', value: 'host:port', help: 'use this Temporal server instead of starting a dev server' },
  namespace: { type: 'string', value: 'name', help: "the given Temporal server's namespace (default: TEMPORAL_NAMESPACE or default)" },
  'emulator-url': { type: 'string', value: 'http://host:port', help: 'use this emulator (started with its default keys) instead of starting one' },
  out: { type: 'string', value: 'dir', help: 'where latest.json, throughput.png and the bundles go (default bench/results)' },
  'p1-runs': { type: 'string', value: 'n', help: `P1 runs (full ${SIZES.full.p1Runs}, quick ${SIZES.quick.p1Runs})` },
  'p2-deletions': { type: 'string', value: 'n', help: `P2 deletions per batch (full ${SIZES.full.p2Deletions}, quick ${SIZES.quick.p2Deletions})` },
  'p3-region-deletes': { type: 'string', value: 'n', help: `P3 region deletes (full ${SIZES.full.p3RegionDeletes}, quick ${SIZES.quick.p3RegionDeletes})` },
  'region-concurrency': { type: 'string', value: 'n', help: "P1's regionConcurrency input (default: the workflow's default)" },
  'noop-status-writes': { type: 'boolean', help: "an experiment: P2's no-op baseline is started with imgdel's search attributes and writes its final status, as a deletion does" },
  'p2-order': { type: 'string', value: 'order', help: "P2's batch order, abba-baab (A = the no-op; the default) or, experiments, baab-abba (the kinds swapped) or abba-baab-abba (12 batches)" },
  'noop-payload-bytes': {
    type: 'string',
    value: 'n',
    help: "an experiment: each of the no-op's activity answers and its result carry n bytes more, so its history is as large as a deletion's",
  },
  'worker-env': { type: 'string', multiple: true, value: 'NAME=value', help: 'extra environment for every worker process (repeatable)' },
  'server-dynamic-config': {
    type: 'string',
    multiple: true,
    value: 'key=json',
    help: 'dynamic config for the started dev server, over the benchmark\'s (repeatable; see bench/README.md)',
  },
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
} as const;

function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, option]) => {
    const flag = `${'short' in option ? `-${option.short}, ` : ''}--${name}${'value' in option ? ` ${option.value}` : ''}`;
    return `  ${flag.padEnd(34)} ${option.help}`;
  });
  return ['usage: npm run bench -- [options]   (see bench/README.md)', '', ...lines, ''].join('\n');
}

function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && (nodeErrorCode(error)?.startsWith('ERR_PARSE_ARGS_') ?? false);
}

function parseCommandLine(): Args {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // An unknown or malformed option is the user's mistake, not a crash: say which, and where the options are.
    if (!isParseArgsError(error)) throw error;
    process.stderr.write(`bench: ${error.message}\nRun \`npm run bench -- --help\` for the options.\n`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(usage());
    process.exit(0);
  }
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`bench: invalid options\n${z.prettifyError(parsed.error)}\n`);
    process.exit(2);
  }
  return parsed.data;
}

function envPairs(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    list.map((entry) => {
      const at = entry.indexOf('=');
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

function jsonPairs(list: readonly string[]): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(envPairs(list)).map(([key, json]) => [key, z.union([z.boolean(), z.number(), z.string()]).parse(JSON.parse(json))]),
  );
}

const mib = (bytes: number): number => round(bytes / (1024 * 1024), 1);

function markdownTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((result) => {
    const figures = Object.entries(result.figures)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ');
    return `| ${result.id} | ${result.scenario} | ${figures} | ${result.goal} | ${result.pass ? 'pass' : '**FAIL**'} |`;
  });
  return ['| id | scenario | figure | goal | result |', '|---|---|---|---|---|', ...rows].join('\n');
}

async function main(): Promise<void> {
  const args = parseCommandLine();
  const mode = args.quick ? 'quick' : 'full';
  const sizes = {
    p1Runs: args['p1-runs'] ?? SIZES[mode].p1Runs,
    p2Deletions: args['p2-deletions'] ?? SIZES[mode].p2Deletions,
    p3RegionDeletes: args['p3-region-deletes'] ?? SIZES[mode].p3RegionDeletes,
  };
  const outDir = resolve(args.out ?? join(REPO_ROOT, 'bench/results'));
  await mkdir(outDir, { recursive: true });
  const startedAt = new Date();
  const extraWorkerEnv = envPairs(args['worker-env']);
  const serverDynamicConfig = { ...SERVER_DYNAMIC_CONFIG, ...jsonPairs(args['server-dynamic-config']) };

  // A signal and the end of the run may both ask for this at once: the steps run once, in reverse order.
  const cleanups = new Cleanups(log);
  const cleanUp = (): Promise<void> => cleanups.run();
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy = signal;
    log(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ── servers ──
    let server: RunningDevServer;
    if (args['temporal-address'] !== undefined) {
      server = {
        address: args['temporal-address'],
        namespace: args.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
        external: true,
        stop: () => Promise.resolve(),
        output: () => '',
      };
    } else {
      // Only --temporal-address names a server to use: TEMPORAL_ADDRESS is imgdel's own setting (it may
      // name a production cluster), and a server taken from it would not run with serverDynamicConfig.
      server = await startDevServer({
        headless: true,
        ignoreTemporalAddress: true,
        dynamicConfig: serverDynamicConfig,
        log: (line) => log(`dev server: ${line}`),
      });
      cleanups.add(() => server.stop());
    }
    const namespace = args.namespace ?? server.namespace;
    log(`temporal: ${server.address} (${server.external ? 'given' : 'started'}), namespace ${namespace}`);

    let emulatorUrl: string;
    if (args['emulator-url'] !== undefined) {
      emulatorUrl = args['emulator-url'].replace(/\/$/, '');
    } else {
      const emulator: RunningEmulator = await startEmulator({ port: 0 });
      cleanups.add(() => emulator.close());
      emulatorUrl = emulator.url;
    }
    const cloudEndpoint = endpointOf(emulatorUrl);
    log(`emulator: ${emulatorUrl} (${args['emulator-url'] === undefined ? 'started' : 'given'})`);

    // ── workers: as the production image runs them (compiled JavaScript, its CMD, its node
    // and allocator settings, a prebuilt workflow bundle), so no worker pays for tsx or webpack ──
    const bundleDir = join(outDir, 'bundles');
    // Inside the repository (whatever --out is), so the compiled modules resolve node_modules; one per run.
    const buildDir = join(REPO_ROOT, 'node_modules/.cache/imgdel-bench', `build-${process.pid}`);
    cleanups.add(() => rm(buildDir, { recursive: true, force: true }));
    // A run that ends mid-build (a signal, a failed bundle) stops tsc before its directory is removed.
    const building = new AbortController();
    let compiling: Promise<void> | undefined;
    cleanups.add(async () => {
      building.abort();
      await compiling?.catch(() => undefined);
    });
    const production = await readProductionRuntime(REPO_ROOT);
    compiling = compileWorkers(REPO_ROOT, buildDir, (line) => log(`build: ${line}`), building.signal);
    const [, imgdelBundle, noopBundle] = await Promise.all([
      compiling,
      buildWorkflowBundle({ outputPath: join(bundleDir, 'imgdel-workflows.js'), logger: silentBundlerLogger }),
      buildWorkflowBundle({
        outputPath: join(bundleDir, 'noop-workflows.js'),
        workflowsPath: join(REPO_ROOT, 'bench/noop-workflow.ts'),
        logger: silentBundlerLogger,
      }),
    ]);
    const runTag = `b${randomBytes(3).toString('hex')}`;
    const workerBase = { temporalAddress: server.address, namespace, cloudEndpoint };
    const imageEnv: Record<string, string> = { NODE_ENV: 'production', ...production.env };
    const workerSettings: Record<'latency' | 'defaults' | 'throughput' | 'noop' | 'quota', Record<string, string>> = {
      latency: { ...imageEnv, IMGDEL_WORKFLOW_BUNDLE: imgdelBundle.codePath, IMGDEL_CLOUD_RATE: UNTHROTTLED_RATE, ...extraWorkerEnv },
      defaults: { ...imageEnv, IMGDEL_WORKFLOW_BUNDLE: imgdelBundle.codePath, ...extraWorkerEnv },
      throughput: { ...imageEnv, IMGDEL_WORKFLOW_BUNDLE: imgdelBundle.codePath, IMGDEL_CLOUD_RATE: UNTHROTTLED_RATE, ...extraWorkerEnv },
      noop: { ...imageEnv, IMGDEL_WORKFLOW_BUNDLE: noopBundle.codePath, IMGDEL_CLOUD_RATE: UNTHROTTLED_RATE, ...extraWorkerEnv },
      quota: {
        ...imageEnv,
        IMGDEL_WORKFLOW_BUNDLE: imgdelBundle.codePath,
        IMGDEL_CLOUD_RATE: UNTHROTTLED_RATE,
        IMGDEL_CLOUD_RATE_LIMITS: `DeleteImage=${P3_WORKER_DELETE_RATE}`,
        ...extraWorkerEnv,
      },
    };
    const started: WorkerProcess[] = [];
    cleanups.add(async () => {
      await Promise.all(started.map((worker) => worker.stop()));
    });
    const imgdelNodeArgs = nodeArgsFor(production, buildDir, 'src/worker.js');
    const noopNodeArgs = nodeArgsFor(production, buildDir, 'bench/noop-worker.js');
    const launch = async (label: string, nodeArgs: string[], env: Record<string, string>): Promise<WorkerProcess> => {
      const worker = await startWorkerProcess({ label, nodeArgs, env, taskQueue: `bench-${label}-${runTag}`, ...workerBase });
      started.push(worker);
      return worker;
    };
    const [latencyWorker, defaultsWorker, throughputWorker, noopWorker, quotaWorker] = await Promise.all([
      launch('latency', imgdelNodeArgs, workerSettings.latency),
      launch('defaults', imgdelNodeArgs, workerSettings.defaults),
      launch('throughput', imgdelNodeArgs, workerSettings.throughput),
      launch('noop', noopNodeArgs, workerSettings.noop),
      launch('quota', imgdelNodeArgs, workerSettings.quota),
    ]);
    log(`workers running (pids ${started.map((worker) => `${worker.label} ${worker.pid}`).join(', ')})`);
    // A worker that dies (a crash, an out-of-memory kill) leaves its workflows waiting for ever: fail the run instead.
    const unlessAWorkerDies = <T>(scenario: Promise<T>): Promise<T> => Promise.race([scenario, ...started.map((worker) => worker.unexpectedExit)]);
    // What P5 measured: the image's command line and memory settings, and the worker's cache size.
    const throughputRuntime = {
      command: `node ${production.command.slice(1).join(' ')}`,
      nodeOptions: workerSettings.throughput.NODE_OPTIONS ?? '',
      mallocArenaMax: workerSettings.throughput.MALLOC_ARENA_MAX ?? '',
      maxCachedWorkflows: loadConfig(throughputWorker.env).worker.maxCachedWorkflows,
    };
    const runtimeSummary = [
      throughputRuntime.command,
      throughputRuntime.nodeOptions === '' ? 'default V8 heap' : `NODE_OPTIONS=${throughputRuntime.nodeOptions}`,
      ...(throughputRuntime.mallocArenaMax === '' ? [] : [`MALLOC_ARENA_MAX=${throughputRuntime.mallocArenaMax}`]),
      `maxCachedWorkflows ${throughputRuntime.maxCachedWorkflows}`,
    ].join(', ');
    log(`worker runtime: ${runtimeSummary}`);

    // Closed once the scenarios are done, not as a clean-up step: a run cut short by a signal or a
    // failure still has calls in flight (each deletion's result), and once the dev server goes they
    // fail and the client retries them from a timer, which throws out of the timer ("Channel has
    // been shut down") if the connection is closed by then, ending the run with that stack trace and
    // exit code 1, before the clean-up finished and before the run's own error or signal was told.
    // Left open, those retries fail until the process exits.
    const connection = await Connection.connect({ address: server.address });
    const context: BenchContext = {
      client: new Client({ connection, namespace }),
      admin: new EmulatorAdmin(emulatorUrl),
      emulatorUrl,
      runTag,
      ...(server.pid === undefined ? {} : { serverPid: server.pid }),
      log,
    };

    // ── P1 + P4 ──
    log(`P1: ${sizes.p1Runs} run(s) of one 12-region, 2-template deletion at ${P1_CALL_LATENCY_MS} ms per call`);
    const latencyOptions = {
      runs: sizes.p1Runs,
      ...(args['region-concurrency'] === undefined ? {} : { regionConcurrency: args['region-concurrency'] }),
    };
    const latency = await unlessAWorkerDies(runLatencyScenario(context, latencyWorker, { ...latencyOptions, label: 'a' }));
    // The same run on a worker with every setting at its default, the client-side limit of 18 calls/s per action included.
    const latencyAtDefaults = await unlessAWorkerDies(runLatencyScenario(context, defaultsWorker, { ...latencyOptions, label: 'd' }));
    const eventBudget = 10 + 8 * (latency.regions + latency.templates);

    // ── P2 + P5 ──
    log(`P2: ${sizes.p2Deletions} deletions (3 regions, 1 template) at once, and as many no-op workflows`);
    const throughput = await unlessAWorkerDies(
      runThroughputScenario(context, { imgdel: throughputWorker, noop: noopWorker }, {
        deletions: sizes.p2Deletions,
        noopStatusWrites: args['noop-status-writes'],
        noopPayloadBytes: args['noop-payload-bytes'] ?? 0,
        order: args['p2-order'],
      }),
    );
    const cpuLine = (cpu: (typeof throughput.cpuMsPerWorkflow)['imgdel']) =>
      `worker ${cpu.worker}${cpu.server === undefined ? '' : `, server ${cpu.server}`}, bench process ${cpu.benchProcess}`;
    log(`P2 CPU ms per workflow: imgdel ${cpuLine(throughput.cpuMsPerWorkflow.imgdel)}; no-op ${cpuLine(throughput.cpuMsPerWorkflow.noop)}`);
    const chartPath = join(outDir, 'throughput.png');
    await renderCompletionChart(chartPath, `P2: ${sizes.p2Deletions} deletions started at once (3 regions, 1 template each)`, [
      { label: 'imgdel deleteImage', completedAtSeconds: throughput.imgdel.completedAtSeconds, color: '#1f77b4' },
      { label: 'no-op workflow, same activities', completedAtSeconds: throughput.noop.completedAtSeconds, color: '#ff7f0e' },
    ]);
    const peakRssBytes = Math.max(throughput.imgdel.worker.peakSampledRssBytes, throughput.imgdel.worker.highWaterMarkBytes);

    // ── P3 ──
    log(`P3: ${sizes.p3RegionDeletes} region deletes against a DeleteImage quota of ${P3_QUOTA_PER_SECOND}/s`);
    const quota = await unlessAWorkerDies(runQuotaScenario(context, quotaWorker, { regionDeletes: sizes.p3RegionDeletes }));
    await connection.close();

    const results: ScenarioResult[] = [
      {
        id: 'P1',
        scenario: `1 image, ${latency.regions} regions, ${latency.templates} templates, ${P1_CALL_LATENCY_MS} ms per call`,
        figures: {
          'wall ÷ critical path': round(latency.ratio),
          'wall ms': Math.round(latency.wallMs),
          'critical path ms': CRITICAL_PATH_MS,
          "wall ÷ the issue's 4 calls (800 ms)": round(latency.wallMs / ISSUE_CRITICAL_PATH_MS),
          'ratio at default rate limit': round(latencyAtDefaults.ratio),
        },
        headline: 'wall ÷ critical path',
        goal: '≤ 1.5',
        pass: latency.ratio <= 1.5,
        details: {
          criticalPathCalls: CRITICAL_PATH_CALLS,
          runs: latency.runs,
          steps: latency.steps,
          workerSettings: workerSettings.latency,
          atDefaultRateLimit: { runs: latencyAtDefaults.runs, steps: latencyAtDefaults.steps, workerSettings: workerSettings.defaults },
          ...(args['region-concurrency'] === undefined ? {} : { regionConcurrency: args['region-concurrency'] }),
        },
      },
      {
        id: 'P2',
        scenario: `${sizes.p2Deletions} deletions (3 regions, 1 template) at once, no latency (${p2OrderLabel(args['p2-order'])}, ${p2BatchesPerKind(args['p2-order'])} batches each)${
          args['noop-status-writes'] ? '; the no-op also writes the status search attributes' : ''
        }${args['noop-payload-bytes'] === undefined ? '' : `; the no-op's answers carry ${args['noop-payload-bytes']} bytes more each`}`,
        figures: {
          'ratio to no-op': round(throughput.ratio),
          'deletions/s': round(throughput.imgdel.perSecond),
          'no-op/s': round(throughput.noop.perSecond),
          'lowest pair': Math.min(...throughput.pairRatios),
          'highest pair': Math.max(...throughput.pairRatios),
        },
        headline: 'ratio to no-op',
        goal: '≥ 0.8',
        pass: throughput.ratio >= 0.8,
        details: {
          pairRatios: throughput.pairRatios,
          activitiesPerDeletion: throughput.activitiesPerDeletion,
          cloudCallsPerDeletion: throughput.cloudCallsPerDeletion,
          cpuMsPerWorkflow: throughput.cpuMsPerWorkflow,
          historyEventsPerDeletion: round(throughput.imgdel.meanHistoryEvents),
          historyEventsPerNoop: round(throughput.noop.meanHistoryEvents),
          historyBytesPerDeletion: Math.round(throughput.imgdel.meanHistoryBytes),
          historyBytesPerNoop: Math.round(throughput.noop.meanHistoryBytes),
          noopStatusWrites: args['noop-status-writes'],
          noopPayloadBytes: args['noop-payload-bytes'] ?? 0,
          batches: throughput.batches,
          chart: chartPath,
          workerSettings: workerSettings.throughput,
        },
      },
      {
        id: 'P3',
        scenario: `${quota.regionDeletes} region deletes, DeleteImage limited to ${quota.quotaPerSecond}/s`,
        figures: {
          'achieved ÷ quota': round(quota.ratio),
          'deletes/s': round(quota.achievedPerSecond),
          throttled: quota.throttled,
          'after the first second ÷ quota': round(quota.sustainedRatio),
        },
        headline: 'achieved ÷ quota',
        goal: '≥ 0.9, 0 throttled',
        pass: quota.ratio >= 0.9 && quota.throttled === 0,
        details: { throttledCodes: quota.throttledCodes, workerSettings: workerSettings.quota },
      },
      {
        id: 'P4',
        scenario: `the clean ${latency.regions}-region run (P1)`,
        figures: { 'history events': latency.historyEvents, 'history bytes': latency.historyBytes },
        headline: 'history events',
        goal: `≤ ${eventBudget} events`,
        pass: latency.historyEvents <= eventBudget,
        details: { eventBudget },
      },
      {
        id: 'P5',
        scenario: `the worker during P2 (${p2BatchesPerKind(args['p2-order'])} × ${sizes.p2Deletions} deletions); ${runtimeSummary}`,
        figures: {
          'peak RSS MiB': mib(peakRssBytes),
          'CPU s per deletion': round(throughput.imgdel.worker.cpuSeconds / throughput.imgdel.count, 4),
          'no-op peak RSS MiB': mib(Math.max(throughput.noop.worker.peakSampledRssBytes, throughput.noop.worker.highWaterMarkBytes)),
          'no-op CPU s per run': round(throughput.noop.worker.cpuSeconds / throughput.noop.count, 4),
        },
        headline: 'peak RSS MiB',
        goal: 'RSS < 300 MB',
        pass: peakRssBytes < 300 * 1000 * 1000,
        details: {
          runtime: { ...throughputRuntime, imgdelCommand: throughputWorker.command, noopCommand: noopWorker.command },
          imgdelWorker: throughput.imgdel.worker,
          noopWorker: throughput.noop.worker,
        },
      },
    ];

    const finishedAt = new Date();
    const report = {
      schema: 1,
      mode,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
      machine: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, memoryMiB: mib(totalmem()) },
      temporal: {
        address: server.address,
        namespace,
        started: !server.external,
        ...(server.external ? {} : { dynamicConfig: serverDynamicConfig }),
      },
      emulator: { url: emulatorUrl, started: args['emulator-url'] === undefined },
      sizes,
      scenarios: results,
      chart: chartPath,
    };
    const jsonPath = join(outDir, 'latest.json');
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${markdownTable(results)}\n\n`);
    log(`results: ${jsonPath}; chart: ${chartPath}; ${report.durationSeconds} s`);
  } finally {
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The signal that stopped the run: its handler exits 130 once everything is stopped, whatever failed meanwhile. */
let stoppedBy: NodeJS.Signals | undefined;

main().catch((error: unknown) => {
  // A Ctrl-C also stops the workers and the dev server, which fails the scenario under way: not the run's failure.
  if (stoppedBy !== undefined) return;
  process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
