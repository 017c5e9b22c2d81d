/**
 * createImgdelWorker as a library: an injected connection and cloud, one task queue per
 * test, and close() releasing the worker whether it ran or not.
 */
import type { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, SHUTDOWN_FORCE_MARGIN_MS, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { beginGracefulShutdown, createImgdelWorker } from '../../src/worker.js';
import { workflowIdFor } from '../../src/workflows/input.js';
import { WORKFLOW_TYPE, type DeletionProgress } from '../../src/workflows/model.js';
import { grpcError } from '../helpers/grpc-error.js';
import { ACCOUNT, scriptedCloud } from '../helpers/scripted-cloud.js';
import { connectTestClient, createTestNativeConnection, testNamespace, testTemporalAddress, uniqueTaskQueue } from '../helpers/temporal.js';

let connection: NativeConnection;
beforeAll(async () => {
  connection = await createTestNativeConnection();
});
afterAll(async () => {
  await connection?.close();
});

const config = () => loadConfig({ IMGDEL_ACCOUNT_ID: ACCOUNT, TEMPORAL_NAMESPACE: testNamespace() });

describe('createImgdelWorker', () => {
  it('runs deletions on the injected cloud and task queue, and leaves an injected connection open', async () => {
    const imageId = 'img-library0001';
    const cloud = scriptedCloud(imageId, ['cn-shanghai']);
    const lines: string[] = [];
    const taskQueue = uniqueTaskQueue('imgdel-library');
    const imgdel = await createImgdelWorker({
      config: config(),
      connection,
      cloud,
      taskQueue,
      logger: createLogger({ level: 'INFO', format: 'json', write: (line) => lines.push(line) }),
    });
    expect(imgdel.taskQueue).toBe(taskQueue);
    expect(imgdel.connection).toBe(connection);
    expect(imgdel.workflowSource.kind).toBe('source');
    const running = imgdel.run();
    const { client, connection: clientConnection } = await connectTestClient();
    try {
      const progress: DeletionProgress = await client.workflow.execute(WORKFLOW_TYPE, {
        args: [{ imageId }],
        workflowId: workflowIdFor(imageId),
        taskQueue,
      });
      expect(progress.status).toBe('deleted');
    } finally {
      await clientConnection.close();
    }
    expect(cloud.calls).toContain('deleteImageInRegion cn-shanghai');
    await imgdel.close();
    await running;
    expect(imgdel.worker.getState()).toBe('STOPPED');
    expect(lines.some((line) => JSON.parse(line).message === 'bundled the workflows from source')).toBe(true);
    // Still open: the caller owns it.
    await expect(connection.ensureConnected()).resolves.toBeUndefined();
  });

  it('gives up on a cloud call that outlives the shutdown: run() rejects once the force time has passed', async () => {
    const imageId = 'img-stuckcall01';
    const cloud = scriptedCloud(imageId, ['cn-shanghai']);
    let callStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      callStarted = resolve;
    });
    // A call that neither answers nor hears the activity's cancellation, as a request on the wire.
    cloud.getImage = () => {
      callStarted();
      return new Promise(() => undefined);
    };
    const forced = loadConfig({
      IMGDEL_ACCOUNT_ID: ACCOUNT,
      TEMPORAL_NAMESPACE: testNamespace(),
      IMGDEL_SHUTDOWN_GRACE_MS: '100',
      IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '100',
      IMGDEL_CLOUD_READ_TIMEOUT_MS: '100',
    });
    expect(forced.worker.shutdownForceTimeMs).toBe(100 + 100 + 100 + SHUTDOWN_FORCE_MARGIN_MS);
    const taskQueue = uniqueTaskQueue('imgdel-forced');
    const imgdel = await createImgdelWorker({
      config: forced,
      connection,
      cloud,
      taskQueue,
      logger: createLogger({ level: 'ERROR', format: 'json', write: () => undefined }),
    });
    const running = imgdel.run();
    const outcome = running.then(
      () => 'stopped',
      (error: unknown) => error,
    );
    const { client, connection: clientConnection } = await connectTestClient();
    try {
      await client.workflow.start(WORKFLOW_TYPE, { args: [{ imageId }], workflowId: workflowIdFor(imageId), taskQueue });
      await started;
      const shutdownAt = Date.now();
      imgdel.worker.shutdown();
      const result = await outcome;
      // The SDK fails the run with GracefulShutdownPeriodExpiredError, or with the error of
      // releasing a native worker whose activity is still in use, which then replaces it.
      expect(result).toBeInstanceOf(Error);
      expect(imgdel.worker.getState()).toBe('FAILED');
      expect(Date.now() - shutdownAt).toBeGreaterThanOrEqual(forced.worker.shutdownForceTimeMs - 50);
    } finally {
      // Its id is fixed: left running (the test failed), it would refuse the next run's start.
      await client.workflow.getHandle(workflowIdFor(imageId)).terminate('test cleanup').catch(() => undefined);
      await clientConnection.close();
      await imgdel.close();
    }
  });

  it('lets a shutdown signal leave a worker that is already shutting down to finish', async () => {
    const imgdel = await createImgdelWorker({
      config: config(),
      connection,
      cloud: scriptedCloud('img-signal0001', ['cn-shanghai']),
      taskQueue: uniqueTaskQueue('imgdel-signal'),
      logger: createLogger({ level: 'WARN', format: 'json', write: () => undefined }),
    });
    const running = imgdel.run();
    let announced = 0;
    const announce = () => {
      announced += 1;
    };
    try {
      // The first signal: announced, then the graceful shutdown.
      expect(beginGracefulShutdown(imgdel.worker, announce)).toBe(true);
      // The worker now drains, as it does when the SDK shuts it down by itself after an unexpected
      // error: worker.shutdown() throws, which in a signal handler would end the process at once.
      expect(() => imgdel.worker.shutdown()).toThrow(/Not running/);
      expect(beginGracefulShutdown(imgdel.worker, announce)).toBe(false);
      await running;
      expect(beginGracefulShutdown(imgdel.worker, announce)).toBe(false);
      expect(announced).toBe(1);
    } finally {
      await imgdel.close();
    }
  });

  it('releases a worker that never ran', async () => {
    const imgdel = await createImgdelWorker({
      config: config(),
      connection,
      cloud: scriptedCloud('img-unused0001', ['cn-shanghai']),
      taskQueue: uniqueTaskQueue('imgdel-unused'),
      logger: createLogger({ level: 'WARN', format: 'json', write: () => undefined }),
    });
    expect(imgdel.worker.getState()).toBe('INITIALIZED');
    await imgdel.close();
    expect(imgdel.worker.getState()).toBe('STOPPED');
  });

  it('refuses a namespace the server does not have as a configuration error that says what to set, before bundling', async () => {
    const lines: string[] = [];
    const refusal = await createImgdelWorker({
      config: loadConfig({ IMGDEL_ACCOUNT_ID: ACCOUNT, TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: 'no-such-namespace' }),
      connection,
      cloud: scriptedCloud('img-unused0002', ['cn-shanghai']),
      taskQueue: uniqueTaskQueue('imgdel-no-namespace'),
      logger: createLogger({ level: 'INFO', format: 'json', write: (line) => lines.push(line) }),
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toBe(
      `Temporal at ${testTemporalAddress()} has no namespace "no-such-namespace": set TEMPORAL_NAMESPACE (or the TEMPORAL_PROFILE's namespace) to one it has ` +
        '(temporal operator namespace list), or create it (temporal operator namespace create --namespace no-such-namespace)',
    );
    expect(lines.some((line) => line.includes('bundled the workflows'))).toBe(false);
    // The injected connection is the caller's: still usable.
    await expect(connection.workflowService.describeNamespace({ namespace: testNamespace() })).resolves.toBeDefined();
  });

  it('refuses credentials the server rejects as a configuration error that names the settings to check, before bundling', async () => {
    // The dev server has no authorizer: the connection answers the namespace check as one with an authorizer would.
    const rejected = grpcError(16, 'invalid API key');
    const service = new Proxy(connection.workflowService, {
      get: (target, property, receiver) =>
        property === 'describeNamespace' ? () => Promise.reject(rejected) : (Reflect.get(target, property, receiver) as unknown),
    });
    const refusing = new Proxy(connection, {
      get: (target, property) => (property === 'workflowService' ? service : (Reflect.get(target, property, target) as unknown)),
    });
    const lines: string[] = [];
    const refusal = await createImgdelWorker({
      config: loadConfig({ IMGDEL_ACCOUNT_ID: ACCOUNT, TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: testNamespace() }),
      connection: refusing,
      cloud: scriptedCloud('img-unused0003', ['cn-shanghai']),
      taskQueue: uniqueTaskQueue('imgdel-refused'),
      logger: createLogger({ level: 'INFO', format: 'json', write: (line) => lines.push(line) }),
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toBe(
      `Temporal at ${testTemporalAddress()} refused imgdel for namespace "${testNamespace()}" (invalid API key): check the credentials it connects with ` +
        '(TEMPORAL_API_KEY, or TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH, or the TEMPORAL_PROFILE that sets them) and that they are allowed to use this namespace',
    );
    expect(lines.some((line) => line.includes('bundled the workflows'))).toBe(false);
  });
});
