/**
 * The foundation every other test stands on: the run's Temporal server answers, has imgdel's
 * search attributes, and runs a real workflow on a real worker.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../src/workflows/model.js';
import type { EchoActivities } from './fixtures/echo-workflow.js';
import { connectTestClient, createTestNativeConnection, testNamespace, testTemporalAddress, uniqueTaskQueue } from './helpers/temporal.js';

const echoWorkflowPath = fileURLToPath(new URL('./fixtures/echo-workflow.ts', import.meta.url));

describe('test Temporal server', () => {
  it('is provided to tests as host:port', () => {
    expect(testTemporalAddress()).toMatch(/^[A-Za-z0-9.-]+:\d{1,5}$/);
  });

  it('has the ImageId and DeletionStatus search attributes registered as keywords', async () => {
    const { connection } = await connectTestClient();
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: testNamespace() });
      const registered = Object.keys(customAttributes ?? {});
      expect(Object.keys(SEARCH_ATTRIBUTES)).toEqual(expect.arrayContaining(['ImageId', 'DeletionStatus']));
      expect(registered).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    } finally {
      await connection.close();
    }
  });

  it('runs a workflow on a real worker and returns its result', async () => {
    const taskQueue = uniqueTaskQueue('foundation-echo');
    const activities: EchoActivities = {
      shout: (text) => Promise.resolve(text.toUpperCase()),
    };
    const nativeConnection = await createTestNativeConnection();
    const { client, connection } = await connectTestClient();
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: testNamespace(),
        taskQueue,
        workflowsPath: echoWorkflowPath,
        activities,
      });
      const result = await worker.runUntil(
        client.workflow.execute('echoWorkflow', {
          taskQueue,
          workflowId: `${taskQueue}-wf`,
          args: ['hello temporal'],
        }),
      );
      expect(result).toBe('echo: HELLO TEMPORAL');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });
});
