/**
 * The wire layer: schemas and mappings on their own, and the adapter against a bare
 * server that answers well-formed JSON with the wrong shape (which the emulator never does).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlibabaCloudAdapter } from '../../src/cloud/alibaba-adapter.js';
import { isCloudError, type CloudError } from '../../src/cloud/errors.js';
import { loadConfig } from '../../src/config.js';
import {
  READ_ONLY_TEMPLATE_FIELDS,
  createTemplateParams,
  listImageResponseSchema,
  parseWireJson,
  regionsOf,
  toTemplateSnapshot,
  wireTemplateSchema,
} from '../../src/cloud/wire.js';
import { allUsages } from '../helpers/usages.js';

describe('wire schemas and mappings', () => {
  it('accepts missing and null optional fields', () => {
    const parsed = listImageResponseSchema.parse({
      RequestId: 'r',
      Data: [
        {
          ImageId: 'img-1',
          ImageName: null,
          ImageType: 'User',
          AliUid: 1,
          Status: 'AVAILABLE',
          ProductType: 'CloudApp',
          ParentImageId: '',
          ImageRegionList: null,
        },
      ],
    });
    const [image] = parsed.Data;
    expect(image?.ParentImageId).toBeUndefined();
    expect(image?.ImageRegionList).toEqual([]);
    expect(image?.ImageRegionDistributeList).toEqual([]);
  });

  it('rejects an image type or status imgdel cannot reason about', () => {
    const base = { ImageId: 'img-1', ImageType: 'User', AliUid: 1, Status: 'AVAILABLE', ProductType: 'CloudApp' };
    expect(listImageResponseSchema.safeParse({ RequestId: 'r', Data: [{ ...base, ImageType: 'Marketplace' }] }).success).toBe(false);
    expect(listImageResponseSchema.safeParse({ RequestId: 'r', Data: [{ ...base, Status: 'DELETING' }] }).success).toBe(false);
    expect(listImageResponseSchema.safeParse({ Data: [] }).success).toBe(false);
  });

  it('plans on both region lists, without duplicates, and confirms on the distribution list', () => {
    const [image] = listImageResponseSchema.parse({
      RequestId: 'r',
      Data: [
        {
          ImageId: 'img-1',
          ImageType: 'User',
          AliUid: '1',
          Status: 'AVAILABLE',
          ProductType: 'CloudApp',
          ImageRegionList: ['cn-shanghai', 'cn-beijing'],
          ImageRegionDistributeList: [{ RegionId: 'cn-hangzhou' }, { RegionId: 'cn-shanghai' }],
        },
      ],
    }).Data;
    if (!image) throw new Error('no image');
    expect(regionsOf(image, 'plan')).toEqual(['cn-hangzhou', 'cn-shanghai', 'cn-beijing']);
    // Confirmation reads the distribution list only (the documented check) …
    expect(regionsOf(image, 'confirm')).toEqual(['cn-hangzhou', 'cn-shanghai']);
    // … unless the answer has none.
    expect(regionsOf({ ...image, ImageRegionDistributeList: [] }, 'confirm')).toEqual(['cn-shanghai', 'cn-beijing']);
  });

  it('reads large account ids as their exact digits', () => {
    expect(parseWireJson('{"AliUid": 18446744073709551615}')).toEqual({ AliUid: '18446744073709551615' });
    expect(parseWireJson('{"Note": "\\"AliUid\\": 5"}')).toEqual({ Note: '"AliUid": 5' });
  });

  it('keeps every template field in the snapshot and drops read-only ones on re-creation', () => {
    const snapshot = toTemplateSnapshot(
      wireTemplateSchema.parse({
        TemplateId: 'b-1',
        TemplateName: 'office',
        ImageId: 'img-1',
        CreateTime: '2024-01-01T00:00:00Z',
        UpdateTime: '2024-01-02T00:00:00Z',
        AliUid: 1,
        SystemDiskSize: 80,
        DataDiskList: [{ Size: 40 }],
        SiteConfigList: [{ SiteId: 'cn-shanghai' }],
      }),
    );
    expect(snapshot).toEqual({
      templateId: 'b-1',
      templateName: 'office',
      imageId: 'img-1',
      fields: {
        CreateTime: '2024-01-01T00:00:00Z',
        UpdateTime: '2024-01-02T00:00:00Z',
        AliUid: 1,
        SystemDiskSize: 80,
        DataDiskList: [{ Size: 40 }],
        SiteConfigList: [{ SiteId: 'cn-shanghai' }],
      },
    });
    const params = createTemplateParams(snapshot);
    expect(params).toEqual({
      TemplateName: 'office',
      ImageId: 'img-1',
      SystemDiskSize: 80,
      DataDiskList: [{ Size: 40 }],
      SiteConfigList: [{ SiteId: 'cn-shanghai' }],
    });
    for (const readOnly of ['TemplateId', 'CreateTime', 'UpdateTime', 'AliUid', 'RequestId']) {
      expect(READ_ONLY_TEMPLATE_FIELDS.has(readOnly)).toBe(true);
    }
  });
});

describe('the adapter on answers of the wrong shape', () => {
  /** Per action: a body (HTTP 200), or an answer chosen from the request's form params. */
  type Answer = (params: URLSearchParams) => { status: number; body: unknown };
  const bodies: Record<string, unknown> = {};
  const answers: Record<string, Answer> = {};
  let server: http.Server;
  let endpoint: string;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let form = '';
      request.on('data', (chunk: Buffer) => (form += chunk.toString('utf8')));
      request.on('end', () => {
        const action = String(request.headers['x-acs-action']);
        const chosen = answers[action]?.(new URLSearchParams(form));
        response.statusCode = chosen?.status ?? 200;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(chosen ? chosen.body : (bodies[action] ?? { RequestId: 'r-default' })));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const adapter = () =>
    createAlibabaCloudAdapter(
      loadConfig({
        IMGDEL_CLOUD_ENDPOINT: endpoint,
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'id',
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret-secret',
        IMGDEL_CLOUD_RATE: '10000',
      }).cloud,
    );

  async function cloudErrorOf(promise: Promise<unknown>): Promise<CloudError> {
    try {
      await promise;
    } catch (error) {
      expect(isCloudError(error)).toBe(true);
      return error as CloudError;
    }
    throw new Error('expected a CloudError');
  }

  it('calls a list whose items miss required fields MalformedResponse, naming the field', async () => {
    bodies['ListImage'] = { RequestId: 'r-1', Count: 1, Data: [{ ImageId: 'img-1', ImageType: 'Weird' }] };
    const error = await cloudErrorOf(adapter().getImage('img-1'));
    expect(error.code).toBe('MalformedResponse');
    expect(error.action).toBe('ListImage');
    expect(error.requestId).toBe('r-1');
    expect(error.message).toContain('Data.0.ImageType');
    expect(error.message.length).toBeLessThan(400);
  });

  it('calls a DeleteImage answer without Data: true a failure', async () => {
    bodies['DeleteImage'] = { RequestId: 'r-2', Data: false, Success: true };
    const error = await cloudErrorOf(adapter().deleteImageInRegion('img-1', 'cn-shanghai'));
    expect(error.code).toBe('MalformedResponse');
    expect(error.requestId).toBe('r-2');
  });

  it('calls a DeleteTemplates answer that confirms nothing MalformedResponse, and accepts either confirmation', async () => {
    bodies['DeleteTemplates'] = { RequestId: 'r-dt' };
    const error = await cloudErrorOf(adapter().deleteTemplate('b-1'));
    expect([error.code, error.action, error.requestId]).toEqual(['MalformedResponse', 'DeleteTemplates', 'r-dt']);
    bodies['DeleteTemplates'] = { RequestId: 'r-dt', Code: 'Pending' };
    expect((await cloudErrorOf(adapter().deleteTemplate('b-1'))).code).toBe('MalformedResponse');
    bodies['DeleteTemplates'] = { RequestId: 'r-ok1', Code: 'SUCCESS' };
    await expect(adapter().deleteTemplate('b-1')).resolves.toEqual({ requestId: 'r-ok1' });
    bodies['DeleteTemplates'] = { RequestId: 'r-ok2', Success: true };
    await expect(adapter().deleteTemplate('b-1')).resolves.toEqual({ requestId: 'r-ok2' });
  });

  it('turns a 200 answer with Success: false into a CloudError with its Code', async () => {
    bodies['DeleteTemplates'] = { RequestId: 'r-3', Success: false, Code: 'DeleteTemplate.Failed', Message: 'nope' };
    const error = await cloudErrorOf(adapter().deleteTemplate('b-1'));
    expect([error.code, error.message, error.requestId]).toEqual(['DeleteTemplate.Failed', 'nope', 'r-3']);
  });

  it('calls a NextToken list that repeats its token MalformedResponse instead of a complete list', async () => {
    bodies['ListAppInstanceGroup'] = { RequestId: 'r', AppInstanceGroupModels: [] };
    bodies['ListWuyingServer'] = { RequestId: 'r', WuyingServerList: [] };
    bodies['DescribeDesktopGroups'] = { RequestId: 'r-dg', NextToken: 'same', DesktopGroups: [{ DesktopGroupId: 'dg-1' }] };
    // First page (no token), second page (token "same") answers "same" again: the list is broken.
    const error = await cloudErrorOf(allUsages(adapter(), 'img-1', ['cn-shanghai']));
    expect([error.code, error.action, error.requestId]).toEqual(['MalformedResponse', 'DescribeDesktopGroups', 'r-dg']);
    expect(error.message).toContain('"same"');
  });

  it('asks per image when a shared desktop-group answer names none of the images asked, so each check gets its own', async () => {
    answers['DescribeDesktopGroups'] = (params) =>
      params.has('ImageId.2')
        ? { status: 200, body: { RequestId: 'r-shared', DesktopGroups: [{ DesktopGroupId: 'dg-unsplittable' }] } }
        : { status: 200, body: { RequestId: 'r-alone', DesktopGroups: [{ DesktopGroupId: `dg-of-${params.get('ImageId.1') ?? ''}` }] } };
    try {
      const cloud = adapter();
      const groupsOf = (imageId: string) =>
        cloud.listImageUsages(imageId, { kind: 'DesktopGroup', regionId: 'cn-shanghai' }).then((usages) => usages.map((usage) => usage.id));
      expect(await Promise.all([groupsOf('img-a'), groupsOf('img-b')])).toEqual([['dg-of-img-a'], ['dg-of-img-b']]);
    } finally {
      delete answers['DescribeDesktopGroups'];
    }
  });

  it('counts only images of the type asked as children, whatever the ImageType filter let through', async () => {
    const listed = { ImageId: 'img-1', ImageType: 'User', AliUid: 1, Status: 'AVAILABLE', ProductType: 'CloudDesktop', ImageRegionList: ['cn-shanghai'] };
    answers['ListImage'] = (params) => {
      const imageType = params.get('ImageType');
      if (imageType === null) return { status: 200, body: { RequestId: 'r-img', Count: 1, Data: [listed] } };
      // The filter ignored: a User image derived from img-1 comes back with both lists, and a
      // Shared child without its type with the Shared one.
      const data = [{ ImageId: 'img-user-child', ImageType: 'User', ParentImageId: 'img-1' }];
      if (imageType === 'Shared') data.push({ ImageId: 'img-shared-child', ImageType: '', ParentImageId: 'img-1' });
      return { status: 200, body: { RequestId: `r-${imageType}`, Count: data.length, Data: data } };
    };
    try {
      const image = await adapter().getImage('img-1');
      expect([image.hasCommunityChildren, image.hasSharedChildren]).toEqual([false, true]);
    } finally {
      delete answers['ListImage'];
    }
  });

  it('calls a PageNumber list that runs dry before its announced total MalformedResponse', async () => {
    // Every page answers the same 1 item of 5: with a total the adapter pages on, and the
    // empty page it then gets (below) ends the list short of the total.
    bodies['DescribeTemplates'] = { RequestId: 'r-t', TotalCount: 5, Data: [] };
    const error = await cloudErrorOf(adapter().listTemplates('img-1'));
    expect([error.code, error.action, error.requestId]).toEqual(['MalformedResponse', 'DescribeTemplates', 'r-t']);
    expect(error.message).toContain('0 of the 5');
  });

  it('reports a missing image as Image.NotExist even when a children list failed', async () => {
    answers['ListImage'] = (params) =>
      params.get('ImageType') === 'Community'
        ? { status: 400, body: { RequestId: 'r-throttled', Code: 'Throttling.User', Message: 'slow down' } }
        : { status: 200, body: { RequestId: 'r-list', Count: 0, Data: [] } };
    try {
      const error = await cloudErrorOf(adapter().getImage('img-missing'));
      expect([error.code, error.requestId]).toEqual(['Image.NotExist', 'r-list']);
    } finally {
      delete answers['ListImage'];
    }
  });

  it('confirms a region gone once ImageRegionDistributeList no longer names it, whatever ImageRegionList says', async () => {
    const listed = {
      ImageId: 'img-1',
      ImageType: 'User',
      AliUid: 1,
      Status: 'AVAILABLE',
      ProductType: 'CloudApp',
      ImageRegionList: ['cn-shanghai', 'cn-hangzhou'],
      ImageRegionDistributeList: [{ ImageId: 'img-1', RegionId: 'cn-shanghai', Status: 'AVAILABLE' }],
    };
    bodies['ListImage'] = { RequestId: 'r-l', Count: 1, Data: [listed] };
    const cloud = adapter();
    expect(await cloud.isImageGoneFromRegion('img-1', 'cn-hangzhou')).toBe(true);
    expect(await cloud.isImageGoneFromRegion('img-1', 'cn-shanghai')).toBe(false);
  });

  it('never reads a list answer that has neither its list nor a count as "none": no region confirmed gone, no image found unused', async () => {
    const cloud = adapter();
    bodies['ListImage'] = { RequestId: 'r-bare' };
    const unconfirmed = await cloudErrorOf(cloud.isImageGoneFromRegion('img-1', 'cn-hangzhou'));
    expect([unconfirmed.code, unconfirmed.action, unconfirmed.requestId]).toEqual(['MalformedResponse', 'ListImage', 'r-bare']);
    expect(unconfirmed.message).toContain('the answer has no Data or Count');
    bodies['DescribeDesktopGroups'] = { RequestId: 'r-bare-dg' };
    const unchecked = await cloudErrorOf(cloud.listImageUsages('img-1', { kind: 'DesktopGroup', regionId: 'cn-shanghai' }));
    expect([unchecked.code, unchecked.action]).toEqual(['MalformedResponse', 'DescribeDesktopGroups']);
    bodies['ListAppInstanceGroup'] = { RequestId: 'r-bare-aig' };
    expect((await cloudErrorOf(cloud.listImageUsages('img-1', { kind: 'AppInstanceGroup' }))).code).toBe('MalformedResponse');
    // A count of 0 says "none" without a list, and an empty list says it without a count.
    bodies['ListImage'] = { RequestId: 'r-none', Count: 0 };
    expect(await cloud.isImageGoneFromRegion('img-1', 'cn-hangzhou')).toBe(true);
    bodies['DescribeDesktopGroups'] = { RequestId: 'r-none-dg', DesktopGroups: [] };
    expect(await cloud.listImageUsages('img-1', { kind: 'DesktopGroup', regionId: 'cn-shanghai' })).toEqual([]);
    delete bodies['DescribeDesktopGroups'];
    delete bodies['ListAppInstanceGroup'];
  });
});
