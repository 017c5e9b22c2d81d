import { afterEach, describe, expect, it } from 'vitest';
import { healthResponse, startHealthServer, type HealthState, type RunningHealthServer } from '../../src/observability/health.js';

let server: RunningHealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('/healthz', () => {
  it('answers 200 only while the worker is RUNNING', () => {
    expect(healthResponse('RUNNING')).toEqual({ httpStatus: 200, body: { status: 'ok', state: 'RUNNING' } });
    for (const state of ['STARTING', 'INITIALIZED', 'DRAINING', 'STOPPING', 'STOPPED', 'FAILED'] as const) {
      expect(healthResponse(state).httpStatus).toBe(503);
    }
  });

  it('serves the current state over HTTP', async () => {
    let state: HealthState = 'STARTING';
    server = await startHealthServer({ port: 0, host: '127.0.0.1', state: () => state });
    const starting = await fetch(server.url);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toEqual({ status: 'unavailable', state: 'STARTING' });
    state = 'RUNNING';
    const running = await fetch(server.url);
    expect(running.status).toBe(200);
    expect(await running.json()).toEqual({ status: 'ok', state: 'RUNNING' });
    const elsewhere = await fetch(server.url.replace('/healthz', '/other'));
    expect(elsewhere.status).toBe(404);
  });
});
