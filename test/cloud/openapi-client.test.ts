/**
 * The runtime wrapper against a bare local HTTP server that answers whatever a test
 * needs — the shapes a real network produces and the emulator may not: what the runtime
 * sends, and how every kind of bad answer becomes a CloudError.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type CloudConfig } from '../../src/config.js';
import { classify, isCloudError, type CloudError } from '../../src/cloud/errors.js';
import { ABANDONED_CALL_CODE, OpenApiRpcCaller, endpointFor, toCloudError } from '../../src/cloud/openapi-client.js';

const ACCESS_KEY_ID = 'LTAItestKeyId';
const ACCESS_KEY_SECRET = 'test-secret-value-123456';

interface Answer {
  status: number;
  body: string;
  contentType?: string;
  delayMs?: number;
  /** Send the status line and headers, then never finish the body. */
  stallBody?: boolean;
}

interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's port: the same one for two requests means the connection was reused. */
  clientPort: number | undefined;
  /** Settles when the connection the request came on closes. */
  connectionClosed: Promise<void>;
}

let server: http.Server;
let endpoint: string;
let answer: Answer;
let seen: SeenRequest[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
        clientPort: request.socket.remotePort,
        connectionClosed: new Promise((resolve) => request.socket.once('close', () => resolve())),
      });
      if (answer.stallBody) {
        response.writeHead(200, { 'content-type': 'application/json;charset=utf-8', 'content-length': '1000' });
        response.write('{"RequestId":');
        return;
      }
      const send = () => {
        response.statusCode = answer.status;
        response.setHeader('content-type', answer.contentType ?? 'application/json;charset=utf-8');
        response.end(answer.body);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  answer = { status: 200, body: '{"RequestId":"req-ok","Data":[]}' };
});

function cloudConfig(overrides: Record<string, string> = {}): CloudConfig {
  return loadConfig({
    IMGDEL_CLOUD_ENDPOINT: endpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: ACCESS_KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET,
    IMGDEL_CLOUD_RATE: '1000',
    IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '2000',
    IMGDEL_CLOUD_READ_TIMEOUT_MS: '2000',
    ...overrides,
  }).cloud;
}

async function failure(caller: OpenApiRpcCaller, action = 'ListImage'): Promise<CloudError> {
  try {
    await caller.call({ product: 'appstream', regionId: 'cn-shanghai', action, params: { ImageId: 'img-1' } });
  } catch (error) {
    expect(isCloudError(error)).toBe(true);
    return error as CloudError;
  }
  throw new Error('the call was expected to fail');
}

describe('endpointFor', () => {
  it('sends both products to a configured endpoint', () => {
    expect(endpointFor({ endpoint: '127.0.0.1:8787' }, 'appstream', 'cn-shanghai')).toBe('127.0.0.1:8787');
    expect(endpointFor({ endpoint: '127.0.0.1:8787' }, 'ecd', 'cn-hangzhou')).toBe('127.0.0.1:8787');
  });

  it('uses the regional public endpoints otherwise', () => {
    expect(endpointFor({}, 'appstream', 'cn-shanghai')).toBe('appstream-center.cn-shanghai.aliyuncs.com');
    expect(endpointFor({}, 'ecd', 'ap-southeast-1')).toBe('ecd.ap-southeast-1.aliyuncs.com');
  });
});

