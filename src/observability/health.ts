/**
 * GET /healthz for container health checks and load balancers:
 * 200 {"status":"ok","state":"RUNNING"} while the worker polls, 503 otherwise
 * (still starting, draining, stopping, stopped or failed).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

/** The worker's state, or STARTING before the worker exists. */
export type HealthState = State | 'STARTING';

export interface HealthServerOptions {
  port: number;
  host: string;
  state: () => HealthState;
}

export interface RunningHealthServer {
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export function healthResponse(state: HealthState): { httpStatus: number; body: { status: 'ok' | 'unavailable'; state: HealthState } } {
  const healthy = state === 'RUNNING';
  return { httpStatus: healthy ? 200 : 503, body: { status: healthy ? 'ok' : 'unavailable', state } };
}

export async function startHealthServer(options: HealthServerOptions): Promise<RunningHealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/healthz' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found; try GET /healthz' }));
      return;
    }
    const { httpStatus, body } = healthResponse(options.state());
    response.writeHead(httpStatus, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : JSON.stringify(body));
  });
  // A health probe must not keep the process alive on its own.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('the health server has no TCP address');
  const { port } = address;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${hostForUrl}:${port}/healthz`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
