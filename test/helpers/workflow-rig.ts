/**
 * What a workflow test file needs from the shared dev server: the workflow bundle, a client and
 * a native connection for its workers, opened before the file's tests and closed after them.
 */
import { randomBytes } from 'node:crypto';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { NativeConnection, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll } from 'vitest';
import { progressQuery, type DeletionProgress } from '../../src/workflows/model.js';
import { workflowBundle } from './stack.js';
import { connectTestClient, createTestNativeConnection } from './temporal.js';

export interface WorkflowRig {
  bundle: WorkflowBundleWithSourceMap;
  client: Client;
  nativeConnection: NativeConnection;
}

/**
 * Registers the file's beforeAll/afterAll; the rig's fields are set once beforeAll has run.
 * `beforeConnecting` runs first (e.g. to install a Runtime of the test's own).
 */
export function useWorkflowRig(beforeConnecting?: () => void): WorkflowRig {
  let opened: (WorkflowRig & { connection: Connection }) | undefined;
  beforeAll(async () => {
    beforeConnecting?.();
    const bundle = await workflowBundle();
    const { client, connection } = await connectTestClient();
    opened = { bundle, client, connection, nativeConnection: await createTestNativeConnection() };
  });
  afterAll(async () => {
    await opened?.nativeConnection.close();
    await opened?.connection.close();
  });
  const ready = (): WorkflowRig => {
    if (opened === undefined) throw new Error('useWorkflowRig: used before its beforeAll ran');
    return opened;
  };
  return {
    get bundle() {
      return ready().bundle;
    },
    get client() {
      return ready().client;
    },
    get nativeConnection() {
      return ready().nativeConnection;
    },
  };
}

/** An image id no other test uses. */
export function newImageId(): string {
  return `img-${randomBytes(6).toString('hex')}`;
}

/** Polls the deletion's progress query until it reports `status`; its progress then. */
export async function waitForStatus(handle: WorkflowHandle, status: DeletionProgress['status']): Promise<DeletionProgress> {
  for (let i = 0; i < 600; i++) {
    const progress = await handle.query(progressQuery);
    if (progress.status === status) return progress;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`workflow never reached status ${status}`);
}
