/**
 * Thin wrapper over the official runtime (@alicloud/openapi-core): one runtime client
 * per product endpoint, one RPC call = rate-limit slot + callApi + JSON body, and every
 * failure turned into a CloudError. Knows nothing about the individual operations.
 */
import { createRequire } from 'node:module';
import type OpenApiModule from '@alicloud/openapi-core';
import type CredentialModule from '@alicloud/credentials';
import { RetryOptions, RuntimeOptions } from '@darabonba/typescript';
import type { CloudConfig } from '../config.js';
import { CloudError, SyntheticCode, isCloudError } from './errors.js';
import { clearReadTimersOfFinishedResponses } from './http-read-timers.js';
import { RateLimiter } from './rate-limiter.js';
import { parseWireJson } from './wire.js';

// The runtime packages are CommonJS with `exports.default`; loaders disagree on what an
// ESM default import of them yields (Node: module.exports, vitest: exports.default), so
// they are required, which means the same thing everywhere.
const require = createRequire(import.meta.url);
const OpenApi = require('@alicloud/openapi-core') as typeof OpenApiModule;
const Credential = require('@alicloud/credentials') as typeof CredentialModule;

type RuntimeClient = InstanceType<typeof OpenApi.default>;

export const PRODUCTS = {
  appstream: { id: 'appstream-center', version: '2021-09-01' },
  ecd: { id: 'ecd', version: '2020-09-30' },
} as const;
export type ProductKey = keyof typeof PRODUCTS;

/**
 * The endpoint rule, in one place: a configured endpoint (the emulator, a proxy) takes
 * every product; otherwise the public regional endpoint `<product>.<region>.aliyuncs.com`.
 */
export function endpointFor(cloud: Pick<CloudConfig, 'endpoint'>, product: ProductKey, regionId: string): string {
  return cloud.endpoint ?? `${PRODUCTS[product].id}.${regionId}.aliyuncs.com`;
}

export interface CallEvent {
  action: string;
  /** Time on the wire (runtime call and body parsing), without the rate-limit wait. */
  durationMs: number;
  /** Set when the call failed: the CloudError code. */
  code?: string;
}

export interface RpcCallerOptions {
  onCall?: (event: CallEvent) => void;
  /** Replaces the limiter built from the configuration (tests, benchmarks). */
  rateLimiter?: RateLimiter;
}

export interface RpcRequest {
  product: ProductKey;
  /** Chooses the endpoint when no endpoint is configured. */
  regionId: string;
  action: string;
  /** Request parameters, already flat (`TemplateIds.1`) or nested (flattened by the runtime). */
  params: Readonly<Record<string, unknown>>;
}

const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
]);

const TIMEOUT_ERROR_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

const SNIPPET_LENGTH = 80;

export class OpenApiRpcCaller {
  private readonly clients = new Map<string, RuntimeClient>();
  private readonly limiter: RateLimiter;
  private readonly runtime: RuntimeOptions;
  private readonly callDeadlineMs: number;
  private readonly secrets: readonly string[];
  private defaultCredential: InstanceType<typeof Credential.default> | undefined;

  constructor(
    private readonly cloud: CloudConfig,
    private readonly options: RpcCallerOptions = {},
  ) {
    clearReadTimersOfFinishedResponses();
    this.limiter =
      options.rateLimiter ??
      new RateLimiter({
        defaultRatePerSecond: cloud.defaultRatePerSecond,
        ratePerSecondByAction: cloud.ratePerSecondByAction,
      });
    this.runtime = new RuntimeOptions({
      // Temporal owns retries: the runtime must send each request exactly once.
      autoretry: false,
      maxAttempts: 0,
      connectTimeout: runtimeConnectTimeoutMs(cloud),
      readTimeout: cloud.readTimeoutMs,
      ignoreSSL: false,
    });
    this.callDeadlineMs = callDeadlineMs(cloud);
    this.secrets = [cloud.accessKeySecret, cloud.securityToken].filter(
      (secret): secret is string => typeof secret === 'string' && secret.length >= 4,
    );
  }

