/**
 * The end-to-end stack for tests: the shared dev server (global setup), a fresh
 * emulator, and an in-process Worker with the REAL activities and adapter talking
 * HTTP (signed) to that emulator.
 */
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.js';
import { createAlibabaCloudAdapter } from '../../src/cloud/alibaba-adapter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { EmulatorAdmin } from '../../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS, emulatorCloudEnv } from '../../src/emulator/defaults.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/server.js';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../src/workflow-source.js';
import { silentBundlerLogger } from '../../src/dev/build-bundle.js';
import { connectTestClient, createTestNativeConnection, testTemporalAddress, uniqueTaskQueue } from './temporal.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

let bundlePromise: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (process). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundlePromise ??= bundleWorkflowCode({ ...WORKFLOW_BUNDLER_OPTIONS, workflowsPath: WORKFLOWS_PATH, logger: silentBundlerLogger });
  return bundlePromise;
}

export interface TestStack {
  emulator: RunningEmulator;
  admin: EmulatorAdmin;
  client: Client;
  config: Config;
  taskQueue: string;
  close(): Promise<void>;
}

/** Configuration of a worker talking to `emulator`, as the worker would read it from its environment. */
export function emulatorConfig(emulator: RunningEmulator, taskQueue: string, extraEnv: Record<string, string> = {}): Config {
  return loadConfig({
    TEMPORAL_ADDRESS: testTemporalAddress(),
    IMGDEL_TASK_QUEUE: taskQueue,
    ...emulatorCloudEnv(emulator.endpoint),
    IMGDEL_CLOUD_RATE: '1000',
    ...extraEnv,
  });
}

export async function startTestStack(options: { emulator?: EmulatorOptions; env?: Record<string, string> } = {}): Promise<TestStack> {
  const emulator = await startEmulator({ port: 0, ...options.emulator });
  const taskQueue = uniqueTaskQueue('e2e');
  const config = emulatorConfig(emulator, taskQueue, options.env);
  const { client, connection } = await connectTestClient();
  const nativeConnection: NativeConnection = await createTestNativeConnection();
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities(createAlibabaCloudAdapter(config.cloud), {
      accountId: EMULATOR_DEFAULTS.accountId,
      confirmPollMs: 20,
    }),
  });
  const running = worker.run();
  return {
    emulator,
    admin: new EmulatorAdmin(emulator.url),
    client,
    config,
    taskQueue,
    async close() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await (connection as Connection).close();
      await emulator.close();
    },
  };
}

/** Whether any run of `workflowId` exists (the CLI and client must start nothing on bad input). */
export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
