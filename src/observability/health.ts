/**
 * GET /healthz for container health checks and load balancers:
 * 200 {"status":"ok","state":"RUNNING","temporal":"reachable"} while the worker polls, 503
 * otherwise: still starting, draining, stopping, stopped or failed, or running but unable to reach
 * the Temporal server (the SDK's state stays RUNNING while its polls fail and are retried).
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
  /** Whether the Temporal server answers now; asked at most once per PROBE_REUSE_MS. */
  reachesServer?: () => Promise<boolean>;
}

export type ServerReach = 'reachable' | 'unreachable';

/** A probe's answer serves the health checks of the next few seconds (probes come every few seconds). */
const PROBE_REUSE_MS = 5_000;
/** How long /healthz waits for the Temporal server to answer before calling it unreachable. */
export const SERVER_PROBE_TIMEOUT_MS = 2_000;

export interface RunningHealthServer {
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export function healthResponse(
  state: HealthState,
  temporal?: ServerReach,
): { httpStatus: number; body: { status: 'ok' | 'unavailable'; state: HealthState; temporal?: ServerReach } } {
  const healthy = state === 'RUNNING' && temporal !== 'unreachable';
  return {
    httpStatus: healthy ? 200 : 503,
    body: { status: healthy ? 'ok' : 'unavailable', state, ...(temporal === undefined ? {} : { temporal }) },
  };
}

/**
 * The probe's answer, or false once `timeoutMs` has passed. A deadline on the call itself is not
 * enough: the SDK retries a call to a server it cannot connect to, each attempt with that deadline,
 * for about ten seconds, longer than a health check waits.
 */
function answerWithin(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    // Like the server itself, a probe under way must not keep the process alive.
    timer = setTimeout(() => resolve(false), timeoutMs).unref();
  });
  return Promise.race([probe(), late]).finally(() => clearTimeout(timer));
}

/** Asks `probe` at most once per PROBE_REUSE_MS; callers meanwhile share the answer (or the probe under way). */
function reusedProbe(probe: () => Promise<boolean>): () => Promise<ServerReach> {
  let last: { at: number; answer: Promise<ServerReach> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= PROBE_REUSE_MS) {
      last = {
        at: now,
        answer: answerWithin(probe, SERVER_PROBE_TIMEOUT_MS).then((reached) => (reached ? 'reachable' : 'unreachable'), () => 'unreachable'),
      };
    }
    return last.answer;
  };
}

export async function startHealthServer(options: HealthServerOptions): Promise<RunningHealthServer> {
  const serverReach = options.reachesServer === undefined ? undefined : reusedProbe(options.reachesServer);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/healthz' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found; try GET /healthz' }));
      return;
    }
    const state = options.state();
    // Only a running worker is asked about the server: the others are unhealthy whatever it says.
    const reach = state === 'RUNNING' && serverReach !== undefined ? serverReach() : Promise.resolve(undefined);
    void reach.then((temporal) => {
      const { httpStatus, body } = healthResponse(state, temporal);
      response.writeHead(httpStatus, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : JSON.stringify(body));
    });
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
