import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { TemporalUnavailableError } from '../../src/client/errors.js';
import { CONFIG_ERROR_EXIT_CODE, connectFailure, createImgdelWorker, TEMPORAL_UNAVAILABLE_EXIT_CODE } from '../../src/worker.js';
import { resolveWorkflowSource, WORKFLOWS_SOURCE_PATH } from '../../src/workflow-source.js';
import { startWorkerProcess } from './worker-process.js';

describe('worker configuration errors', () => {
  it('refuses to start without IMGDEL_ACCOUNT_ID, naming the variable', async () => {
    await expect(createImgdelWorker({ config: loadConfig({}) })).rejects.toThrow(ConfigError);
    await expect(createImgdelWorker({ config: loadConfig({}) })).rejects.toThrow(/IMGDEL_ACCOUNT_ID/);
  });

  it('exits with the configuration status and a clear message when run as a process', async () => {
    const worker = startWorkerProcess({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(await worker.exited).toBe(CONFIG_ERROR_EXIT_CODE);
    expect(worker.output()).toMatch(/configuration error: IMGDEL_ACCOUNT_ID is not set/);
  });

  it('says in one line that Temporal cannot be reached, logs it as a structured ERROR line, and exits 69', async () => {
    const worker = startWorkerProcess({ IMGDEL_ACCOUNT_ID: '1234567890123456', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(await worker.exited, worker.output()).toBe(TEMPORAL_UNAVAILABLE_EXIT_CODE);
    const failed = worker.logs.find((line) => line.level === 'ERROR' && line.message === 'imgdel worker failed');
    expect(failed, worker.output()).toBeDefined();
    expect(JSON.stringify(failed)).toContain('cannot reach Temporal at 127.0.0.1:1');
    // The server's words, not Core's Rust text, and no stack trace.
    expect(worker.output()).toContain(
      'imgdel worker: cannot reach Temporal at 127.0.0.1:1: Connection refused. Start it with `npm start` (or set TEMPORAL_ADDRESS / TEMPORAL_PROFILE to the server to use).\n',
    );
    expect(worker.output()).not.toContain('tonic::transport');
  });

  it('reads a refused connection as a configuration error, and anything else as Temporal out of reach', () => {
    const refused = connectFailure(
      new Error('tonic::transport::Error(Status { code: Unauthenticated, message: "invalid API key", source: None })'),
      'temporal.example:7233',
      'prod',
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect(refused.message).toMatch(/^Temporal at temporal\.example:7233 refused imgdel for namespace "prod" \(invalid API key\): check the credentials/);
    const unreachable = connectFailure(new Error('tonic::transport::Error(Transport, hyper::Error(Connect, "dns error"))'), 'temporal.example:7233', 'prod');
    expect(unreachable).toBeInstanceOf(TemporalUnavailableError);
    // No message field to take: the whole text, so nothing is lost.
    expect(unreachable.message).toContain('cannot reach Temporal at temporal.example:7233: tonic::transport::Error(Transport, hyper::Error(Connect, "dns error"))');
    // A remote server is someone's to check, not `npm start`'s.
    expect(unreachable.message).toContain('Check that the server is running and reachable from here');
  });

  it('--help lists every configuration variable and starts nothing', async () => {
    const worker = startWorkerProcess({}, ['--help']);
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/^Usage: npm run worker/);
    for (const name of ['TEMPORAL_ADDRESS', 'IMGDEL_TASK_QUEUE', 'IMGDEL_ACCOUNT_ID', 'IMGDEL_CLOUD_ENDPOINT']) {
      expect(worker.output()).toContain(name);
    }
  });

  it('names an invalid variable', async () => {
    const worker = startWorkerProcess({ IMGDEL_ACCOUNT_ID: '1234567890123456', IMGDEL_LOG_LEVEL: 'LOUD' });
    expect(await worker.exited).toBe(CONFIG_ERROR_EXIT_CODE);
    expect(worker.output()).toMatch(/IMGDEL_LOG_LEVEL/);
  });

  it('asks for npm run build:bundle when production mode has no bundle', async () => {
    expect(() => resolveWorkflowSource({ production: false, workflowBundlePath: 'does/not/exist.js' })).toThrow(/npm run build:bundle/);
    expect(resolveWorkflowSource({ production: false })).toEqual({ kind: 'source', workflowsPath: WORKFLOWS_SOURCE_PATH });
    const worker = startWorkerProcess({ IMGDEL_ACCOUNT_ID: '1234567890123456', IMGDEL_WORKFLOW_BUNDLE: 'does/not/exist.js' });
    expect(await worker.exited).toBe(CONFIG_ERROR_EXIT_CODE);
    expect(worker.output()).toMatch(/IMGDEL_WORKFLOW_BUNDLE: the prebuilt workflow bundle .*exist\.js does not exist; run npm run build:bundle/);
  });

  it.each(['IMGDEL_METRICS_PORT', 'IMGDEL_HEALTH_PORT'])('names %s, in one line, when another process holds its port', async (variable) => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    try {
      const worker = startWorkerProcess({ IMGDEL_ACCOUNT_ID: '1234567890123456', TEMPORAL_ADDRESS: '127.0.0.1:1', [variable]: String(address.port) });
      expect(await worker.exited, worker.output()).toBe(CONFIG_ERROR_EXIT_CODE);
      expect(worker.output()).toContain(`configuration error: ${variable}: 127.0.0.1:${address.port} is already in use`);
      // One line, no stack trace.
      expect(worker.output()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
