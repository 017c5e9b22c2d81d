import { createRequire } from 'node:module';
import type OpenApiExports from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import { describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { hmacSha1Signature } from '../../src/emulator/signature.js';
import { callApi, formEncode, signCall } from './helpers.js';
import { useEmulator } from './use-emulator.js';

// require(): the same CommonJS exports object under vitest and under plain Node ESM.
const OpenApi = createRequire(import.meta.url)('@alicloud/openapi-core') as typeof OpenApiExports;

const emulator = useEmulator({ resetEachTest: false });

describe('emulator signature checks', () => {
  it('accepts a correctly signed request, with params in the body and in the query', async () => {
    const answer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' }, { query: { PageSize: '5', ImageName: "demo clean(*)!'~" } });
    // The query's ImageName does not match: proves query params are read too.
    expect(answer.status).toBe(200);
    expect(answer.json?.['Count']).toBe(0);
    const plain = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' }, { query: { PageSize: '5' } });
    expect(plain.json?.['Count']).toBe(1);
    expect(plain.json?.['RequestId']).toMatch(/^[0-9A-F-]{36}$/);
    expect(plain.headers.get('x-acs-request-id')).toBe(plain.json?.['RequestId']);
  });

  it('refuses an unsigned request with IncompleteSignature', async () => {
    const answer = await callApi(emulator.url, 'ListImage', {}, { unsigned: true });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ Code: 'IncompleteSignature' });
    for (const field of ['RequestId', 'HostId', 'Message', 'Recommend']) expect(typeof answer.json?.[field]).toBe('string');
  });

  it('refuses a wrong secret with SignatureDoesNotMatch', async () => {
    const answer = await callApi(emulator.url, 'ListImage', {}, { accessKeySecret: 'not-the-secret' });
    expect(answer.status).toBe(400);
    expect(answer.json?.['Code']).toBe('SignatureDoesNotMatch');
  });

  it('refuses an unknown access key id with InvalidAccessKeyId.NotFound (404)', async () => {
    const answer = await callApi(emulator.url, 'ListImage', {}, { accessKeyId: 'LTAIunknown' });
    expect(answer.status).toBe(404);
    expect(answer.json?.['Code']).toBe('InvalidAccessKeyId.NotFound');
  });

  it('refuses a body whose hash is not the declared x-acs-content-sha256', async () => {
    const answer = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0002' }, { declaredContentHash: 'ab'.repeat(32) });
    expect(answer.status).toBe(400);
    expect(answer.json?.['Code']).toBe('SignatureDoesNotMatch');
    // The refused call changed nothing.
    const image = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0002' });
    expect(image.json?.['Count']).toBe(1);
  });

  it('refuses a request whose body was changed after signing', async () => {
    const endpoint = new URL(emulator.url).host;
    const { headers } = signCall(endpoint, 'ListImage', formEncode({ ImageId: 'img-demo0001' }));
    const { host: _host, ...sendHeaders } = headers;
    const tampered = formEncode({ ImageId: 'img-demo0002' });
    const response = await fetch(`${emulator.url}/`, { method: 'POST', headers: sendHeaders, body: tampered });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { Code: string }).Code).toBe('SignatureDoesNotMatch');
  });

  it('refuses an API body over 1 MiB with InvalidParameter, and still answers afterwards', async () => {
    const answer = await callApi(emulator.url, 'ListImage', { ImageName: 'x'.repeat(1024 * 1024) });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ Code: 'InvalidParameter' });
    expect(String(answer.json?.['Message'])).toMatch(/larger than/);
    expect((await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' })).status).toBe(200);
  });

  it('answers InvalidAction.NotFound (404) for an unknown action', async () => {
    const answer = await callApi(emulator.url, 'DeleteEverything', {}, { version: '2021-09-01' });
    expect(answer.status).toBe(404);
    expect(answer.json?.['Code']).toBe('InvalidAction.NotFound');
  });

  for (const name of ['x-acs-date', 'x-acs-signature-nonce', 'x-acs-action', 'x-acs-content-sha256']) {
    it(`refuses a request without ${name} (the official signer always sends it)`, async () => {
      const answer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' }, { omitHeaders: [name] });
      expect(answer.status).toBe(400);
      expect(answer.json?.['Code']).toBe('IncompleteSignature');
    });
  }

  for (const name of ['host', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-action', 'x-acs-version']) {
    it(`refuses ${name} sent but not signed`, async () => {
      const answer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' }, { unsignedHeaders: [name] });
      expect(answer.status).toBe(400);
      expect(answer.json?.['Code']).toBe('SignatureDoesNotMatch');
      expect(String(answer.json?.['Message'])).toContain(name);
    });
  }

  it('refuses a request dated more than 15 minutes from its clock, either way, and a date it cannot read', async () => {
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const offsetMs of [-16 * 60_000, 16 * 60_000]) {
      const answer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' }, { date: at(offsetMs) });
      expect([answer.status, answer.json?.['Code']]).toEqual([400, 'InvalidTimeStamp.Expired']);
    }
    expect((await callApi(emulator.url, 'ListImage', {}, { date: at(-14 * 60_000) })).status).toBe(200);
    const unreadable = await callApi(emulator.url, 'ListImage', {}, { date: 'Sun, 29 Nov 2026 10:00:00 GMT' });
    expect([unreadable.status, unreadable.json?.['Code']]).toEqual([400, 'InvalidTimeStamp.Format']);
  });

  it('refuses a replayed signature nonce', async () => {
    const nonce = `nonce-${Date.now()}-${Math.random()}`;
    expect((await callApi(emulator.url, 'ListImage', {}, { nonce })).status).toBe(200);
    const replay = await callApi(emulator.url, 'ListImage', {}, { nonce });
    expect([replay.status, replay.json?.['Code']]).toEqual([400, 'SignatureNonceUsed']);
  });

  it('refuses a request without a version with MissingVersion', async () => {
    const answer = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0003' }, { omitHeaders: ['x-acs-version'] });
    expect([answer.status, answer.json?.['Code']]).toEqual([400, 'MissingVersion']);
    expect((await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0003' })).json?.['Count']).toBe(1);
  });

  describe('with the official runtime (@alicloud/openapi-core)', () => {
    function runtimeClient(signatureAlgorithm?: string, secret: string = EMULATOR_DEFAULTS.accessKeySecret): InstanceType<typeof OpenApi.default> {
      return new OpenApi.default(
        new OpenApi.$OpenApiUtil.Config({
          accessKeyId: EMULATOR_DEFAULTS.accessKeyId,
          accessKeySecret: secret,
          endpoint: emulator.endpoint,
          protocol: 'HTTP',
          regionId: 'cn-shanghai',
          ...(signatureAlgorithm === undefined ? {} : { signatureAlgorithm }),
        }),
      );
    }

    async function runtimeCall(client: InstanceType<typeof OpenApi.default>, action: string, version: string, body: Record<string, unknown>, query: Record<string, string> = {}): Promise<Record<string, unknown>> {
      const params = new OpenApi.$OpenApiUtil.Params({
        action,
        version,
        protocol: 'HTTP',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      });
      const request = new OpenApi.$OpenApiUtil.OpenApiRequest({ body: OpenApi.OpenApiUtil.query(body), query });
      const answer: unknown = await client.callApi(params, request, new RuntimeOptions({ autoretry: false }));
      return (answer as { body: Record<string, unknown> }).body;
    }

    it('accepts its ACS3-HMAC-SHA256 signature, lists included', async () => {
      const client = runtimeClient();
      const images = await runtimeCall(client, 'ListImage', '2021-09-01', { ImageId: 'img-demo0001', ImageName: 'demo clean+multi/region*' });
      expect(images['Count']).toBe(0);
      const found = await runtimeCall(client, 'ListImage', '2021-09-01', { ImageId: 'img-demo0001' });
      expect(found['Count']).toBe(1);
      // Query params with characters that percent-encoding rules disagree on.
      const queried = await runtimeCall(client, 'ListImage', '2021-09-01', {}, { ImageName: "multi region*(!)~'+/é", PageSize: '7' });
      expect(queried).toMatchObject({ Count: 0, PageSize: 7 });
      const templates = await runtimeCall(client, 'DescribeTemplates', '2020-09-30', { TemplateIds: ['b-demo0001a', 'b-demo0001b'] });
      expect(templates['TotalCount']).toBe(2);
    });

    it('accepts its old HMAC-SHA1 query signature, routed by Action/Version', async () => {
      const client = runtimeClient('v2');
      const groups = await runtimeCall(client, 'DescribeDesktopGroups', '2020-09-30', { RegionId: 'cn-shanghai', ImageId: ['img-demo0012'] });
      expect(groups['DesktopGroups']).toEqual([{ DesktopGroupId: 'dg-demo0012', ImageId: 'img-demo0012', Status: 'RUNNING', RegionId: 'cn-shanghai' }]);
    });

    it('runs the action an HMAC-SHA1 signature covers, whatever an unsigned x-acs-action header says', async () => {
      const params: Record<string, string> = {
        Action: 'ListImage',
        Version: '2021-09-01',
        ImageId: 'img-demo0002',
        AccessKeyId: EMULATOR_DEFAULTS.accessKeyId,
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        SignatureNonce: crypto.randomUUID(),
        Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        Format: 'JSON',
      };
      params['Signature'] = hmacSha1Signature('GET', params, EMULATOR_DEFAULTS.accessKeySecret);
      const answer = await fetch(`${emulator.url}/?${formEncode(params)}`, { headers: { 'x-acs-action': 'DeleteImage', 'x-acs-version': '2021-09-01' } });
      expect(answer.status).toBe(200);
      // ListImage's answer, not DeleteImage's; and the image is still there.
      expect(await answer.json()).toMatchObject({ Count: 1, Data: [{ ImageId: 'img-demo0002' }] });
      const after = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0002' });
      expect(after.json?.['Count']).toBe(1);
    });

    it('surfaces refusals as runtime errors with the code', async () => {
      for (const algorithm of [undefined, 'v2']) {
        const client = runtimeClient(algorithm, 'wrong-secret');
        const failure: unknown = await runtimeCall(client, 'ListImage', '2021-09-01', {}).catch((error: unknown) => error);
        expect(failure).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
      }
    });
  });
});
