/**
 * The local App Streaming / ECD emulator: one node:http server that answers the cloud
 * API (signed RPC calls, routed by x-acs-action / Action) and, under /_emulator/, an
 * unsigned JSON admin API that tests, the demo, the benchmark and chaos runs drive.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ApiError, errorBody } from './api-errors.js';
import { EMULATOR_DEFAULTS } from './defaults.js';
import { FaultRegistry, HOSTILE_CODES, RateLimiter, faultInputSchema, isHostileCode, limitInputSchema, type FaultInput } from './faults.js';
import { findAction, serializeResponse } from './operations.js';
import type { OperationContext } from './operations.js';
import { loggableParams, parseUrlEncoded } from './params.js';
import type { FlatParams } from './params.js';
import { demoSeed } from './seed.js';
import type { SeedName } from './seed.js';
import { RecentNonces, verifySignature } from './signature.js';
import type { KeyPair } from './signature.js';
import { EmulatorState, StatePersister, loadStateFile, seedBodySchema } from './state.js';

export interface EmulatorOptions {
  /** 0 = any free port. Default EMULATOR_DEFAULTS.port. */
  port?: number;
  host?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  /** Owner of the demo images, and the account DeleteImage checks ownership against. */
  accountId?: string;
  /** JSON file the state is loaded from and atomically saved to after each mutation. */
  statePath?: string;
  /** Seeds an empty state (never one that already has data). */
  seed?: SeedName;
  /** Added to every API call (not to admin calls). */
  latencyMs?: number;
  /** List pages hold at most this many items, whatever PageSize/MaxResults asks (a quiet cap). */
  maxPageSize?: number;
  /**
   * Faults in force from the first call on, as POST /_emulator/faults adds them (ids fault-1, …
   * in this order): an emulator started again keeps the faults the one before still had.
   */
  faults?: readonly FaultInput[];
  log?: (line: string) => void;
}

