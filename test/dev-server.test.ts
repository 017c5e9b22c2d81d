/**
 * `startDevServer({ dynamicConfig })`: the values reach `temporal server start-dev`, and with the
 * search-attribute cache on (the production default the benchmark restores) imgdel's attributes,
 * registered when the server starts, are usable by the very first deletion.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletionStartOptions } from '../src/client/client.js';
import { startDevServer } from '../src/dev/dev-server.js';
import type { RunningDevServer } from '../src/dev/dev-server.js';
import { SEARCH_STATUS, WORKFLOW_TYPE, deletionStatusKey, imageIdKey } from '../src/workflows/model.js';
import { connectTestClient, uniqueTaskQueue } from './helpers/temporal.js';

let server: RunningDevServer | undefined;
let connection: Connection | undefined;

describe('dev server with dynamic config', () => {
  beforeAll(async () => {
    server = await startDevServer({
      ignoreTemporalAddress: true,
      headless: true,
      dynamicConfig: { 'system.forceSearchAttributesCacheRefreshOnRead': false },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  it('accepts the values and indexes a deletion started right away', async () => {
    if (server === undefined) throw new Error('no dev server');
    const connected = await connectTestClient(server);
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
