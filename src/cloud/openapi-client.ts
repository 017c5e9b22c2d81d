/**
 * The RPC caller: one call = a rate-limit slot, a request signed by the official runtime's
 * signer (@alicloud/openapi-core's OpenApiUtil, ACS3-HMAC-SHA256) with credentials from the
 * official chain (@alicloud/credentials), sent once over node:http(s) on a keep-alive agent of
 * our own, its body read once and parsed; every failure a CloudError. Knows nothing about the
 * individual operations.
 *
 * Why not the runtime's `callApi`: its request path (httpx and its stream wrappers) cost about
 * twice the worker CPU per call of this one (bench/README.md), its socket agent cannot be
 * configured (idle sockets the server had already closed were reused: ECONNRESET bursts), and it
 * kept every finished request reachable until its read timer fired.
 * Signing and credentials stay the official code, so what the cloud verifies is unchanged.
 */
import { hash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type OpenApiModule from '@alicloud/openapi-core';
import type CredentialModule from '@alicloud/credentials';
import { Request as SigningRequest } from '@darabonba/typescript';
import type { CloudConfig } from '../config.js';
import { unlessAborted } from '../abort.js';
import { CloudError, SyntheticCode, codeForHttpStatus, isCloudError } from './errors.js';
import { RateLimiter } from './rate-limiter.js';
import { parseWireJson } from './wire.js';

// The runtime packages are CommonJS with `exports.default`; loaders disagree on what an
// ESM default import of them yields (Node: module.exports, vitest: exports.default), so
// they are required, which means the same thing everywhere.
const require = createRequire(import.meta.url);
const OpenApi = require('@alicloud/openapi-core') as typeof OpenApiModule;
const Credential = require('@alicloud/credentials') as typeof CredentialModule;

const SignerUtil = OpenApi.OpenApiUtil;
type CredentialClient = InstanceType<typeof Credential.default>;

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
  /** Set when the call failed: the CloudError code, or ABANDONED_CALL_CODE when its caller stopped waiting. */
  code?: string;
}

/** CallEvent.code of a call its caller abandoned (RpcRequest.signal): no answer, no CloudError. */
export const ABANDONED_CALL_CODE = 'abandoned';

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
  /** Called once the rate limiter lets the call go, just before it is signed and sent. */
  onSending?: () => void;
  /** Abandons the call (in the rate limiter's wait or on the wire): it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Abandons the call only until it is sent (see CallOptions.unsentSignal). */
  unsentSignal?: AbortSignal;
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

/** The signature the official runtime uses by default, and the emulator verifies. */
const SIGNATURE_ALGORITHM = 'ACS3-HMAC-SHA256';
const USER_AGENT = SignerUtil.getUserAgent('imgdel');
/**
 * How long an idle kept-alive socket is kept. Below common server keep-alive timeouts (5 s for
 * Node servers such as the emulator), so a socket is dropped before the server can close it
 * under a request; Node also honours a shorter `Keep-Alive: timeout=` hint from the server.
 */
const IDLE_SOCKET_MS = 4_000;

interface HttpAnswer {
  statusCode: number;
  text: string;
  /** The x-acs-retry-after header, as sent. */
  retryAfter: string | undefined;
}

/** Longest wait an x-acs-retry-after may ask for; beyond it the header is taken as noise. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** x-acs-retry-after is milliseconds (docs/app-streaming-api.md, throttling). */
function retryAfterMsOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  const ms = Number(header.trim());
  return ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

/** Where an endpoint's requests connect. */
interface ConnectTarget {
  hostname: string;
  port: number;
}

export class OpenApiRpcCaller {
  private readonly limiter: RateLimiter;
  private readonly agent: http.Agent;
  private readonly transport: typeof http.request;
  /** Per endpoint (a handful: one per product and region, or the one configured), parsed once. */
  private readonly targets = new Map<string, ConnectTarget>();
  /**
   * Values never to appear in an error message: the configured secret and token, and those
   * the credential chain hands out (which may differ from, or rotate after, the configuration).
   */
  private readonly secrets = new Set<string>();
  private credential: CredentialClient | undefined;

  constructor(
    private readonly cloud: CloudConfig,
    private readonly options: RpcCallerOptions = {},
  ) {
    this.limiter =
      options.rateLimiter ??
      new RateLimiter({
        defaultRatePerSecond: cloud.defaultRatePerSecond,
        ratePerSecondByAction: cloud.ratePerSecondByAction,
      });
    const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' } as const;
    // HTTPS verifies the server's certificate (Node's default); nothing turns that off.
    this.agent = cloud.protocol === 'HTTPS' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.transport = cloud.protocol === 'HTTPS' ? https.request : http.request;
    this.rememberSecrets(cloud.accessKeySecret, cloud.securityToken);
  }