describe('OpenApiRpcCaller', () => {
  it('sends one signed RPC POST with a flattened form body and never the secret', async () => {
    const caller = new OpenApiRpcCaller(cloudConfig());
    const body = await caller.call({
      product: 'ecd',
      regionId: 'cn-shanghai',
      action: 'CreateTemplate',
      params: { TemplateName: 'a b', DataDiskList: [{ Size: 40 }, { Size: 80 }], 'TemplateIds.1': 'b-1', Tags: ['x', 'y'] },
    });
    expect(body).toEqual({ RequestId: 'req-ok', Data: [] });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/');
    expect(request?.headers['x-acs-action']).toBe('CreateTemplate');
    expect(request?.headers['x-acs-version']).toBe('2020-09-30');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers.authorization).toMatch(
      new RegExp(`^ACS3-HMAC-SHA256 Credential=${ACCESS_KEY_ID},SignedHeaders=[a-z0-9;-]+,Signature=[0-9a-f]{64}$`),
    );
    const form = new URLSearchParams(request?.body);
    expect(Object.fromEntries(form)).toEqual({
      TemplateName: 'a b',
      'DataDiskList.1.Size': '40',
      'DataDiskList.2.Size': '80',
      'TemplateIds.1': 'b-1',
      'Tags.1': 'x',
      'Tags.2': 'y',
    });
    expect(JSON.stringify(request)).not.toContain(ACCESS_KEY_SECRET);
  });

  it('reads account ids beyond 2^53 exactly', async () => {
    answer = { status: 200, body: '{"RequestId":"r","Data":[{"AliUid": 99999999999999999}]}' };
    const body = await new OpenApiRpcCaller(cloudConfig()).call({
      product: 'appstream',
      regionId: 'cn-shanghai',
      action: 'ListImage',
      params: {},
    });
    expect(body).toEqual({ RequestId: 'r', Data: [{ AliUid: '99999999999999999' }] });
  });

  it('turns an error body into a CloudError with its code, status and request id, sent exactly once', async () => {
    answer = {
      status: 400,
      body: JSON.stringify({ RequestId: 'req-7', HostId: 'h', Code: 'InternalError', Message: 'boom' }),
    };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('InternalError');
    expect(error.httpStatus).toBe(400);
    expect(error.requestId).toBe('req-7');
    expect(error.action).toBe('ListImage');
    expect(error.message).toBe('boom');
    // Temporal owns retries: the runtime must not have retried.
    expect(seen).toHaveLength(1);
  });

  it('keeps the code of an error body without a message, and does not say it had none', async () => {
    answer = { status: 400, body: JSON.stringify({ RequestId: 'req-8', Code: 'ImageNotAllowDelete' }) };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()), 'DeleteImage');
    expect([error.code, error.requestId]).toEqual(['ImageNotAllowDelete', 'req-8']);
    expect(error.message).toBe('DeleteImage answered HTTP 400 with ImageNotAllowDelete and no message');
  });

  it('keeps a throttling code and its status', async () => {
    answer = { status: 429, body: JSON.stringify({ RequestId: 'req-t', Code: 'Throttling.User', Message: 'slow down' }) };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('Throttling.User');
    expect(error.httpStatus).toBe(429);
    expect(error.requestId).toBe('req-t');
  });

  it('calls a 429 without a code Throttling', async () => {
    answer = { status: 429, body: '{"RequestId":"req-429"}' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('Throttling');
    expect(error.httpStatus).toBe(429);
    expect(error.requestId).toBe('req-429');
  });

  it('calls a JSON 5xx without a code HttpServerError', async () => {
    answer = { status: 503, body: '{}' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('HttpServerError');
    expect(error.httpStatus).toBe(503);
    expect(error.requestId).toBeUndefined();
    expect(seen).toHaveLength(1);
  });

  it('calls a 5xx HTML page HttpServerError', async () => {
    answer = { status: 502, body: '<html><body>Bad Gateway</body></html>', contentType: 'text/html' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('HttpServerError');
    expect(error.action).toBe('ListImage');
  });

  it('calls a 5xx with an empty body HttpServerError', async () => {
    answer = { status: 500, body: '' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('HttpServerError');
  });

  it('calls a 4xx without a code HttpClientError (unknown, bounded), whether HTML, text or JSON', async () => {
    for (const [status, body, contentType] of [
      [403, '<html><body>Forbidden by proxy</body></html>', 'text/html'],
      [404, 'not found', 'text/plain'],
      [400, '{"RequestId":"req-nocode","Message":"?"}', 'application/json'],
    ] as const) {
      answer = { status, body, contentType };
      const error = await failure(new OpenApiRpcCaller(cloudConfig()));
      expect([error.code, error.httpStatus], body).toEqual(['HttpClientError', status]);
      expect(classify(error.code, 'regionDelete', error.httpStatus)).toBe('bounded');
    }
  });

  it('keeps an HTTP 429 with a code imgdel does not know transient', async () => {
    answer = { status: 429, body: JSON.stringify({ RequestId: 'req-q', Code: 'Quota.Exceeded.Rate', Message: 'later' }) };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect([error.code, error.httpStatus]).toEqual(['Quota.Exceeded.Rate', 429]);
    expect(classify(error.code, 'regionDelete', error.httpStatus)).toBe('transient');
  });

  it('calls a 200 whose body is not JSON MalformedResponse, with a short excerpt', async () => {
    answer = { status: 200, body: `not json ${'x'.repeat(5000)}` };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('MalformedResponse');
    expect(error.httpStatus).toBe(200);
    expect(error.message).toContain('not json');
    expect(error.message.length).toBeLessThan(300);
  });

  it('calls an empty 200 MalformedResponse', async () => {
    answer = { status: 200, body: '' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('MalformedResponse');
    expect(error.message).toContain('empty body');
  });

  it('calls a server that does not answer in time RequestTimeout', async () => {
    answer = { status: 200, body: '{"RequestId":"late"}', delayMs: 3_000 };
    const caller = new OpenApiRpcCaller(
      cloudConfig({ IMGDEL_CLOUD_READ_TIMEOUT_MS: '200', IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '200' }),
    );
    const error = await failure(caller);
    expect(error.code).toBe('RequestTimeout');
  });

  it('waits for a slow answer up to the read timeout, even past a shorter connect timeout', async () => {
    answer = { status: 200, body: '{"RequestId":"slow-but-fine"}', delayMs: 600 };
    const caller = new OpenApiRpcCaller(
      cloudConfig({ IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '200', IMGDEL_CLOUD_READ_TIMEOUT_MS: '5000' }),
    );
    await expect(
      caller.call({ product: 'appstream', regionId: 'cn-shanghai', action: 'ListImage', params: {} }),
    ).resolves.toEqual({ RequestId: 'slow-but-fine' });
  });

  it('abandons an answer whose body never ends once the read timeout has passed', async () => {
    answer = { status: 200, body: '', stallBody: true };
    const caller = new OpenApiRpcCaller(cloudConfig({ IMGDEL_CLOUD_READ_TIMEOUT_MS: '300' }));
    const error = await failure(caller);
    expect(error.code).toBe('RequestTimeout');
    expect(error.message).toContain('300 ms');
    caller.close();
  });

  it('sends successive calls over one kept-alive connection', async () => {
    const caller = new OpenApiRpcCaller(cloudConfig());
    for (let index = 0; index < 3; index += 1) {
      await caller.call({ product: 'appstream', regionId: 'cn-shanghai', action: 'ListImage', params: {} });
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((request) => request.clientPort)).size).toBe(1);
    caller.close();
  });

  it('drops a connection idle for 4 s even when the server would keep it longer', async () => {
    // Servers close idle connections on their own schedule; a socket reused just as the server
    // closes it fails the call (ECONNRESET), so the caller lets idle ones go first.
    const serverKeepAlive = server.keepAliveTimeout;
    server.keepAliveTimeout = 30_000;
    const caller = new OpenApiRpcCaller(cloudConfig());
    try {
      const call = () => caller.call({ product: 'appstream', regionId: 'cn-shanghai', action: 'ListImage', params: {} });
      await call();
      await call();
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      await call();
      const [first, second, third] = seen.map((request) => request.clientPort);
      expect(second).toBe(first);
      expect(third).not.toBe(first);
    } finally {
      caller.close();
      server.keepAliveTimeout = serverKeepAlive;
    }
  }, 15_000);

  it('calls an endpoint with nothing listening NetworkError', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(new OpenApiRpcCaller(cloudConfig({ IMGDEL_CLOUD_ENDPOINT: `127.0.0.1:${port}` })));
    expect(error.code).toBe('NetworkError');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('speaks HTTPS when configured, and refuses a server whose certificate it cannot verify', async () => {
    // A throwaway self-signed certificate (openssl ships with the CI machine).
    const directory = await mkdtemp(join(tmpdir(), 'imgdel-tls-'));
    const keyPath = join(directory, 'key.pem');
    const certPath = join(directory, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
    const tlsServer = https.createServer({ key: await readFile(keyPath), cert: await readFile(certPath) }, (_request, response) => {
      response.end('{"RequestId":"never-trusted"}');
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tlsServer.address() as AddressInfo).port;
      const caller = new OpenApiRpcCaller(cloudConfig({ IMGDEL_CLOUD_ENDPOINT: `127.0.0.1:${port}`, IMGDEL_CLOUD_PROTOCOL: 'HTTPS' }));
      const error = await failure(caller);
      expect(error.code).toBe('NetworkError');
      // The TLS handshake itself failed: the certificate was checked, so the call was HTTPS.
      expect(error.message).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/);
      caller.close();
    } finally {
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('never puts the secret into an error message, even when the server echoes it', async () => {
    answer = {
      status: 400,
      body: JSON.stringify({ RequestId: 'r', Code: 'SignatureDoesNotMatch', Message: `bad: ${ACCESS_KEY_SECRET}` }),
    };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('SignatureDoesNotMatch');
    expect(JSON.stringify(error.toJSON())).not.toContain(ACCESS_KEY_SECRET);
    expect(error.message).toContain('[redacted]');
  });

  it('redacts a secret before cutting an excerpt, so no prefix of it survives the cut', async () => {
    // The secret starts 10 characters before the 80-character cut of the excerpt.
    answer = { status: 200, body: `${'x'.repeat(70)}${ACCESS_KEY_SECRET} and more`, contentType: 'text/plain' };
    const error = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(error.code).toBe('MalformedResponse');
    expect(error.message).not.toContain(ACCESS_KEY_SECRET.slice(0, 6));
    expect(error.message).toContain('[redacted]');
  });

  it('redacts the secret and token the default credential chain provides, not only configured ones', async () => {
    const chainSecret = 'chain-provided-secret-0042';
    const chainToken = 'chain-provided-sts-token-0042';
    const variables = ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN', 'ALIBABA_CLOUD_ECS_METADATA_DISABLED'] as const;
    const saved = new Map(variables.map((name) => [name, process.env[name]]));
    process.env['ALIBABA_CLOUD_ACCESS_KEY_ID'] = ACCESS_KEY_ID;
    process.env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] = chainSecret;
    process.env['ALIBABA_CLOUD_SECURITY_TOKEN'] = chainToken;
    process.env['ALIBABA_CLOUD_ECS_METADATA_DISABLED'] = 'true';
    try {
      const { accessKeyId: _id, accessKeySecret: _secret, securityToken: _token, ...withoutKeys } = cloudConfig();
      answer = {
        status: 400,
        body: JSON.stringify({ RequestId: 'r', Code: 'SignatureDoesNotMatch', Message: `bad: ${chainSecret} / ${chainToken}` }),
      };
      const error = await failure(new OpenApiRpcCaller(withoutKeys));
      expect(seen[0]?.headers['x-acs-security-token']).toBe(chainToken);
      expect(JSON.stringify(error.toJSON())).not.toContain(chainSecret);
      expect(JSON.stringify(error.toJSON())).not.toContain(chainToken);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('abandons a call on the wire when its signal aborts: it rejects with the reason and closes the connection', async () => {
    answer = { status: 200, body: '{"RequestId":"too-late"}', delayMs: 60_000 };
    const events: Array<{ action: string; code?: string }> = [];
    const caller = new OpenApiRpcCaller(cloudConfig({ IMGDEL_CLOUD_READ_TIMEOUT_MS: '600000' }), {
      onCall: ({ action, code }) => events.push({ action, ...(code ? { code } : {}) }),
    });
    const cancellation = new AbortController();
    const reason = new Error('the activity was cancelled');
    const call = caller.call({ product: 'appstream', regionId: 'cn-shanghai', action: 'DeleteImage', params: {}, signal: cancellation.signal });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    cancellation.abort(reason);
    await expect(call).rejects.toBe(reason);
    await seen[0]?.connectionClosed;
    expect(events).toEqual([{ action: 'DeleteImage', code: ABANDONED_CALL_CODE }]);
    caller.close();
  });

  it('sends nothing for a signal that has aborted, before the call or while the rate limiter holds it', async () => {
    // One call a second: the second call waits in the limiter for about a second.
    const caller = new OpenApiRpcCaller(cloudConfig({ IMGDEL_CLOUD_RATE: '1' }));
    const reason = new Error('cancelled');
    const request = { product: 'appstream', regionId: 'cn-shanghai', action: 'ListImage', params: {} } as const;
    await expect(caller.call({ ...request, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await caller.call(request);
    const cancellation = new AbortController();
    const held = caller.call({ ...request, signal: cancellation.signal });
    cancellation.abort(reason);
    await expect(held).rejects.toBe(reason);
    // Past the moment the limiter would have let it go.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(seen).toHaveLength(1);
    caller.close();
  });

  it('reports every call to onCall, with the code when it failed', async () => {
    const events: Array<{ action: string; code?: string }> = [];
    const caller = new OpenApiRpcCaller(cloudConfig(), { onCall: ({ action, code }) => events.push({ action, ...(code ? { code } : {}) }) });
    await caller.call({ product: 'appstream', regionId: 'cn-shanghai', action: 'ListImage', params: {} });
    answer = { status: 400, body: '{"RequestId":"r","Code":"Image.NotExist","Message":"m"}' };
    await failure(caller, 'DeleteImage');
    expect(events).toEqual([{ action: 'ListImage' }, { action: 'DeleteImage', code: 'Image.NotExist' }]);
  });
});

describe('toCloudError', () => {
  it('passes a CloudError through unchanged', async () => {
    answer = { status: 400, body: '{"RequestId":"r","Code":"X","Message":"m"}' };
    const original = await failure(new OpenApiRpcCaller(cloudConfig()));
    expect(toCloudError(original, 'Other')).toBe(original);
  });

  it('maps system error codes without an HTTP answer', () => {
    expect(toCloudError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ListImage').code).toBe('NetworkError');
    expect(toCloudError(Object.assign(new Error('slow'), { code: 'ETIMEDOUT' }), 'ListImage').code).toBe('RequestTimeout');
  });

  it('keeps a client-side code of the runtime, e.g. InvalidCredentials', () => {
    const error = toCloudError(Object.assign(new Error('no credentials'), { code: 'InvalidCredentials' }), 'ListImage');
    expect(error.code).toBe('InvalidCredentials');
    expect(error.action).toBe('ListImage');
  });
});
