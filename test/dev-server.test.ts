/**
 * `startDevServer({ dynamicConfig })`: the values reach `temporal server start-dev`, and with the
 * search-attribute cache on (the production default the benchmark restores) imgdel's attributes,
 * registered when the server starts, are usable by the very first deletion; an onSpawn that throws
 * leaves no server running.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletionStartOptions } from '../src/client/client.js';
import { startDevServer } from '../src/dev/dev-server.js';
import type { RunningDevServer } from '../src/dev/dev-server.js';
import { SEARCH_STATUS, WORKFLOW_TYPE, deletionStatusKey, imageIdKey } from '../src/workflows/model.js';
import { connectTestClient, uniqueTaskQueue } from './helpers/temporal.js';

/** A limit the server enforces visibly (the default is 1 000), so the test sees the values arrive. */
const MAX_ID_LENGTH = 64;

let server: RunningDevServer | undefined;
let connection: Connection | undefined;

describe('dev server with dynamic config', () => {
  beforeAll(async () => {
    server = await startDevServer({
      ignoreTemporalAddress: true,
      headless: true,
      dynamicConfig: { 'system.forceSearchAttributesCacheRefreshOnRead': false, 'limit.maxIDLength': MAX_ID_LENGTH },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  it('passes the values to the server', async () => {
    if (server === undefined) throw new Error('no dev server');
    const connected = await connectTestClient(server);
    connection = connected.connection;
    const tooLong = 'x'.repeat(MAX_ID_LENGTH + 1);
    const refusal = await connected.client.workflow
      .start(WORKFLOW_TYPE, { workflowId: tooLong, taskQueue: uniqueTaskQueue('dev-server') })
      .then(
        () => new Error(`a ${tooLong.length}-character workflow id was accepted`),
        (error: unknown) => error,
      );
    expect(String(refusal instanceof Error ? refusal.cause : refusal)).toMatch(/length/i);
  });

  it('indexes a deletion started right away, with the search-attribute cache on', async () => {
    if (server === undefined) throw new Error('no dev server');
    const connected = await connectTestClient(server);
    await connection?.close();
    connection = connected.connection;
    // No worker polls this queue: the start alone writes the search attributes.
    const imageId = 'img-devserver0001';
    const handle = await connected.client.workflow.start(
      WORKFLOW_TYPE,
      deletionStartOptions({ imageId, reason: 'dev-server test' }, uniqueTaskQueue('dev-server'), randomUUID()),
    );
    try {
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(imageIdKey)).toBe(imageId);
      expect(description.typedSearchAttributes.get(deletionStatusKey)).toBe(SEARCH_STATUS.running);
    } finally {
      await handle.terminate('dev-server test done');
    }
  });
});

describe('dev server whose onSpawn throws', () => {
  it('stops the server it could not record, and rethrows', async () => {
    let spawned: number | undefined;
    const refusal = await startDevServer({
      ignoreTemporalAddress: true,
      headless: true,
      log: () => undefined,
      onSpawn: (pid) => {
        spawned = pid;
        throw new Error('pidfile taken');
      },
    }).then(
      () => new Error('the dev server started'),
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({ message: 'pidfile taken' });
    if (spawned === undefined) throw new Error('onSpawn was not called');
    const pid = spawned;
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(false);
  });
});