  /**
   * One RPC call; resolves to the parsed JSON body, rejects with a CloudError, or with the
   * signal's reason once the request's signal aborts (the request is then destroyed).
   */
  async call(request: RpcRequest): Promise<unknown> {
    const { signal, unsentSignal } = request;
    const untilSent = unsentSignal === undefined ? signal : signal === undefined ? unsentSignal : AbortSignal.any([signal, unsentSignal]);
    await this.limiter.acquire(request.action, untilSent);
    request.onSending?.();
    const startedAt = performance.now();
    let sent = false;
    try {
      const endpoint = endpointFor(this.cloud, request.product, request.regionId);
      const body = SignerUtil.toForm({ ...request.params });
      // The credential chain may ask a metadata service first; a caller that leaves does not wait for it.
      const headers = await unlessAborted(this.signedHeaders(endpoint, request, body), untilSent);
      sent = true;
      const answer = await this.send(endpoint, headers, body, request.action, signal);
      const parsed = this.parseAnswer(request.action, answer);
      this.options.onCall?.({ action: request.action, durationMs: performance.now() - startedAt });
      return parsed;
    } catch (error) {
      if (signal?.aborted) {
        if (sent) this.options.onCall?.({ action: request.action, durationMs: performance.now() - startedAt, code: ABANDONED_CALL_CODE });
        signal.throwIfAborted();
      }
      if (!sent) untilSent?.throwIfAborted();
      const cloudError = toCloudError(error, request.action, this.secrets);
      this.options.onCall?.({
        action: request.action,
        durationMs: performance.now() - startedAt,
        code: cloudError.code,
      });
      throw cloudError;
    }
  }

  /** Closes the kept-alive sockets (tests; idle sockets do not keep a process alive, so a worker need not). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * The headers the official runtime sends for an RPC POST with a form body, signed by its signer.
   * The body's hash and the nonce are made here, as the signature defines them (hex SHA-256 of the
   * body; any value unique per request): the runtime's helpers cost a Hash object per call and,
   * for the nonce, a second SHA-256 and a hostname system call (profiled at P2's rate).
   */
  private async signedHeaders(endpoint: string, request: RpcRequest, body: string): Promise<Record<string, string>> {
    const payloadHash = hash('sha256', body, 'hex');
    const headers: Record<string, string> = {
      host: endpoint,
      'x-acs-version': PRODUCTS[request.product].version,
      'x-acs-action': request.action,
      'user-agent': USER_AGENT,
      'x-acs-date': SignerUtil.getTimestamp(),
      'x-acs-signature-nonce': randomUUID(),
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'x-acs-content-sha256': payloadHash,
    };
    const credential = await this.credentials().getCredential();
    const { accessKeyId, accessKeySecret, securityToken, providerName } = credential;
    this.rememberSecrets(accessKeySecret, securityToken);
    if (!accessKeyId || !accessKeySecret) {
      throw new CloudError({
        code: 'InvalidCredentials',
        message: 'the credential chain gave no access key pair (bearer and OIDC tokens are not supported)',
        action: request.action,
      });
    }
    if (providerName) headers['x-acs-credentials-provider'] = providerName;
    if (securityToken) {
      headers['x-acs-accesskey-id'] = accessKeyId;
      headers['x-acs-security-token'] = securityToken;
    }
    const signing = new SigningRequest();
    signing.method = 'POST';
    signing.pathname = '/';
    signing.query = {};
    signing.headers = headers;
    headers['Authorization'] = SignerUtil.getAuthorization(
      signing,
      SIGNATURE_ALGORITHM,
      payloadHash,
      accessKeyId,
      accessKeySecret,
    );
    return headers;
  }

  private rememberSecrets(...values: ReadonlyArray<string | undefined>): void {
    // Very short values would redact ordinary text; no real secret or token is that short.
    for (const value of values) if (typeof value === 'string' && value.length >= 4) this.secrets.add(value);
  }

  /** An explicit key pair only from the configuration (env); otherwise the default chain. */
  private credentials(): CredentialClient {
    if (this.credential) return this.credential;
    const { accessKeyId, accessKeySecret, securityToken } = this.cloud;
    this.credential =
      accessKeyId && accessKeySecret
        ? new Credential.default(
            new Credential.Config({
              type: securityToken ? 'sts' : 'access_key',
              accessKeyId,
              accessKeySecret,
              ...(securityToken ? { securityToken } : {}),
            }),
          )
        : new Credential.default();
    return this.credential;
  }