export interface RunningEmulator {
  /** http://127.0.0.1:port */
  url: string;
  /** 127.0.0.1:port (what the runtime's Config.endpoint wants) */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** One API call as GET /_emulator/calls shows it. */
export interface CallRecord {
  at: string;
  action: string;
  /** Flattened params as received, without signature or credential material. */
  params: FlatParams;
  httpStatus: number;
  /** The error code answered (or the hostile fault code); null on success. */
  code: string | null;
}

const ADMIN_PREFIX = '/_emulator/';
const MAX_BODY_BYTES = 1024 * 1024;
/** The calls log keeps the most recent entries only, so a long benchmark cannot exhaust memory. */
const MAX_CALL_RECORDS = 200_000;

class BodyTooLarge extends Error {}

/** The request body; plain 'data' events, which cost less per request than an async iterator. */
function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer | string) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLarge(`body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(buffer);
    });
    request.once('end', () => resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function headerText(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = serializeResponse(body);
  response.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** A path segment as written; undefined when its percent-encoding is broken. */
function decodedPathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const emptyObjectSchema = z.strictObject({}).optional();
/** POST /_emulator/paging: `maxPageSize` caps every list page quietly; null lifts the cap. */
const pagingBodySchema = z.strictObject({ maxPageSize: z.number().int().min(1).max(100).nullable() });

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? EMULATOR_DEFAULTS.host;
  const keys: KeyPair = {
    accessKeyId: options.accessKeyId ?? EMULATOR_DEFAULTS.accessKeyId,
    accessKeySecret: options.accessKeySecret ?? EMULATOR_DEFAULTS.accessKeySecret,
  };
  const accountId = options.accountId ?? EMULATOR_DEFAULTS.accountId;
  const latencyMs = options.latencyMs ?? 0;
  const log = options.log ?? (() => undefined);

  const state = new EmulatorState();
  const context: OperationContext = { state, accountId };
  /** The quiet page cap (POST /_emulator/paging); a reset goes back to the one it started with. */
  const setMaxPageSize = (maxPageSize: number | undefined): void => {
    if (maxPageSize === undefined) delete context.maxPageSize;
    else context.maxPageSize = maxPageSize;
  };
  setMaxPageSize(options.maxPageSize);
  const faults = new FaultRegistry();
  for (const fault of options.faults ?? []) faults.add(fault);
  const limiter = new RateLimiter();
  const nonces = new RecentNonces();
  let calls: CallRecord[] = [];
  const persister = options.statePath === undefined ? undefined : new StatePersister(options.statePath, () => state.view());

  if (options.statePath !== undefined) {
    const saved = await loadStateFile(options.statePath);
    if (saved !== undefined) {
      state.apply(saved, accountId);
      log(`state loaded from ${options.statePath}: ${state.images.size} images, ${state.templates.size} templates`);
    }
  }
  if (options.seed === 'demo') {
    if (state.isEmpty()) {
      state.apply(seedBodySchema.parse(demoSeed(accountId)), accountId);
      await persister?.persist();
      log(`seeded demo data: ${state.images.size} images, ${state.templates.size} templates`);
    } else {
      log('state already has data: demo seed skipped');
    }
  }

  function recordCall(record: CallRecord): void {
    calls.push(record);
    if (calls.length > MAX_CALL_RECORDS) calls = calls.slice(calls.length - MAX_CALL_RECORDS / 2);
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, rawPath: string, rawQuery: string): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    const query = parseUrlEncoded(rawQuery);
    let action = headerText(request, 'x-acs-action') ?? query['Action'] ?? '';
    let params: FlatParams = { ...query };
    let hostId = headerText(request, 'host') ?? host;
    const baseHeaders = { 'x-acs-request-id': requestId };

    const finish = (httpStatus: number, code: string | null): void => {
      recordCall({ at: new Date().toISOString(), action, params: loggableParams(params), httpStatus, code });
    };

    try {
      if (latencyMs > 0) await sleep(latencyMs);
      const body = await readBody(request);
      const bodyParams = parseUrlEncoded(body.toString('utf8'));
      params = { ...query, ...bodyParams };
      if (action === '') action = bodyParams['Action'] ?? '';
      let version = headerText(request, 'x-acs-version') ?? params['Version'];

      if (request.method !== 'POST' && request.method !== 'GET') {
        throw new ApiError('UnsupportedHTTPMethod', `HTTP method ${request.method ?? ''} is not supported.`);
      }
      const scheme = verifySignature(
        { method: request.method, path: rawPath, query, bodyParams, headers: request.headers, body },
        keys,
        { nowMs: Date.now(), nonces },
      );
      if (scheme === 'HMAC-SHA1') {
        // Its signature covers the parameters, not the headers: an unsigned x-acs-action must
        // not choose what a signed request runs.
        action = params['Action'] ?? '';
        version = params['Version'];
      }
      const definition = findAction(action);
      if (definition === undefined) {
        throw new ApiError('InvalidAction.NotFound', `The action ${action || '(none)'} is not found.`);
      }
      hostId = `${definition.product.name}.aliyuncs.com`;
      if (version === undefined) throw new ApiError('MissingVersion');
      if (version !== definition.product.version) {
        throw new ApiError('InvalidVersion', `${action} is answered by ${definition.product.name} ${definition.product.version}, not ${version}.`);
      }

      const token = limiter.take(action);
      if (!token.allowed) {
        throw new ApiError('Throttling.User', undefined, { headers: { 'x-acs-retry-after': String(token.retryAfterMs) } });
      }

      const effect = faults.evaluate(action, params);
      if (effect.latencyMs > 0) await sleep(effect.latencyMs);
      const failure = effect.failure;
      if (failure !== undefined) {
        if (isHostileCode(failure.code)) {
          sendHostile(response, failure.code, failure.httpStatus, baseHeaders);
          finish(failure.httpStatus, failure.code);
          return;
        }
        throw new ApiError(failure.code, `Injected fault ${failure.faultId}.`, { httpStatus: failure.httpStatus });
      }

      const result = definition.run(params, context);
      if (result.mutated && persister !== undefined) await persister.persist();
      sendJson(response, 200, { RequestId: requestId, ...result.body }, baseHeaders);
      finish(200, null);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : error instanceof BodyTooLarge
            ? new ApiError('InvalidParameter', error.message)
            : // The cloud answers InternalError with HTTP 400 (docs/app-streaming-api.md), so the emulator does too.
              new ApiError('InternalError');
      if (!(error instanceof ApiError) && !(error instanceof BodyTooLarge)) {
        log(`emulator: ${action || '(no action)'} failed unexpectedly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      sendJson(response, apiError.httpStatus, errorBody(apiError.code, apiError.message, requestId, hostId), {
        ...baseHeaders,
        ...apiError.headers,
      });
      finish(apiError.httpStatus, apiError.code);
    }
  }

  function sendHostile(response: ServerResponse, code: string, httpStatus: number, headers: Record<string, string>): void {
    if (code === HOSTILE_CODES.malformed) {
      response.writeHead(httpStatus, { 'content-type': 'application/json;charset=utf-8', ...headers });
      response.end('{"RequestId": "truncated", "Data": [{"ImageId": ');
    } else if (code === HOSTILE_CODES.empty) {
      response.writeHead(httpStatus, { 'content-type': 'application/json;charset=utf-8', 'content-length': '0', ...headers });
      response.end();
    } else {
      response.writeHead(httpStatus, { 'content-type': 'text/html;charset=utf-8', ...headers });
      response.end('<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>500 Internal Server Error</h1><p>upstream gateway error</p></body></html>');
    }
  }

  // ---- admin API ----

  class AdminError extends Error {
    constructor(
      readonly status: number,
      message: string,
    ) {
      super(message);
    }
  }

  async function adminBody<T extends z.ZodType>(request: IncomingMessage, schema: T): Promise<z.output<T>> {
    const text = (await readBody(request)).toString('utf8');
    let json: unknown = undefined;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new AdminError(400, 'the body is not valid JSON');
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new AdminError(400, z.prettifyError(parsed.error));
    return parsed.data;
  }

  async function handleAdmin(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    const method = request.method ?? 'GET';
    try {
      const [resource = '', id, ...extra] = route.split('/');
      if (extra.length > 0) throw new AdminError(404, `no admin route ${ADMIN_PREFIX}${route}`);
      const key = `${method} ${resource}${id === undefined ? '' : '/:id'}`;
      switch (key) {
        case 'POST reset': {
          await adminBody(request, emptyObjectSchema);
          state.clear();
          faults.clear();
          limiter.clear();
          setMaxPageSize(options.maxPageSize);
          calls = [];
          await persister?.persist();
          sendJson(response, 200, { ok: true });
          return;
        }
        case 'POST seed': {
          const body = await adminBody(request, seedBodySchema);
          state.apply(body, accountId);
          await persister?.persist();
          sendJson(response, 200, { images: state.images.size, templates: state.templates.size, instances: state.instances.length });
          return;
        }
        case 'GET state':
          sendJson(response, 200, state.view());
          return;
        case 'GET health':
          sendJson(response, 200, { ok: true });
          return;
        case 'POST faults': {
          const fault = faults.add(await adminBody(request, faultInputSchema));
          sendJson(response, 200, { id: fault.id });
          return;
        }
        case 'GET faults':
          sendJson(response, 200, faults.list());
          return;
        case 'DELETE faults':
          faults.clear();
          sendJson(response, 200, { ok: true });
          return;
        case 'DELETE faults/:id': {
          const faultId = id === undefined ? undefined : decodedPathSegment(id);
          if (id !== undefined && faultId === undefined) throw new AdminError(400, `${id} is not a fault id (broken percent-encoding)`);
          if (faultId === undefined || !faults.remove(faultId)) throw new AdminError(404, `no fault ${id ?? ''}`);
          sendJson(response, 200, { ok: true });
          return;
        }
        case 'POST limits': {
          const limit = await adminBody(request, limitInputSchema);
          limiter.set(limit);
          sendJson(response, 200, limit);
          return;
        }
        case 'GET limits':
          sendJson(response, 200, limiter.list());
          return;
        case 'DELETE limits':
          limiter.clear();
          sendJson(response, 200, { ok: true });
          return;
        case 'POST paging': {
          const { maxPageSize } = await adminBody(request, pagingBodySchema);
          setMaxPageSize(maxPageSize ?? undefined);
          sendJson(response, 200, { maxPageSize });
          return;
        }
        case 'GET calls':
          sendJson(response, 200, calls);
          return;
        case 'DELETE calls':
          calls = [];
          sendJson(response, 200, { ok: true });
          return;
        default:
          throw new AdminError(404, `no admin route ${method} ${ADMIN_PREFIX}${route}`);
      }
    } catch (error) {
      if (error instanceof AdminError) {
        sendJson(response, error.status, { error: error.message });
      } else if (error instanceof BodyTooLarge) {
        sendJson(response, 413, { error: error.message });
      } else {
        log(`emulator admin ${method} ${route} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        sendJson(response, 500, { error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  const server = createServer((request, response) => {
    const target = request.url ?? '/';
    const questionMark = target.indexOf('?');
    const rawPath = questionMark < 0 ? target : target.slice(0, questionMark);
    const rawQuery = questionMark < 0 ? '' : target.slice(questionMark + 1);
    const work = rawPath.startsWith(ADMIN_PREFIX)
      ? handleAdmin(request, response, rawPath.slice(ADMIN_PREFIX.length).replace(/\/+$/, ''))
      : handleApi(request, response, rawPath, rawQuery);
    // Last resort: nothing a request does may take the server down.
    work.catch((error: unknown) => {
      log(`emulator: request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? EMULATOR_DEFAULTS.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const endpoint = `${hostForUrl}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${endpoint}`,
    endpoint,
    port,
    close(): Promise<void> {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 2000);
        await closed;
        clearTimeout(force);
        await persister?.flush();
      })();
      return closing;
    },
  };
}
