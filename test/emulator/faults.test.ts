import { describe, expect, it } from 'vitest';
import { startEmulator, type CallRecord } from '../../src/emulator/server.js';
import type { StateView } from '../../src/emulator/state.js';
import { admin, callApi } from './helpers.js';
import { useEmulator } from './use-emulator.js';

const emulator = useEmulator();

async function addFault(fault: Record<string, unknown>): Promise<string> {
  const answer = await admin(emulator.url, 'POST', 'faults', fault);
  expect(answer.status).toBe(200);
  return (answer.json as { id: string }).id;
}

async function regionsOf(imageId: string): Promise<string[] | undefined> {
  const view = (await admin(emulator.url, 'GET', 'state')).json as StateView;
  return view.images.find((image) => image.imageId === imageId)?.regions;
}

describe('emulator faults', () => {
  it('fails matching calls `times` times with the code and its documented status, changing nothing', async () => {
    await addFault({ action: 'DeleteImage', code: 'InternalError', times: 2, regionId: 'cn-hangzhou' });
    await addFault({ action: 'DeleteImage', code: 'ServiceUnavailable', imageId: 'img-demo0002' });

    const call = () => callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-hangzhou' });
    const first = await call();
    expect([first.status, first.json?.['Code']]).toEqual([400, 'InternalError']);
    expect(await regionsOf('img-demo0001')).toEqual(['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1']);
    expect((await call()).json?.['Code']).toBe('InternalError');
    const third = await call();
    expect(third.status).toBe(200);
    expect(await regionsOf('img-demo0001')).toEqual(['cn-shanghai', 'ap-southeast-1']);

    // Region does not match: the cn-hangzhou fault would not fire anyway; the image fault does.
    const unavailable = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0002', BizRegionId: 'cn-shanghai' });
    expect([unavailable.status, unavailable.json?.['Code']]).toEqual([500, 'ServiceUnavailable']);
    expect(await regionsOf('img-demo0002')).toEqual(['cn-shanghai']);
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
  });

  it('matches `*`, templates and explicit HTTP statuses; times -1 fires forever', async () => {
    await addFault({ action: '*', code: 'Throttling.User', httpStatus: 429, templateId: 'b-demo0001b', times: -1 });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const answer = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0001a', 'TemplateIds.2': 'b-demo0001b' });
      expect([answer.status, answer.json?.['Code']]).toEqual([429, 'Throttling.User']);
    }
    const describe = await callApi(emulator.url, 'DescribeTemplates', { 'TemplateIds.1': 'b-demo0001b' });
    expect(describe.status).toBe(429);
    const untouched = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0001a' });
    expect(untouched.status).toBe(200);
  });

  it('a fault with probability 0 never fires and is not consumed', async () => {
    const id = await addFault({ action: 'ListImage', code: 'InternalError', probability: 0 });
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' })).status).toBe(200);
    }
    const faults = (await admin(emulator.url, 'GET', 'faults')).json as Array<{ id: string; fired: number }>;
    expect(faults).toMatchObject([{ id, fired: 0 }]);
  });

  it('a latency-only fault delays the call, then handles it normally', async () => {
    await addFault({ action: 'ListImage', imageId: 'img-demo0001', latencyMs: 400 });
    const sent = performance.now();
    const slowAnswer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' });
    // A lower bound only (a sleep never ends early), so this cannot flake.
    expect(performance.now() - sent).toBeGreaterThanOrEqual(390);
    expect([slowAnswer.status, slowAnswer.json?.['Count']]).toEqual([200, 1]);
    // It fired once and is used up.
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
    expect((await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0002' })).status).toBe(200);
  });

  it('produces hostile responses: malformed JSON, empty body, HTML 500', async () => {
    await addFault({ action: 'ListImage', code: 'malformed' });
    await addFault({ action: 'ListImage', code: 'empty' });
    await addFault({ action: 'ListImage', code: 'http500-html' });

    const malformed = await callApi(emulator.url, 'ListImage');
    expect(malformed.status).toBe(200);
    expect(malformed.text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(malformed.text) as unknown).toThrow();

    const empty = await callApi(emulator.url, 'ListImage');
    expect([empty.status, empty.text]).toEqual([200, '']);

    const html = await callApi(emulator.url, 'ListImage');
    expect(html.status).toBe(500);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.text).toContain('<html>');

    const calls = (await admin(emulator.url, 'GET', 'calls')).json as CallRecord[];
    expect(calls.map((call) => [call.httpStatus, call.code])).toEqual([
      [200, 'malformed'],
      [200, 'empty'],
      [500, 'http500-html'],
    ]);
  });
});

describe('emulator rate limits', () => {
  it('throttles calls above the rate with Throttling.User, changing nothing', async () => {
    // 0.01/s: one token, and the next one only in 100 s: no timing in this test.
    expect((await admin(emulator.url, 'POST', 'limits', { action: 'DeleteImage', perSecond: 0.01 })).status).toBe(200);
    const first = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-shanghai' });
    expect(first.status).toBe(200);
    const second = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-hangzhou' });
    expect([second.status, second.json?.['Code']]).toEqual([400, 'Throttling.User']);
    expect(Number(second.headers.get('x-acs-retry-after'))).toBeGreaterThan(0);
    expect(await regionsOf('img-demo0001')).toEqual(['cn-hangzhou', 'ap-southeast-1']);
    // Other actions have their own (absent) bucket.
    expect((await callApi(emulator.url, 'ListImage')).status).toBe(200);
  });
});

describe('emulator faults and limits together', () => {
  it('adds the delay of a latency fault to a call another fault fails, and uses both up', async () => {
    expect((await admin(emulator.url, 'POST', 'faults', { action: 'ListImage', code: 'InternalError' })).status).toBe(200);
    expect((await admin(emulator.url, 'POST', 'faults', { action: '*', latencyMs: 1 })).status).toBe(200);
    const failed = await callApi(emulator.url, 'ListImage');
    expect(failed.json?.['Code']).toBe('InternalError');
    // Both fired on that call: none is left for the next.
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
    expect((await callApi(emulator.url, 'ListImage')).status).toBe(200);
  });

  it('asks a throttled caller to wait until every bucket it needs has a token', async () => {
    // ListImage's own bucket is back in 1 s, the shared one only in 100 s.
    expect((await admin(emulator.url, 'POST', 'limits', { action: 'ListImage', perSecond: 1 })).status).toBe(200);
    expect((await admin(emulator.url, 'POST', 'limits', { action: '*', perSecond: 0.01 })).status).toBe(200);
    expect((await callApi(emulator.url, 'ListImage')).status).toBe(200);
    const throttled = await callApi(emulator.url, 'ListImage');
    expect(throttled.json?.['Code']).toBe('Throttling.User');
    expect(Number(throttled.headers.get('x-acs-retry-after'))).toBeGreaterThan(90_000);
  });
});

describe('emulator latency option', () => {
  it('adds latencyMs to every API call but not to admin calls', async () => {
    const slow = await startEmulator({ port: 0, latencyMs: 150 });
    try {
      const started = performance.now();
      const answer = await callApi(slow.url, 'ListImage');
      // A lower bound only (a sleep never ends early), so this cannot flake.
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(answer.status).toBe(200);
    } finally {
      await slow.close();
    }
    // Ten minutes a call: an admin call that waited too would outlast the test.
    const glacial = await startEmulator({ port: 0, latencyMs: 600_000 });
    try {
      expect((await admin(glacial.url, 'GET', 'state')).status).toBe(200);
    } finally {
      await glacial.close();
    }
  });
});