  /**
   * One POST / on the keep-alive agent. The connect timeout bounds getting a connection; from
   * then on the read timeout bounds the whole answer, body included, so no call outlives
   * connect + read timeout (the request is destroyed, its socket with it). The signal destroys it too.
   */
  private send(
    endpoint: string,
    headers: Record<string, string>,
    body: string,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<HttpAnswer> {
    const { hostname, port } = this.targetOf(endpoint);
    return new Promise<HttpAnswer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const expire = (phase: 'connect' | 'read', ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          outgoing.destroy(
            new CloudError({
              code: SyntheticCode.RequestTimeout,
              message:
                phase === 'connect'
                  ? `${action} could not connect to ${endpoint} within ${ms} ms`
                  : `${action} got no complete answer within ${ms} ms; the request was abandoned`,
              action,
            }),
          );
        }, ms);
      };
      const outgoing = this.transport(
        {
          hostname,
          port,
          path: '/',
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: this.agent,
          ...(signal === undefined ? {} : { signal }),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(timer);
            const retryAfter = response.headers['x-acs-retry-after'];
            resolve({
              statusCode: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            });
          });
          response.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
        },
      );
      outgoing.on('socket', (socket) => {
        if (!socket.connecting) return expire('read', this.cloud.readTimeoutMs);
        expire('connect', this.cloud.connectTimeoutMs);
        socket.once('connect', () => expire('read', this.cloud.readTimeoutMs));
      });
      outgoing.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      outgoing.end(body);
    });
  }

  private targetOf(endpoint: string): ConnectTarget {
    let target = this.targets.get(endpoint);
    if (target === undefined) {
      const url = new URL(`http://${endpoint}`);
      target = {
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port === '' ? (this.cloud.protocol === 'HTTPS' ? 443 : 80) : Number(url.port),
      };
      this.targets.set(endpoint, target);
    }
    return target;
  }

  private parseAnswer(action: string, { statusCode, text, retryAfter }: HttpAnswer): unknown {
    if (statusCode >= 400) throw this.errorAnswer(action, statusCode, text, retryAfterMsOf(retryAfter));
    if (text.trim() === '') {
      throw new CloudError({
        code: SyntheticCode.MalformedResponse,
        message: `${action} answered HTTP ${statusCode} with an empty body`,
        httpStatus: statusCode,
        action,
      });
    }
    try {
      return parseWireJson(text);
    } catch {
      throw new CloudError({
        code: SyntheticCode.MalformedResponse,
        message: this.notJson(action, statusCode, text),
        httpStatus: statusCode,
        action,
      });
    }
  }

  private notJson(action: string, statusCode: number, text: string): string {
    return `${action} answered HTTP ${statusCode} with a body that is not JSON: ${snippet(text, this.secrets)}`;
  }

  /** An HTTP error status: the body's Code, Message and RequestId when it is JSON, else what the status says. */
  private errorAnswer(action: string, statusCode: number, text: string, retryAfterMs: number | undefined): CloudError {
    let fields: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = parseWireJson(text);
      if (typeof parsed === 'object' && parsed !== null) fields = parsed as Record<string, unknown>;
    } catch {
      fields = undefined;
    }
    const cloudCode = presentString(fields?.Code) ?? presentString(fields?.code);
    const code = cloudCode ?? codeForHttpStatus(statusCode);
    const cloudMessage = presentString(fields?.Message) ?? presentString(fields?.message);
    const requestId = presentString(fields?.RequestId) ?? presentString(fields?.requestId);
    const message = cloudMessage
      ? redactSecrets(cloudMessage, this.secrets)
      : fields === undefined
        ? this.notJson(action, statusCode, text)
        : cloudCode === undefined
          ? `${action} answered HTTP ${statusCode} without an error code`
          : `${action} answered HTTP ${statusCode} with ${cloudCode} and no message`;
    return new CloudError({
      code,
      message,
      httpStatus: statusCode,
      ...(requestId ? { requestId } : {}),
      action,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/**
 * Any failure of a call that is not already a CloudError (a socket error, the credential
 * chain) → CloudError. Classifies by the error's code and message, never by its class.
 */
export function toCloudError(error: unknown, action: string, secrets: Iterable<string> = []): CloudError {
  if (isCloudError(error)) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const rawCode = presentString(fields.code);
  const rawMessage = typeof fields.message === 'string' ? fields.message : String(error);
  const redact = (text: string) => redactSecrets(text, secrets);

  if (rawCode !== undefined && TIMEOUT_ERROR_CODES.has(rawCode)) {
    return new CloudError({
      code: SyntheticCode.RequestTimeout,
      message: `${action} timed out: ${redact(rawMessage)}`,
      action,
    });
  }

  if (rawCode !== undefined && (NETWORK_ERROR_CODES.has(rawCode) || rawCode.startsWith('UND_ERR') || rawCode.startsWith('ERR_TLS'))) {
    return new CloudError({
      code: SyntheticCode.NetworkError,
      message: `${action} could not reach the cloud endpoint (${rawCode}): ${redact(rawMessage)}`,
      action,
    });
  }

  if (rawCode !== undefined) {
    // A client-side refusal with a code of its own, e.g. the credential chain's.
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
  // A missing field some SDKs and gateways stringify (`${undefined}` → "undefined") is no value either.
  return typeof value === 'string' && value !== '' && value !== 'undefined' && value !== 'null' ? value : undefined;
}

function redactSecrets(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join('[redacted]');
  return result;
}

function snippet(text: string, secrets: Iterable<string>): string {
  // Redact before cutting: a secret that crosses the cut would otherwise survive as a prefix.
  const oneLine = redactSecrets(text, secrets).replace(/\s+/g, ' ').trim();
  const short = oneLine.length > SNIPPET_LENGTH ? `${oneLine.slice(0, SNIPPET_LENGTH)}…` : oneLine;
  return JSON.stringify(short);
}
