import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/emulator/server.js';
import type { StateView } from '../../src/emulator/state.js';
import { admin, callApi } from './helpers.js';
import { useEmulator } from './use-emulator.js';

const emulator = useEmulator({ demo: false });

describe('emulator admin API', () => {
  it('reports where it listens', () => {
    expect(emulator.url).toBe(`http://127.0.0.1:${emulator.port}`);
    expect(emulator.endpoint).toBe(`127.0.0.1:${emulator.port}`);
    expect(emulator.port).toBeGreaterThan(0);
  });

  it('seeds images, templates and instances and shows them in the state', async () => {
    const seeded = await admin(emulator.url, 'POST', 'seed', {
      images: [
        { imageId: 'img-admin0001', imageType: 'User', aliUid: '1234567890123456', status: 'AVAILABLE', productType: 'CloudApp', regions: ['cn-shanghai', 'cn-hangzhou'] },
        { imageId: 'img-admin0002', imageName: 'child', imageType: 'Community', aliUid: 42, status: 'AVAILABLE', productType: 'CloudApp', parentImageId: 'img-admin0001', regions: ['cn-shanghai'] },
      ],
      templates: [{ templateId: 'b-admin0001', templateName: 'tpl', imageId: 'img-admin0001', SystemDiskSize: 80, description: 'kept' }],
      instances: [{ kind: 'WuyingServer', id: 'ws-1', imageId: 'img-admin0001', regionId: 'cn-hangzhou' }],
    });
    expect(seeded).toEqual({ status: 200, json: { images: 2, templates: 1, instances: 1 } });

    const { json } = await admin(emulator.url, 'GET', 'state');
    const view = json as StateView;
    expect(view.images.map((image) => image.imageId)).toEqual(['img-admin0001', 'img-admin0002']);
    expect(view.images[0]?.regions).toEqual(['cn-shanghai', 'cn-hangzhou']);
    expect(view.images[1]).toMatchObject({ aliUid: '42', parentImageId: 'img-admin0001', imageName: 'child' });
    expect(view.templates[0]).toEqual({ templateId: 'b-admin0001', templateName: 'tpl', imageId: 'img-admin0001', SystemDiskSize: 80, Description: 'kept' });
    expect(view.instances).toEqual([{ kind: 'WuyingServer', id: 'ws-1', imageId: 'img-admin0001', regionId: 'cn-hangzhou', status: 'RUNNING' }]);
  });

  it('reset empties state, faults, limits and the call log', async () => {
    await admin(emulator.url, 'POST', 'seed', { images: [{ imageId: 'img-reset001', imageType: 'User', aliUid: '1', status: 'AVAILABLE', productType: 'CloudApp', regions: ['cn-shanghai'] }] });
    await admin(emulator.url, 'POST', 'faults', { action: 'ListImage', code: 'InternalError', times: -1 });
    await admin(emulator.url, 'POST', 'limits', { action: 'ListImage', perSecond: 5 });
    await callApi(emulator.url, 'ListImage');
    expect(((await admin(emulator.url, 'GET', 'calls')).json as unknown[]).length).toBe(1);

    expect((await admin(emulator.url, 'POST', 'reset')).status).toBe(200);
    expect((await admin(emulator.url, 'GET', 'state')).json).toEqual({ images: [], templates: [], instances: [] });
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
    expect((await admin(emulator.url, 'GET', 'limits')).json).toEqual([]);
    expect((await admin(emulator.url, 'GET', 'calls')).json).toEqual([]);
    const answer = await callApi(emulator.url, 'ListImage');
    expect(answer.status).toBe(200);
  });

  it('logs every API call, refused ones included, without credential material', async () => {
    await callApi(emulator.url, 'ListImage', { ImageId: 'img-none0001', PageSize: '5' });
    await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-none0001' });
    await callApi(emulator.url, 'ListImage', {}, { accessKeySecret: 'wrong' });
    await callApi(emulator.url, 'NoSuchAction', { Signature: 'abc', AccessKeyId: 'x' });

    const calls = (await admin(emulator.url, 'GET', 'calls')).json as CallRecord[];
    expect(calls.map((call) => [call.action, call.httpStatus, call.code])).toEqual([
      ['ListImage', 200, null],
      ['DeleteImage', 400, 'Image.NotExist'],
      ['ListImage', 400, 'SignatureDoesNotMatch'],
      ['NoSuchAction', 404, 'InvalidAction.NotFound'],
    ]);
    expect(calls[0]?.params).toEqual({ ImageId: 'img-none0001', PageSize: '5' });
    expect(calls[3]?.params).toEqual({});
    expect(Number.isNaN(Date.parse(calls[0]?.at ?? ''))).toBe(false);
    // Admin calls are not API calls.
    expect(calls.some((call) => call.action === '')).toBe(false);
  });

  it('adds, lists and removes faults by id or all at once', async () => {
    const first = await admin(emulator.url, 'POST', 'faults', { action: 'ListImage', code: 'InternalError' });
    const second = await admin(emulator.url, 'POST', 'faults', { action: '*', latencyMs: 5 });
    expect(first.status).toBe(200);
    const firstId = (first.json as { id: string }).id;
    const secondId = (second.json as { id: string }).id;
    expect(firstId).not.toBe(secondId);

    expect((await admin(emulator.url, 'DELETE', `faults/${firstId}`)).status).toBe(200);
    expect((await admin(emulator.url, 'DELETE', `faults/${firstId}`)).status).toBe(404);
    expect(((await admin(emulator.url, 'GET', 'faults')).json as Array<{ id: string }>).map((fault) => fault.id)).toEqual([secondId]);
    expect((await admin(emulator.url, 'DELETE', 'faults')).status).toBe(200);
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
  });

  it('refuses invalid admin bodies with 400 and a message', async () => {
    const cases: Array<[string, unknown]> = [
      ['seed', { images: [{ imageId: 'img-x', imageType: 'Weird', regions: ['cn-shanghai'] }] }],
      ['seed', { images: [{ imageId: 'img-x', regions: [''] }] }],
      ['seed', { templates: [{ templateId: 'not-b', templateName: 'x', imageId: 'img-x' }] }],
      ['seed', { instances: [{ kind: 'Desktop', id: 'x', imageId: 'img-x', regionId: 'r' }] }],
      ['faults', { code: 'InternalError' }],
      ['faults', { action: 'ListImage' }],
      ['faults', { action: 'ListImage', code: 'X', probability: 2 }],
      ['faults', { action: 'ListImage', code: 'X', times: 0 }],
      ['limits', { action: 'ListImage', perSecond: 0 }],
      ['limits', { action: 'ListImage' }],
      ['faults', '{not json'],
      // A misspelt key is refused, not dropped: the fault would fire wider than written.
      ['faults', { action: 'DeleteImage', code: 'InternalError', region: 'cn-shanghai' }],
      ['faults', { action: 'DeleteImages', code: 'InternalError' }],
      ['faults', { action: 'ListImage', code: 'InternalError', httpStatus: 102 }],
      ['limits', { action: 'deleteimage', perSecond: 1 }],
      ['seed', { images: [{ imageId: 'img-x', imagetype: 'Shared', regions: ['cn-shanghai'] }] }],
      ['seed', { image: [] }],
    ];
    for (const [path, body] of cases) {
      const answer = await admin(emulator.url, 'POST', path, body);
      expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(typeof (answer.json as { error?: unknown }).error).toBe('string');
    }
    // Nothing was half-applied, and the server still answers.
    expect((await admin(emulator.url, 'GET', 'state')).json).toEqual({ images: [], templates: [], instances: [] });
    expect((await admin(emulator.url, 'GET', 'faults')).json).toEqual([]);
  });

  it('refuses a fault id with broken percent-encoding with 400, not a server error', async () => {
    const answer = await admin(emulator.url, 'DELETE', 'faults/%E0');
    expect(answer.status).toBe(400);
    expect((answer.json as { error: string }).error).toContain('broken percent-encoding');
  });

  it('refuses a body over 1 MiB with 413, and still answers afterwards', async () => {
    const answer = await admin(emulator.url, 'POST', 'seed', 'x'.repeat(1024 * 1024 + 1));
    expect(answer.status).toBe(413);
    expect((answer.json as { error?: unknown }).error).toMatch(/larger than/);
    expect((await admin(emulator.url, 'GET', 'health')).status).toBe(200);
  });

  it('answers unknown admin paths and methods with 404 JSON', async () => {
    expect(await admin(emulator.url, 'GET', 'nothing-here')).toMatchObject({ status: 404 });
    expect(await admin(emulator.url, 'DELETE', 'state')).toMatchObject({ status: 404 });
    expect(await admin(emulator.url, 'GET', 'faults/a/b')).toMatchObject({ status: 404 });
  });
});
