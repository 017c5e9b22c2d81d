import { describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import type { StateView } from '../../src/emulator/state.js';
import { admin, callApi } from './helpers.js';
import { useEmulator } from './use-emulator.js';

const emulator = useEmulator();

async function state(): Promise<StateView> {
  return (await admin(emulator.url, 'GET', 'state')).json as StateView;
}

async function listImage(params: Record<string, string>): Promise<{ Count: number; Data: Array<Record<string, unknown>> }> {
  const answer = await callApi(emulator.url, 'ListImage', params);
  expect(answer.status).toBe(200);
  return answer.json as { Count: number; Data: Array<Record<string, unknown>> };
}

describe('ListImage', () => {
  it('returns the wire fields of one image', async () => {
    const answer = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0001' });
    expect(answer.json).toMatchObject({ Code: 'success', Success: true, Count: 1 });
    const regions = ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'];
    expect((answer.json as { Data: unknown[] }).Data[0]).toEqual({
      ImageId: 'img-demo0001',
      ImageName: 'demo-clean-multi-region',
      ImageType: 'User',
      AliUid: Number(EMULATOR_DEFAULTS.accountId),
      Status: 'AVAILABLE',
      ProductType: 'CloudDesktop',
      ParentImageId: '',
      ImageRegionList: regions,
      ImageRegionDistributeList: regions.map((RegionId) => ({ ImageId: 'img-demo0001', RegionId, Status: 'AVAILABLE', VersionId: expect.any(String), Progress: '100%' })),
    });
    // AliUid is a JSON number written with all its digits (ids can exceed 2^53).
    expect(answer.text).toContain(`"AliUid":${EMULATOR_DEFAULTS.accountId}`);
    const other = await callApi(emulator.url, 'ListImage', { ImageId: 'img-demo0008' });
    expect(other.text).toContain(`"AliUid":${EMULATOR_DEFAULTS.otherAccountId},`);
  });

  it('filters and pages', async () => {
    expect((await listImage({ ImageType: 'Shared' })).Data.map((image) => image['ImageId'])).toEqual(['img-demo0004']);
    expect((await listImage({ Status: 'CREATING' })).Data.map((image) => image['ImageId'])).toEqual(['img-demo0007']);
    expect((await listImage({ ImageName: 'in-use' })).Count).toBe(3);
    expect((await listImage({ ProductType: 'WuyingServer' })).Count).toBe(1);
    const all = await listImage({});
    expect(all.Count).toBe(12);
    expect(all.Data).toHaveLength(10);
    const second = await listImage({ PageNumber: '2', PageSize: '5' });
    expect(second.Data.map((image) => image['ImageId'])).toEqual(['img-demo0006', 'img-demo0007', 'img-demo0008', 'img-demo0009', 'img-demo0010']);
    const tooBig = await callApi(emulator.url, 'ListImage', { PageSize: '101' });
    expect(tooBig.status).toBe(400);
  });
});

describe('DeleteImage', () => {
  const refusals: Array<[string, string]> = [
    ['img-missing01', 'Image.NotExist'],
    ['img-demo0004', 'ImageDeleteFailed.NotAllowSharedImage'],
    ['img-demo0008', 'ImageDeleteFailed.NotAllow'],
    ['img-demo0009', 'ImageDeleteFailed.NotAllow'],
    ['img-demo0010', 'ImageDeleteFailed.NotAllow'],
    ['img-demo0005', 'ImageDeleteFailed.NotAllowCommunityParent'],
    ['img-demo0006', 'ImageDeleteFailed.HasSharedImage'],
    ['img-demo0007', 'InvalidImageOperation.ImageIsCreating'],
    ['img-demo0003', 'ImageNotAllowDelete'],
    ['img-demo0011', 'ImageNotAllowDelete'],
    ['img-demo0012', 'ImageNotAllowDelete'],
  ];
  it.each(refusals)('refuses %s with %s (HTTP 400) and changes nothing', async (imageId, code) => {
    const before = await state();
    const answer = await callApi(emulator.url, 'DeleteImage', { ImageId: imageId });
    expect(answer.status).toBe(400);
    expect(answer.json?.['Code']).toBe(code);
    expect(await state()).toEqual(before);
  });

  it('checks in the documented order', async () => {
    // Shared and owned by someone else: the Shared refusal comes first.
    await admin(emulator.url, 'POST', 'seed', {
      images: [
        { imageId: 'img-order001', imageType: 'Shared', aliUid: '5', status: 'CREATING', productType: 'CloudApp', regions: ['cn-shanghai'] },
        { imageId: 'img-order002', imageType: 'User', status: 'INIT', productType: 'CloudApp', regions: ['cn-shanghai'] },
        { imageId: 'img-order003', imageType: 'Community', status: 'AVAILABLE', productType: 'CloudApp', parentImageId: 'img-order002', regions: ['cn-shanghai'] },
        { imageId: 'img-order004', imageType: 'Shared', status: 'AVAILABLE', productType: 'CloudApp', parentImageId: 'img-order002', regions: ['cn-shanghai'] },
      ],
      instances: [{ kind: 'AppInstanceGroup', id: 'aig-order', imageId: 'img-order002', regionId: 'cn-shanghai' }],
    });
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-order001' })).json?.['Code']).toBe('ImageDeleteFailed.NotAllowSharedImage');
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-order002' })).json?.['Code']).toBe('ImageDeleteFailed.NotAllowCommunityParent');
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-order003' })).json?.['Code']).toBe('ImageDeleteFailed.NotAllow');
    await admin(emulator.url, 'POST', 'seed', { images: [{ imageId: 'img-order003', imageType: 'User', status: 'AVAILABLE', productType: 'CloudApp', regions: ['cn-shanghai'] }] });
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-order002' })).json?.['Code']).toBe('ImageDeleteFailed.HasSharedImage');
    await admin(emulator.url, 'POST', 'seed', { images: [{ imageId: 'img-order004', imageType: 'User', status: 'AVAILABLE', productType: 'CloudApp', regions: ['cn-shanghai'] }] });
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-order002' })).json?.['Code']).toBe('InvalidImageOperation.ImageIsCreating');
  });

  it('deletes one region with BizRegionId, then the last copy removes the image and its templates', async () => {
    const first = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-hangzhou' });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ RequestId: expect.any(String), Data: true, Success: true, Code: '200', Message: 'successful' });

    const listed = await listImage({ ImageId: 'img-demo0001' });
    expect(listed.Data[0]?.['ImageRegionList']).toEqual(['cn-shanghai', 'ap-southeast-1']);
    expect((listed.Data[0]?.['ImageRegionDistributeList'] as Array<{ RegionId: string }>).map((copy) => copy.RegionId)).toEqual(['cn-shanghai', 'ap-southeast-1']);

    const again = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-hangzhou' });
    expect(again.json?.['Code']).toBe('Image.NotExist');
    expect((await state()).templates.filter((template) => template.imageId === 'img-demo0001')).toHaveLength(2);

    await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'cn-shanghai' });
    const last = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001', BizRegionId: 'ap-southeast-1' });
    expect(last.status).toBe(200);
    expect((await listImage({ ImageId: 'img-demo0001' })).Count).toBe(0);
    const after = await state();
    expect(after.images.some((image) => image.imageId === 'img-demo0001')).toBe(false);
    expect(after.templates.filter((template) => template.imageId === 'img-demo0001')).toEqual([]);
    // Other images' templates stay.
    expect(after.templates.map((template) => template.templateId)).toEqual(['b-demo0012a']);
    expect((await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001' })).json?.['Code']).toBe('Image.NotExist');
  });

  it('deletes every copy without BizRegionId', async () => {
    const answer = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0001' });
    expect(answer.json?.['Data']).toBe(true);
    const after = await state();
    expect(after.images.map((image) => image.imageId)).not.toContain('img-demo0001');
    expect(after.templates.map((template) => template.templateId)).toEqual(['b-demo0012a']);
  });

  it('refuses a region the image has no copy in', async () => {
    const answer = await callApi(emulator.url, 'DeleteImage', { ImageId: 'img-demo0002', BizRegionId: 'eu-central-1' });
    expect(answer.json?.['Code']).toBe('Image.NotExist');
    expect((await listImage({ ImageId: 'img-demo0002' })).Count).toBe(1);
  });
});

describe('what uses an image', () => {
  it('ListAppInstanceGroup requires ProductType=CloudApp and filters by image and region', async () => {
    expect((await callApi(emulator.url, 'ListAppInstanceGroup', { AppCenterImageId: 'img-demo0003' })).json?.['Code']).toBe('InvalidParameter.ProductType');
    const found = await callApi(emulator.url, 'ListAppInstanceGroup', { ProductType: 'CloudApp', AppCenterImageId: 'img-demo0003' });
    expect(found.json).toMatchObject({
      AppInstanceGroupModels: [{ AppInstanceGroupId: 'aig-demo0003', RegionId: 'cn-hangzhou', Status: 'RUNNING', AppCenterImageId: 'img-demo0003' }],
      Count: 1,
      PageNumber: 1,
      PageSize: 10,
    });
    const elsewhere = await callApi(emulator.url, 'ListAppInstanceGroup', { ProductType: 'CloudApp', AppCenterImageId: 'img-demo0003', BizRegionId: 'cn-shanghai' });
    expect(elsewhere.json).toMatchObject({ AppInstanceGroupModels: [], Count: 0 });
  });

  it('ListWuyingServer filters by image and region', async () => {
    const found = await callApi(emulator.url, 'ListWuyingServer', { ImageId: 'img-demo0011' });
    expect(found.json).toMatchObject({ WuyingServerList: [{ WuyingServerId: 'ws-demo0011', BizRegionId: 'cn-hangzhou', Status: 'RUNNING', ImageId: 'img-demo0011' }], Count: 1 });
    const none = await callApi(emulator.url, 'ListWuyingServer', { ImageId: 'img-demo0001' });
    expect(none.json).toMatchObject({ WuyingServerList: [], Count: 0 });
  });

  it('DescribeDesktopGroups requires RegionId and pages with NextToken', async () => {
    expect((await callApi(emulator.url, 'DescribeDesktopGroups', { 'ImageId.1': 'img-demo0012' })).json?.['Code']).toBe('MissingRegionId');
    await admin(emulator.url, 'POST', 'seed', {
      instances: [1, 2, 3].map((n) => ({ kind: 'DesktopGroup', id: `dg-page${n}`, imageId: 'img-demo0001', regionId: 'cn-shanghai' })),
    });
    const first = await callApi(emulator.url, 'DescribeDesktopGroups', { RegionId: 'cn-shanghai', 'ImageId.1': 'img-demo0001', 'ImageId.2': 'img-demo0012', MaxResults: '3' });
    const firstGroups = first.json?.['DesktopGroups'] as Array<{ DesktopGroupId: string }>;
    expect(firstGroups.map((group) => group.DesktopGroupId)).toEqual(['dg-demo0012', 'dg-page1', 'dg-page2']);
    const token = first.json?.['NextToken'];
    expect(typeof token).toBe('string');
    const second = await callApi(emulator.url, 'DescribeDesktopGroups', { RegionId: 'cn-shanghai', 'ImageId.1': 'img-demo0001', 'ImageId.2': 'img-demo0012', MaxResults: '3', NextToken: String(token) });
    expect((second.json?.['DesktopGroups'] as Array<{ DesktopGroupId: string }>).map((group) => group.DesktopGroupId)).toEqual(['dg-page3']);
    expect(second.json?.['NextToken']).toBeUndefined();
    const otherRegion = await callApi(emulator.url, 'DescribeDesktopGroups', { RegionId: 'cn-hangzhou', 'ImageId.1': 'img-demo0012' });
    expect(otherRegion.json?.['DesktopGroups']).toEqual([]);
  });
});
