/**
 * Shared test helpers for the Temporal server that test/global-setup.ts provides
 * (a dev server it started, or the one TEMPORAL_ADDRESS names).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal frontend every test uses. */
    temporalAddress: string;
    temporalNamespace: string;
  }
}

export function testTemporalAddress(): string {
  return inject('temporalAddress');
}

export function testNamespace(): string {
  return inject('temporalNamespace');
}

/** A client on the test server, or on the server given; close `connection` when done. */
export async function connectTestClient(
  server: { address: string; namespace: string } = { address: testTemporalAddress(), namespace: testNamespace() },
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: server.address });
  return { client: new Client({ connection, namespace: server.namespace }), connection };
}

/** A worker connection on the test server; close it after the worker has stopped. */
export function createTestNativeConnection(): Promise<NativeConnection> {
  quietWorkerLogs();
  return NativeConnection.connect({ address: testTemporalAddress() });
}

let runtimeConfigured = false;

/** Worker state changes at INFO drown test output; keep warnings and errors. */
function quietWorkerLogs(): void {
  if (runtimeConfigured) return;
  runtimeConfigured = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // A runtime already exists (the test configured its own): leave it as it is.
  }
}

/** A task queue no other test (or earlier run on a shared server) polls. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
