import { afterEach, describe, expect, it } from 'vitest';
import {
  SERVER_PROBE_TIMEOUT_MS,
  healthResponse,
  startHealthServer,
  type HealthState,
  type RunningHealthServer,
} from '../../src/observability/health.js';

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

  it('answers 503 while the worker runs but cannot reach the Temporal server, and asks the server at most every few seconds', async () => {
    let state: HealthState = 'STARTING';
    let reachable = false;
    let probes = 0;
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      state: () => state,
      reachesServer: async () => {
        probes += 1;
        if (reachable) return true;
        throw new Error('connect ECONNREFUSED');
      },
    });
    // Not running yet: unhealthy whatever the server says, and the server is not asked.
    expect((await fetch(server.url)).status).toBe(503);
    expect(probes).toBe(0);
    state = 'RUNNING';
    const unreachable = await fetch(server.url);
    expect(unreachable.status).toBe(503);
    expect(await unreachable.json()).toEqual({ status: 'unavailable', state: 'RUNNING', temporal: 'unreachable' });
    // The next checks within a few seconds reuse that answer.
    reachable = true;
    for (let check = 0; check < 3; check += 1) expect((await fetch(server.url)).status).toBe(503);
    expect(probes).toBe(1);
  });

  it('answers 200 with the server reached once it answers', async () => {
    server = await startHealthServer({ port: 0, host: '127.0.0.1', state: () => 'RUNNING', reachesServer: async () => true });
    const healthy = await fetch(server.url);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ status: 'ok', state: 'RUNNING', temporal: 'reachable' });
  });

  it('answers 503 within the probe timeout when the server never answers (the SDK retries a refused connection for longer)', async () => {
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      state: () => 'RUNNING',
      reachesServer: () => new Promise<boolean>(() => undefined),
    });
    // A probe that never answers would hold the request for good: it is aborted well past the timeout.
    const response = await fetch(server.url, { signal: AbortSignal.timeout(SERVER_PROBE_TIMEOUT_MS + 8_000) });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', state: 'RUNNING', temporal: 'unreachable' });
  });
});
