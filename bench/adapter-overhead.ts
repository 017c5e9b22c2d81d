/**
 * What the real adapter costs per call on top of the bare request: N image look-ups
 * (getImage: one ListImage each, its account-wide lists read once and shared) through the
 * adapter (signing, credentials, rate-limit slot, zod parsing, mapping)
 * against the same number of equally signed raw node:http requests (keep-alive), both to
 * one emulator running in its own process: time per call one at a time, and this
 * process's CPU per call with `--concurrency` calls in flight (what a busy worker pays).
 *
 *   npx tsx bench/adapter-overhead.ts [--calls 500] [--rounds 2] [--concurrency 32]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createAlibabaCloudAdapter } from '../src/cloud/alibaba-adapter.js';
import { loadConfig } from '../src/config.js';
import { EMULATOR_DEFAULTS } from '../src/emulator/defaults.js';
import { formEncode, signCall } from '../test/emulator/helpers.js';
import { startEmulatorProcess } from './lib/emulator-process.js';

const argsSchema = z.object({
  calls: z.coerce.number().int().min(10).max(5_000).default(500),
  rounds: z.coerce.number().int().min(1).max(5).default(2),
  concurrency: z.coerce.number().int().min(1).max(256).default(32),
});

const IMAGE_ID = 'img-bench0001';
const WARM_UP_CALLS = 50;

async function seedImage(url: string): Promise<void> {
  const response = await fetch(`${url}/_emulator/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ images: [{ imageId: IMAGE_ID, regions: ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'] }] }),
  });
  if (!response.ok) throw new Error(`seeding failed: HTTP ${response.status}`);
}

/** One signed ListImage over node:http with a keep-alive agent, body parsed as JSON. */
function rawListImage(endpoint: string, agent: http.Agent): Promise<void> {
  const body = formEncode({ ImageId: IMAGE_ID, PageSize: '100', PageNumber: '1' });
  const { headers } = signCall(endpoint, 'ListImage', body);
  const [hostname, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port: Number(port), path: '/', method: 'POST', headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Data?: unknown[] };
          if (response.statusCode !== 200 || !Array.isArray(parsed.Data) || parsed.Data.length !== 1) {
            reject(new Error(`raw ListImage answered HTTP ${String(response.statusCode)}`));
          } else resolve();
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

interface Figures {
  totalMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** This process's CPU (user + system) per call, with `concurrency` calls in flight. */
  cpuMsPerCall: number;
}

async function measure(calls: number, concurrency: number, run: () => Promise<unknown>): Promise<Figures> {
  for (let index = 0; index < WARM_UP_CALLS; index += 1) await run();
  const durations: number[] = [];
  const startedAt = performance.now();
  for (let index = 0; index < calls; index += 1) {
    const callStartedAt = performance.now();
    await run();
    durations.push(performance.now() - callStartedAt);
  }
  const totalMs = performance.now() - startedAt;
  durations.sort((a, b) => a - b);
  const at = (fraction: number) => durations[Math.min(durations.length - 1, Math.floor(durations.length * fraction))] ?? NaN;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next += 1;
        await run();
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return {
    totalMs,
    meanMs: totalMs / calls,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    cpuMsPerCall: (cpu.user + cpu.system) / 1000 / calls,
  };
}

const format = (value: number) => value.toFixed(3).padStart(8);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' } } });
  const args = argsSchema.parse(values);
  const emulator = await startEmulatorProcess();
  try {
    await seedImage(emulator.url);
    const adapter = createAlibabaCloudAdapter(
      loadConfig({
        IMGDEL_CLOUD_ENDPOINT: emulator.endpoint,
        ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
        // High enough that the limiter never waits: its bookkeeping is measured, not its pacing.
        IMGDEL_CLOUD_RATE: '1000000',
      }).cloud,
      // The account-wide children lists are read once: every measured call is one ListImage.
      { accountListsMaxAgeMs: 3_600_000 },
    );
    const agent = new http.Agent({ keepAlive: true });
    console.log(
      `${args.calls} ListImage calls per run one at a time, then ${args.calls} with ${args.concurrency} in flight; ` +
        `${args.rounds} round(s), emulator ${emulator.url}`,
    );
    console.log(
      `${'run'.padEnd(18)} ${'total ms'.padStart(9)} ${'mean ms'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'CPU ms/call'.padStart(12)}`,
    );
    const raw: Figures[] = [];
    const viaAdapter: Figures[] = [];
    for (let round = 1; round <= args.rounds; round += 1) {
      for (const [label, run, sink] of [
        ['raw node:http', () => rawListImage(emulator.endpoint, agent), raw],
        ['adapter', () => adapter.getImage(IMAGE_ID).then(() => undefined), viaAdapter],
      ] as const) {
        const figures = await measure(args.calls, args.concurrency, run);
        sink.push(figures);
        console.log(
          `${`${label} #${round}`.padEnd(18)} ${figures.totalMs.toFixed(0).padStart(9)} ${format(figures.meanMs)} ${format(figures.p50Ms)} ${format(figures.p95Ms)} ${format(figures.p99Ms)} ${format(figures.cpuMsPerCall).padStart(12)}`,
        );
      }
    }
    const best = (runs: Figures[], key: keyof Figures) => Math.min(...runs.map((figures) => figures[key]));
    const meanOverhead = best(viaAdapter, 'meanMs') - best(raw, 'meanMs');
    const p50Overhead = best(viaAdapter, 'p50Ms') - best(raw, 'p50Ms');
    console.log(
      `adapter overhead per call (best round): mean +${meanOverhead.toFixed(3)} ms, p50 +${p50Overhead.toFixed(3)} ms ` +
        `(x${(best(viaAdapter, 'meanMs') / best(raw, 'meanMs')).toFixed(2)} of raw); ` +
        `CPU per call ${best(viaAdapter, 'cpuMsPerCall').toFixed(3)} ms against ${best(raw, 'cpuMsPerCall').toFixed(3)} ms raw`,
    );
    agent.destroy();
  } finally {
    emulator.child.kill('SIGTERM');
  }
}

await main();
