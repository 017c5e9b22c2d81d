/**
 * How many ListImage calls per second one emulator process sustains: starts the
 * emulator as its own process (or uses --url), then drives signed requests from this
 * process with a fixed concurrency for a fixed time, and prints the figures.
 *
 *   npx tsx bench/emulator-load.ts [--seconds 5] [--concurrency 32] [--url http://127.0.0.1:8787]
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formEncode, signCall } from '../test/emulator/helpers.js';
import { startEmulatorProcess } from './lib/emulator-process.js';

const argsSchema = z.object({
  seconds: z.coerce.number().positive().max(120).default(5),
  concurrency: z.coerce.number().int().min(1).max(1024).default(32),
  url: z.url().optional(),
});

/** One signed ListImage over a keep-alive node:http agent (lighter than fetch, so the client is not the bottleneck). */
function listImageCall(url: URL, agent: Agent, body: string): Promise<number> {
  const { headers } = signCall(url.host, 'ListImage', body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: url.hostname, port: url.port, path: '/', method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
        response.once('error', reject);
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

/** CPU seconds a process used so far (Linux /proc; undefined elsewhere). */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of stat; 100 ticks a second on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, concurrency: { type: 'string' }, url: { type: 'string' } },
  });
  const args = argsSchema.parse(values);
  const started = args.url === undefined ? await startEmulatorProcess(['--seed', 'demo']) : undefined;
  const url = new URL(args.url ?? started?.url ?? '');
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const body = formEncode({ ImageId: 'img-demo0001' });
  try {
    // Warm-up: connections, JIT.
    for (let i = 0; i < 200; i += 1) await listImageCall(url, agent, body);
    const serverCpuBefore = await cpuSeconds(started?.child.pid);

    const latencies: number[] = [];
    let failures = 0;
    const deadline = performance.now() + args.seconds * 1000;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        const status = await listImageCall(url, agent, body);
        latencies.push(performance.now() - sent);
        if (status !== 200) failures += 1;
      }
    };
    const begin = performance.now();
    await Promise.all(Array.from({ length: args.concurrency }, worker));
    const elapsedSeconds = (performance.now() - begin) / 1000;
    const serverCpuAfter = await cpuSeconds(started?.child.pid);
    latencies.sort((a, b) => a - b);
    const serverCpu = serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpuBefore;
    const result = {
      action: 'ListImage',
      concurrency: args.concurrency,
      seconds: Number(elapsedSeconds.toFixed(2)),
      requests: latencies.length,
      failures,
      requestsPerSecond: Math.round(latencies.length / elapsedSeconds),
      latencyMs: {
        p50: Number(percentile(latencies, 0.5).toFixed(2)),
        p99: Number(percentile(latencies, 0.99).toFixed(2)),
        max: Number((latencies.at(-1) ?? Number.NaN).toFixed(2)),
      },
      // Share of one core the emulator used, and its CPU cost per request.
      ...(serverCpu === undefined
        ? {}
        : {
            emulatorCpuCores: Number((serverCpu / elapsedSeconds).toFixed(2)),
            emulatorCpuMsPerRequest: Number(((serverCpu * 1000) / latencies.length).toFixed(3)),
          }),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    agent.destroy();
    started?.child.kill('SIGTERM');
  }
}

await main();
