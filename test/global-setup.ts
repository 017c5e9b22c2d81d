/**
 * Starts one Temporal dev server for the whole test run (or uses the server TEMPORAL_ADDRESS names)
 * and gives its address to the tests: see test/helpers/temporal.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../src/dev/dev-server.js';
import type {} from './helpers/temporal.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`[global-setup] ${line}\n`);
  // The dev server as `npm start` runs it, UI and SQLite file included (the file in a directory
  // of this run's own, removed afterwards); the UI shows the tests' workflows while they run.
  const dataDir = await mkdtemp(join(tmpdir(), 'imgdel-test-temporal-'));
  const server = await startDevServer({ dbFilename: join(dataDir, 'temporal.sqlite'), log }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  if (server.external) await assertAnswers(server.address);
  else if (server.uiUrl !== undefined) log(`Temporal UI of this test run: ${server.uiUrl}`);
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (!server.external) log(`stopped the temporal dev server on ${server.address}`);
  };
}

/** A wrong TEMPORAL_ADDRESS should fail the run once, clearly, not every test with a timeout. */
async function assertAnswers(address: string): Promise<void> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000 });
    await connection.close();
  } catch (error) {
    throw new Error(`TEMPORAL_ADDRESS=${address} does not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
}