  /** One RPC call; resolves to the parsed JSON body, rejects only with a CloudError. */
  async call(request: RpcRequest): Promise<unknown> {
    await this.limiter.acquire(request.action);
    const startedAt = performance.now();
    try {
      const client = this.clientFor(request.product, request.regionId);
      const params = new OpenApi.$OpenApiUtil.Params({
        action: request.action,
        version: PRODUCTS[request.product].version,
        protocol: this.cloud.protocol,
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        // 'string', not 'json': the runtime would JSON.parse a 2xx body itself and lose the
        // status; we parse it below so that an empty or non-JSON 2xx is a MalformedResponse.
        bodyType: 'string',
      });
      const openApiRequest = new OpenApi.$OpenApiUtil.OpenApiRequest({
        body: OpenApi.OpenApiUtil.query({ ...request.params }),
      });
      const response: unknown = await withDeadline(
        client.callApi(params, openApiRequest, this.runtime),
        this.callDeadlineMs,
        request.action,
      );
      const body = this.parseBody(request.action, response);
      this.options.onCall?.({ action: request.action, durationMs: performance.now() - startedAt });
      return body;
    } catch (error) {
      const cloudError = toCloudError(error, request.action, this.secrets);
      this.options.onCall?.({
        action: request.action,
        durationMs: performance.now() - startedAt,
        code: cloudError.code,
      });
      throw cloudError;
    }
  }

