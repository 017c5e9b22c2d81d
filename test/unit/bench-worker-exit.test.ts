/**
 * A benchmark worker that dies during the run (a crash, an out-of-memory kill) leaves its
 * workflows waiting for ever; the runner races its scenarios against `unexpectedExit`, which
 * must reject then, and only then: a worker the runner stops is no failure.
 */
import { describe, expect, it } from 'vitest';
import { startWorkerProcess } from '../../bench/lib/worker-process.js';

const base = { temporalAddress: '127.0.0.1:9', namespace: 'default', taskQueue: 'bench-exit-test', cloudEndpoint: '127.0.0.1:9' };

describe('a benchmark worker process', () => {
  it('reports an exit it was not asked for, with its label and exit code', async () => {
    const worker = await startWorkerProcess({
      ...base,
      label: 'throughput',
      nodeArgs: ['-e', "console.log('worker running'); setTimeout(() => process.exit(3), 200);"],
    });
    await expect(worker.unexpectedExit).rejects.toThrow(/^throughput worker exited during the run \(3\)/);
  });

  it('does not report the exit stop() asked for', async () => {
    const worker = await startWorkerProcess({
      ...base,
      label: 'latency',
      nodeArgs: ['-e', "console.log('worker running'); setInterval(() => undefined, 1000);"],
    });
    let rejected = false;
    worker.unexpectedExit.catch(() => (rejected = true));
    await worker.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rejected).toBe(false);
  });
});
