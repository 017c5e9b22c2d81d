/**
 * Starts one Temporal dev server for the whole test run (or uses the server TEMPORAL_ADDRESS names)
 * and gives its address to the tests: see test/helpers/temporal.ts.
 */
import { Connection } from '@temporalio/client';
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../src/dev/dev-server.js';
import type {} from './helpers/temporal.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`[global-setup] ${line}\n`);
  const server = await startDevServer({ headless: true, log });
  if (server.external) await assertAnswers(server.address);
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  return async () => {
    await server.stop();
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