  private clientFor(product: ProductKey, regionId: string): RuntimeClient {
    const endpoint = endpointFor(this.cloud, product, regionId);
    const key = `${product} ${endpoint}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new OpenApi.default(
        new OpenApi.$OpenApiUtil.Config({
          endpoint,
          protocol: this.cloud.protocol,
          regionId,
          connectTimeout: runtimeConnectTimeoutMs(this.cloud),
          readTimeout: this.cloud.readTimeoutMs,
          userAgent: 'imgdel',
          // The runtime's own retry loop stays off (it is off when unset; explicit here).
          retryOptions: new RetryOptions({ retryable: false }),
          ...this.credentialSettings(),
        }),
      );
      this.clients.set(key, client);
    }
    return client;
  }

  /** An explicit key pair only from the configuration (env); otherwise the default chain. */
  private credentialSettings(): Record<string, unknown> {
    const { accessKeyId, accessKeySecret, securityToken } = this.cloud;
    if (accessKeyId && accessKeySecret) {
      return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
    }
    this.defaultCredential ??= new Credential.default();
    return { credential: this.defaultCredential };
  }

  private parseBody(action: string, response: unknown): unknown {
    const { statusCode, body } = readRuntimeResponse(response);
    const text = typeof body === 'string' ? body : '';
    if (text.trim() === '') {
      throw new CloudError({
        code: SyntheticCode.MalformedResponse,
        message: `${action} answered HTTP ${statusCode ?? '?'} with an empty body`,
        ...(statusCode === undefined ? {} : { httpStatus: statusCode }),
        action,
      });
    }
    try {
      return parseWireJson(text);
    } catch {
      throw new CloudError({
        code: SyntheticCode.MalformedResponse,
        message: `${action} answered HTTP ${statusCode ?? '?'} with a body that is not JSON: ${snippet(text, this.secrets)}`,
        ...(statusCode === undefined ? {} : { httpStatus: statusCode }),
        action,
      });
    }
  }
}

/**
 * The runtime's HTTP layer (httpx) uses the connect timeout as the socket's idle timeout
 * for the whole request, so a connect timeout below the read timeout would cut every
 * answer slower than it. Keep it at least the read timeout, so the read timeout holds.
 */
function runtimeConnectTimeoutMs(cloud: Pick<CloudConfig, 'connectTimeoutMs' | 'readTimeoutMs'>): number {
  return Math.max(cloud.connectTimeoutMs, cloud.readTimeoutMs);
}

/**
 * The longest one call may take: a new connection, then the whole read timeout, and a
 * second to spare. The runtime's own timers should end every call sooner, but they live on
 * kept-alive sockets shared by successive requests, and in P2 of `npm run bench` about one
 * call in 50 000 outlived them: its activity (listTemplates) sat until its two-minute
 * start-to-close timeout, with no error on the worker. The caller bounds every call itself.
 */
export function callDeadlineMs(cloud: Pick<CloudConfig, 'connectTimeoutMs' | 'readTimeoutMs'>): number {
  return runtimeConnectTimeoutMs(cloud) + cloud.readTimeoutMs + 1_000;
}

/** `call`'s answer, or a RequestTimeout CloudError once `deadlineMs` has passed (the call itself is abandoned). */
export function withDeadline<T>(call: Promise<T>, deadlineMs: number, action: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CloudError({
            code: SyntheticCode.RequestTimeout,
            message: `${action} got no answer within ${deadlineMs} ms; the request was abandoned`,
            action,
          }),
        ),
      deadlineMs,
    );
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

function readRuntimeResponse(response: unknown): { statusCode: number | undefined; body: unknown } {
  if (typeof response !== 'object' || response === null) return { statusCode: undefined, body: undefined };
  const { statusCode, body } = response as { statusCode?: unknown; body?: unknown };
  return { statusCode: typeof statusCode === 'number' ? statusCode : undefined, body };
}

/**
 * Any failure of a runtime call → CloudError. Classifies by the error's fields
 * (code, statusCode, name), never by its class: the runtime's error classes are not
 * a stable contract.
 */
export function toCloudError(error: unknown, action: string, secrets: readonly string[] = []): CloudError {
  if (isCloudError(error)) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const name = typeof fields.name === 'string' ? fields.name : '';
  const rawCode = presentString(fields.code);
  const statusCode = typeof fields.statusCode === 'number' ? fields.statusCode : undefined;
  const requestId = presentString(fields.requestId);
  const rawMessage = typeof fields.message === 'string' ? fields.message : String(error);
  const redact = (text: string) => redactSecrets(text, secrets);

  if (statusCode !== undefined) {
    // An HTTP error status with a JSON body: the runtime put the body's Code in `code`.
    const data = (typeof fields.data === 'object' && fields.data !== null ? fields.data : {}) as Record<string, unknown>;
    const cloudMessage = presentString(data.Message) ?? presentString(data.message);
    const code =
      rawCode ??
      (statusCode === 429
        ? 'Throttling'
        : statusCode >= 500
          ? SyntheticCode.HttpServerError
          : SyntheticCode.MalformedResponse);
    const message = cloudMessage
      ? redact(cloudMessage)
      : `${action} answered HTTP ${statusCode} without an error code`;
    return new CloudError({ code, message, httpStatus: statusCode, ...(requestId ? { requestId } : {}), action });
  }

  if (name === 'SyntaxError') {
    // With bodyType 'string' the runtime only parses JSON itself for an HTTP error status
    // (4xx/5xx), so this is an error status whose body is empty or not JSON (an HTML error
    // page from a proxy or load balancer). The runtime does not keep the status.
    return new CloudError({
      code: SyntheticCode.HttpServerError,
      message: `${action} answered an HTTP error status with a body that is not JSON (${redact(rawMessage).slice(0, SNIPPET_LENGTH)})`,
      action,
    });
  }

  if (name.includes('RequestTimeout') || (rawCode !== undefined && TIMEOUT_ERROR_CODES.has(rawCode))) {
    return new CloudError({
      code: SyntheticCode.RequestTimeout,
      message: `${action} timed out: ${redact(rawMessage)}`,
      action,
    });
  }

  if (rawCode !== undefined && (NETWORK_ERROR_CODES.has(rawCode) || rawCode.startsWith('UND_ERR'))) {
    return new CloudError({
      code: SyntheticCode.NetworkError,
      message: `${action} could not reach the cloud endpoint (${rawCode}): ${redact(rawMessage)}`,
      action,
    });
  }

  if (rawCode !== undefined) {
    // The runtime's own client-side refusals, e.g. InvalidCredentials.
    return new CloudError({ code: rawCode, message: redact(rawMessage), action });
  }

  if (/credential/i.test(rawMessage)) {
    // The default credential chain found nothing usable (it throws plain Errors).
    return new CloudError({ code: 'InvalidCredentials', message: redact(rawMessage), action });
  }

  return new CloudError({
    code: SyntheticCode.NetworkError,
    message: `${action} failed before an answer arrived: ${redact(rawMessage)}`,
    action,
  });
}

function presentString(value: unknown): string | undefined {
  // The runtime stringifies missing fields: `${undefined}` → "undefined".
  return typeof value === 'string' && value !== '' && value !== 'undefined' && value !== 'null' ? value : undefined;
}

function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('[redacted]');
  return result;
}

function snippet(text: string, secrets: readonly string[]): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const short = oneLine.length > SNIPPET_LENGTH ? `${oneLine.slice(0, SNIPPET_LENGTH)}…` : oneLine;
  return JSON.stringify(redactSecrets(short, secrets));
}
