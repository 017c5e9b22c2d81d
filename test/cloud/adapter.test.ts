/**
 * The real adapter (official runtime, real signing) against the emulator: every port
 * operation, every refusal as a CloudError, paging, faults, limits, hostile answers,
 * network failure, and the emulator's persisted state across a restart.
 */
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlibabaCloudAdapter } from '../../src/cloud/alibaba-adapter.js';
import { isCloudError, type CloudError } from '../../src/cloud/errors.js';
import type { CloudPort, TemplateSnapshot } from '../../src/cloud/port.js';
import { loadConfig, type CloudConfig } from '../../src/config.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { allUsages } from '../helpers/usages.js';

const ACCOUNT_ID = EMULATOR_DEFAULTS.accountId;
const OTHER_ACCOUNT_ID = EMULATOR_DEFAULTS.otherAccountId;

let emulator: RunningEmulator;
let adapter: CloudPort;

function cloudConfig(overrides: Record<string, string> = {}): CloudConfig {
  return loadConfig({
    IMGDEL_CLOUD_ENDPOINT: emulator.endpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
    IMGDEL_ACCOUNT_ID: ACCOUNT_ID,
    // The adapter's own limiter is tested on its own; here it must not slow the suite.
    IMGDEL_CLOUD_RATE: '10000',
    IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '5000',
    IMGDEL_CLOUD_READ_TIMEOUT_MS: '5000',
    ...overrides,
  }).cloud;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${emulator.url}/_emulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`admin ${method} ${path}: HTTP ${response.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

interface SeedBody {
  images?: Array<Record<string, unknown>>;
  templates?: Array<Record<string, unknown>>;
  instances?: Array<Record<string, unknown>>;
}

async function seed(body: SeedBody): Promise<void> {
  await admin('POST', 'seed', body);
}

interface CallRecord {
  action: string;
  params: Record<string, string>;
  httpStatus: number;
  code: string | null;
}

async function calls(): Promise<CallRecord[]> {
  return (await admin('GET', 'calls')) as CallRecord[];
}

async function cloudErrorOf(promise: Promise<unknown>): Promise<CloudError> {
  try {
    await promise;
  } catch (error) {
    expect(isCloudError(error), `expected a CloudError, got ${String(error)}`).toBe(true);
    return error as CloudError;
  }
  throw new Error('expected the call to fail with a CloudError');
}

const image = (imageId: string, extra: Record<string, unknown> = {}) => ({
  imageId,
  imageName: `name-${imageId}`,
  imageType: 'User',
  aliUid: ACCOUNT_ID,
  status: 'AVAILABLE',
  productType: 'CloudDesktop',
  regions: ['cn-shanghai', 'cn-hangzhou'],
  ...extra,
});

const template = (templateId: string, imageId: string, extra: Record<string, unknown> = {}) => ({
  templateId,
  templateName: `tpl-${templateId}`,
  imageId,
  Description: 'office desktops',
  TemplateType: 'USER_TEMPLATE',
  ProductType: 'CloudDesktop',
  SystemDiskSize: 80,
  DataDiskList: [
    { Size: 40, PerformanceLevel: 'PL0' },
    { Size: 100, PerformanceLevel: 'PL1' },
  ],
  RegionConfigList: [{ RegionId: 'cn-shanghai', OfficeSiteId: 'cn-shanghai+dir-1' }],
  ResourceTagList: [{ Key: 'env', Value: 'prod' }],
  PolicyGroupId: 'pg-1',
  ...extra,
});

beforeAll(async () => {
  emulator = await startEmulator({
    port: 0,
    accessKeyId: EMULATOR_DEFAULTS.accessKeyId,
    accessKeySecret: EMULATOR_DEFAULTS.accessKeySecret,
    accountId: ACCOUNT_ID,
  });
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(async () => {
  await admin('POST', 'reset');
  // A fresh adapter per test: the account-wide lists it shares must not carry over from another test's state.
  adapter = createAlibabaCloudAdapter(cloudConfig());
});

describe('getImage', () => {
  it('reads an image in domain terms', async () => {
    await seed({ images: [image('img-a1', { productType: 'CloudApp', regions: ['cn-shanghai', 'ap-southeast-1'] })] });
    await expect(adapter.getImage('img-a1')).resolves.toEqual({
      imageId: 'img-a1',
      imageName: 'name-img-a1',
      imageType: 'User',
      ownerAccountId: ACCOUNT_ID,
      status: 'AVAILABLE',
      productType: 'CloudApp',
      regions: ['cn-shanghai', 'ap-southeast-1'],
      hasCommunityChildren: false,
      hasSharedChildren: false,
    });
  });

  it('keeps an owner account id beyond 2^53 exact', async () => {
    await seed({ images: [image('img-other', { aliUid: OTHER_ACCOUNT_ID })] });
    const found = await adapter.getImage('img-other');
    expect(found.ownerAccountId).toBe(OTHER_ACCOUNT_ID);
  });

  it('throws Image.NotExist, with the request id, for an unknown image', async () => {
    await seed({ images: [image('img-a1')] });
    const error = await cloudErrorOf(adapter.getImage('img-missing'));
    expect(error.code).toBe('Image.NotExist');
    expect(error.message).toContain('img-missing');
    expect(error.requestId).toMatch(/\S/);
    expect(error.action).toBe('ListImage');
  });

  it('sees shared and community children, and the parent of a shared image', async () => {
    await seed({
      images: [
        image('img-parent-c'),
        image('img-parent-s'),
        image('img-community', { imageType: 'Community', parentImageId: 'img-parent-c' }),
        image('img-shared', { imageType: 'Shared', parentImageId: 'img-parent-s' }),
      ],
    });
    const communityParent = await adapter.getImage('img-parent-c');
    expect([communityParent.hasCommunityChildren, communityParent.hasSharedChildren]).toEqual([true, false]);
    const sharedParent = await adapter.getImage('img-parent-s');
    expect([sharedParent.hasCommunityChildren, sharedParent.hasSharedChildren]).toEqual([false, true]);
    const shared = await adapter.getImage('img-shared');
    expect(shared.imageType).toBe('Shared');
    expect(shared.parentImageId).toBe('img-parent-s');
  });

  it('pages through more than 100 community images to find a child on the last page', async () => {
    const community = Array.from({ length: 230 }, (_, index) =>
      image(`img-comm${String(index).padStart(4, '0')}`, {
        imageType: 'Community',
        parentImageId: index === 229 ? 'img-target' : 'img-unrelated',
      }),
    );
    await seed({ images: [image('img-target'), image('img-unrelated'), ...community] });
    await admin('DELETE', 'calls');
    const found = await adapter.getImage('img-target');
    expect(found.hasCommunityChildren).toBe(true);
    const communityPages = (await calls()).filter(
      (call) => call.action === 'ListImage' && call.params['ImageType'] === 'Community',
    );
    expect(communityPages.map((call) => call.params['PageNumber'])).toEqual(['1', '2', '3']);
    expect(communityPages.every((call) => call.params['PageSize'] === '100')).toBe(true);
  });

  it('stops paging at the announced count when no child exists', async () => {
    const shared = Array.from({ length: 200 }, (_, index) =>
      image(`img-sh${String(index).padStart(4, '0')}`, { imageType: 'Shared', parentImageId: 'img-unrelated' }),
    );
    await seed({ images: [image('img-target'), image('img-unrelated'), ...shared] });
    await admin('DELETE', 'calls');
    expect((await adapter.getImage('img-target')).hasSharedChildren).toBe(false);
    const sharedPages = (await calls()).filter(
      (call) => call.action === 'ListImage' && call.params['ImageType'] === 'Shared',
    );
    // 200 items: two full pages reach Count, so no third (empty) page is asked for.
    expect(sharedPages).toHaveLength(2);
  });

  it('lets validations share the account-wide children look-ups for a while, then reads them again', async () => {
    // Everything up to the second img-bulk0 validation must happen within this age (about 0.1 s
    // here when idle): the margin is for a loaded machine, the wait below for the age to pass.
    const maxAgeMs = 2_000;
    const shortLived = createAlibabaCloudAdapter(cloudConfig(), { accountListsMaxAgeMs: maxAgeMs });
    const ids = ['img-bulk0', 'img-bulk1', 'img-bulk2', 'img-bulk3', 'img-bulk4'];
    await seed({
      images: [...ids.map((id) => image(id)), image('img-comm-bulk', { imageType: 'Community', parentImageId: 'img-bulk3' })],
    });
    await admin('DELETE', 'calls');
    const found = await Promise.all(ids.map((id) => shortLived.getImage(id)));
    expect(found.map((one) => one.hasCommunityChildren)).toEqual([false, false, false, true, false]);
    // A validation soon after shares the same answers.
    expect((await shortLived.getImage('img-bulk3')).hasCommunityChildren).toBe(true);
    const listImageCalls = async () => (await calls()).filter((call) => call.action === 'ListImage');
    const byType = async (type: string) => (await listImageCalls()).filter((call) => call.params['ImageType'] === type).length;
    expect([await byType('Community'), await byType('Shared')]).toEqual([1, 1]);
    expect((await listImageCalls()).filter((call) => call.params['ImageId'] !== undefined)).toHaveLength(ids.length + 1);

    // Once the answers are older than the limit, the next validation reads again: a child created since is seen.
    await seed({ images: [image('img-shared-bulk', { imageType: 'Shared', parentImageId: 'img-bulk0' })] });
    expect((await shortLived.getImage('img-bulk0')).hasSharedChildren).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, maxAgeMs + 50));
    expect((await shortLived.getImage('img-bulk0')).hasSharedChildren).toBe(true);
    expect([await byType('Community'), await byType('Shared')]).toEqual([2, 2]);
  });
});

describe('imageRegions', () => {
  it('reads the regions still holding the image with one ListImage of that image, as a confirmation reads them', async () => {
    await seed({ images: [image('img-left', { regions: ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'] })] });
    await adapter.deleteImageInRegion('img-left', 'cn-hangzhou');
    await admin('DELETE', 'calls');
    expect((await adapter.imageRegions('img-left')).sort()).toEqual(['ap-southeast-1', 'cn-shanghai']);
    const listImages = (await calls()).filter((call) => call.action === 'ListImage');
    // No account-wide Community or Shared list: only the image's own answer.
    expect(listImages).toHaveLength(1);
    expect(listImages[0]?.params).toMatchObject({ ImageId: 'img-left' });
    expect(listImages[0]?.params.ImageType).toBeUndefined();
  });

  it('throws Image.NotExist for an image that is gone', async () => {
    await seed({ images: [image('img-a1')] });
    const error = await cloudErrorOf(adapter.imageRegions('img-missing'));
    expect(error).toMatchObject({ code: 'Image.NotExist', action: 'ListImage' });
  });
});

describe('listImageUsages', () => {
  it('finds app instance groups, workstations and desktop groups, per region', async () => {
    await seed({
      images: [image('img-used', { regions: ['cn-shanghai', 'cn-hangzhou'] }), image('img-other')],
      instances: [
        { kind: 'AppInstanceGroup', id: 'aig-1', imageId: 'img-used', regionId: 'cn-hangzhou', status: 'RUNNING' },
        { kind: 'WuyingServer', id: 'ws-1', imageId: 'img-used', regionId: 'cn-shanghai', status: 'STOPPED' },
        { kind: 'DesktopGroup', id: 'dg-1', imageId: 'img-used', regionId: 'cn-hangzhou', status: 'RUNNING' },
        { kind: 'DesktopGroup', id: 'dg-other', imageId: 'img-other', regionId: 'cn-hangzhou' },
      ],
    });
    const usages = await allUsages(adapter, 'img-used', ['cn-shanghai', 'cn-hangzhou']);
    expect(usages).toHaveLength(3);
    expect(usages).toEqual(
      expect.arrayContaining([
        { kind: 'AppInstanceGroup', id: 'aig-1', regionId: 'cn-hangzhou', status: 'RUNNING' },
        { kind: 'WuyingServer', id: 'ws-1', regionId: 'cn-shanghai', status: 'STOPPED' },
        { kind: 'DesktopGroup', id: 'dg-1', regionId: 'cn-hangzhou', status: 'RUNNING' },
      ]),
    );
    const desktopCalls = (await calls()).filter((call) => call.action === 'DescribeDesktopGroups');
    expect(desktopCalls.map((call) => call.params['RegionId']).sort()).toEqual(['cn-hangzhou', 'cn-shanghai']);
    expect(desktopCalls.every((call) => call.params['ImageId.1'] === 'img-used')).toBe(true);
  });

  it('returns nothing for an image nothing uses', async () => {
    await seed({ images: [image('img-free')] });
    await expect(allUsages(adapter, 'img-free', ['cn-shanghai', 'cn-hangzhou'])).resolves.toEqual([]);
  });

  it('pages through NextToken and PageNumber lists', async () => {
    const desktopGroups = Array.from({ length: 205 }, (_, index) => ({
      kind: 'DesktopGroup',
      id: `dg-${index}`,
      imageId: 'img-busy',
      regionId: 'cn-shanghai',
    }));
    const appGroups = Array.from({ length: 150 }, (_, index) => ({
      kind: 'AppInstanceGroup',
      id: `aig-${index}`,
      imageId: 'img-busy',
      regionId: 'cn-hangzhou',
    }));
    await seed({ images: [image('img-busy')], instances: [...desktopGroups, ...appGroups] });
    const usages = await allUsages(adapter, 'img-busy', ['cn-shanghai']);
    expect(usages.filter((usage) => usage.kind === 'DesktopGroup')).toHaveLength(205);
    expect(usages.filter((usage) => usage.kind === 'AppInstanceGroup')).toHaveLength(150);
    expect(new Set(usages.map((usage) => usage.id)).size).toBe(355);
    const tokens = (await calls())
      .filter((call) => call.action === 'DescribeDesktopGroups')
      .map((call) => call.params['NextToken'] ?? null);
    expect(tokens).toEqual([null, '100', '200']);
  });
});

describe('desktop-group checks of several images', () => {
  const desktopGroups = [
    { kind: 'DesktopGroup', id: 'dg-a', imageId: 'img-a', regionId: 'cn-shanghai', status: 'RUNNING' },
    { kind: 'DesktopGroup', id: 'dg-b1', imageId: 'img-b', regionId: 'cn-shanghai' },
    { kind: 'DesktopGroup', id: 'dg-b2', imageId: 'img-b', regionId: 'cn-shanghai' },
    { kind: 'DesktopGroup', id: 'dg-a-elsewhere', imageId: 'img-a', regionId: 'cn-hangzhou' },
  ];
  const desktopGroupsOf = (imageId: string, through: CloudPort = adapter) =>
    through.listImageUsages(imageId, { kind: 'DesktopGroup', regionId: 'cn-shanghai' }).then((usages) => usages.map((usage) => usage.id).sort());
  /** The checks of img-a and img-b, asked together, with `code` injected for img-a's calls `times` times. */
  const checksWithFaultForA = async (code: string, times: number) => {
    await seed({ images: [image('img-a'), image('img-b')], instances: desktopGroups });
    await admin('POST', 'faults', { action: 'DescribeDesktopGroups', imageId: 'img-a', code, times });
    return [desktopGroupsOf('img-a'), desktopGroupsOf('img-b')] as const;
  };

  it('share one DescribeDesktopGroups per region when asked together, and each image gets only its own groups', async () => {
    await seed({ images: [image('img-a'), image('img-b'), image('img-c')], instances: desktopGroups });
    const [a, b, c] = await Promise.all(['img-a', 'img-b', 'img-c'].map((imageId) => desktopGroupsOf(imageId)));
    expect(a).toEqual(['dg-a']);
    expect(b).toEqual(['dg-b1', 'dg-b2']);
    expect(c).toEqual([]);
    const sent = (await calls()).filter((call) => call.action === 'DescribeDesktopGroups');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.params).toMatchObject({ RegionId: 'cn-shanghai', 'ImageId.1': 'img-a', 'ImageId.2': 'img-b', 'ImageId.3': 'img-c' });
  });

  it('put at most IMGDEL_USAGE_CHECK_BATCH images in a call, and 1 turns the sharing off', async () => {
    const small = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_USAGE_CHECK_BATCH: '2' }));
    await seed({ images: [image('img-a'), image('img-b'), image('img-c')], instances: desktopGroups });
    const ownGroups = [['dg-a'], ['dg-b1', 'dg-b2'], []];
    expect(await Promise.all(['img-a', 'img-b', 'img-c'].map((imageId) => desktopGroupsOf(imageId, small)))).toEqual(ownGroups);
    const imagesPerCall = async () =>
      (await calls())
        .filter((call) => call.action === 'DescribeDesktopGroups')
        .map((call) => Object.keys(call.params).filter((name) => name.startsWith('ImageId.')).length)
        .sort();
    expect(await imagesPerCall()).toEqual([1, 2]);

    await admin('DELETE', 'calls');
    const alone = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_USAGE_CHECK_BATCH: '1' }));
    expect(await Promise.all(['img-a', 'img-b', 'img-c'].map((imageId) => desktopGroupsOf(imageId, alone)))).toEqual(ownGroups);
    expect(await imagesPerCall()).toEqual([1, 1, 1]);
  });

  it('ask again per image when the shared call fails, so one image\'s refusal fails only its own check', async () => {
    const [a, b] = await checksWithFaultForA('InvalidParameter', 2);
    expect((await cloudErrorOf(a)).code).toBe('InvalidParameter');
    await expect(b).resolves.toEqual(['dg-b1', 'dg-b2']);
    // The shared call, then one call per image (answered in either order).
    const sent = (await calls()).filter((call) => call.action === 'DescribeDesktopGroups');
    expect(sent.map((call) => call.params['ImageId.2'] ?? null)).toEqual(['img-b', null, null]);
    expect(sent.map((call) => `${call.params['ImageId.1'] ?? ''} ${call.code ?? 'ok'}`).slice(1).sort()).toEqual([
      'img-a InvalidParameter',
      'img-b ok',
    ]);
    expect(sent[0]?.code).toBe('InvalidParameter');
  });

  it('give every image a transient failure of the shared call, without asking again per image', async () => {
    const [a, b] = await checksWithFaultForA('ServiceUnavailable', 1);
    expect((await cloudErrorOf(a)).code).toBe('ServiceUnavailable');
    expect((await cloudErrorOf(b)).code).toBe('ServiceUnavailable');
    // The checks' activities retry it with their backoff; nothing else is sent now.
    expect((await calls()).filter((call) => call.action === 'DescribeDesktopGroups')).toHaveLength(1);
  });
});

describe('a service that caps its pages below the PageSize asked for', () => {
  beforeEach(async () => {
    // Pages of 30 while the adapter asks for 100; the answers still report PageSize 100.
    await admin('POST', 'paging', { maxPageSize: 30 });
  });

  it('still lists every template, so none is deleted without a snapshot', async () => {
    const many = Array.from({ length: 70 }, (_, index) => template(`b-cap${index}`, 'img-t'));
    await seed({ images: [image('img-t')], templates: many });
    expect(await adapter.listTemplates('img-t')).toHaveLength(70);
  });

  it('still finds a community child and every usage beyond the first page', async () => {
    const community = Array.from({ length: 45 }, (_, index) =>
      image(`img-capc${String(index).padStart(3, '0')}`, {
        imageType: 'Community',
        parentImageId: index === 44 ? 'img-target' : 'img-unrelated',
      }),
    );
    const appGroups = Array.from({ length: 50 }, (_, index) => ({
      kind: 'AppInstanceGroup',
      id: `aig-cap${index}`,
      imageId: 'img-target',
      regionId: 'cn-hangzhou',
    }));
    const servers = Array.from({ length: 40 }, (_, index) => ({
      kind: 'WuyingServer',
      id: `ws-cap${index}`,
      imageId: 'img-target',
      regionId: 'cn-hangzhou',
    }));
    await seed({ images: [image('img-target'), image('img-unrelated'), ...community], instances: [...appGroups, ...servers] });
    expect((await adapter.getImage('img-target')).hasCommunityChildren).toBe(true);
    const usages = await allUsages(adapter, 'img-target', ['cn-shanghai']);
    expect(usages.filter((usage) => usage.kind === 'AppInstanceGroup')).toHaveLength(50);
    expect(usages.filter((usage) => usage.kind === 'WuyingServer')).toHaveLength(40);
  });
});

describe('templates', () => {
  it('lists full snapshots of the templates that reference the image, and only those', async () => {
    await seed({
      images: [image('img-t'), image('img-u')],
      templates: [template('b-t1', 'img-t'), template('b-t2', 'img-t'), template('b-u1', 'img-u')],
    });
    const snapshots = await adapter.listTemplates('img-t');
    expect(snapshots.map((snapshot) => snapshot.templateId).sort()).toEqual(['b-t1', 'b-t2']);
    const first = snapshots.find((snapshot) => snapshot.templateId === 'b-t1');
    expect(first).toMatchObject({
      templateName: 'tpl-b-t1',
      imageId: 'img-t',
      fields: {
        Description: 'office desktops',
        SystemDiskSize: 80,
        DataDiskList: [
          { Size: 40, PerformanceLevel: 'PL0' },
          { Size: 100, PerformanceLevel: 'PL1' },
        ],
        ResourceTagList: [{ Key: 'env', Value: 'prod' }],
        PolicyGroupId: 'pg-1',
      },
    });
  });

  it('pages through more templates than fit on one page', async () => {
    const many = Array.from({ length: 130 }, (_, index) => template(`b-many${index}`, 'img-t'));
    await seed({ images: [image('img-t')], templates: many });
    expect(await adapter.listTemplates('img-t')).toHaveLength(130);
  });

  it('deletes a template, and answers InvalidTemplate.NotFound the second time', async () => {
    await seed({ images: [image('img-t')], templates: [template('b-t1', 'img-t')] });
    const receipt = await adapter.deleteTemplate('b-t1');
    expect(receipt.requestId).toMatch(/\S/);
    expect(await adapter.listTemplates('img-t')).toEqual([]);
    const error = await cloudErrorOf(adapter.deleteTemplate('b-t1'));
    expect(error.code).toBe('InvalidTemplate.NotFound');
    expect(error.httpStatus).toBe(400);
    expect(error.requestId).toMatch(/\S/);
    expect(error.action).toBe('DeleteTemplates');
  });

  it('re-creates a deleted template from its snapshot, once, with every field', async () => {
    await seed({ images: [image('img-t')], templates: [template('b-t1', 'img-t')] });
    const [snapshot] = await adapter.listTemplates('img-t');
    if (!snapshot) throw new Error('no snapshot');
    await adapter.deleteTemplate(snapshot.templateId);

    const created = await adapter.recreateTemplate(snapshot);
    expect(created.created).toBe(true);
    expect(created.templateId).toMatch(/^b-/);
    const again = await adapter.recreateTemplate(snapshot);
    expect(again).toMatchObject({ created: false, templateId: created.templateId });

    const after = await adapter.listTemplates('img-t');
    expect(after).toHaveLength(1);
    const [recreated] = after;
    expect(recreated?.templateName).toBe(snapshot.templateName);
    expect(recreated?.fields).toEqual(snapshot.fields);
  });

  it('restores each of two deleted templates that share a name and image once each, given the ids other snapshots claimed', async () => {
    await seed({
      images: [image('img-t')],
      templates: [
        template('b-twin1', 'img-t', { templateName: 'office', SystemDiskSize: 80 }),
        template('b-twin2', 'img-t', { templateName: 'office', SystemDiskSize: 120 }),
      ],
    });
    const [first, second] = await adapter.listTemplates('img-t');
    if (!first || !second) throw new Error('expected two snapshots');
    await adapter.deleteTemplate(first.templateId);
    await adapter.deleteTemplate(second.templateId);

    // As the saga calls it: each restore names the templates restored for the other snapshots.
    const restoredFirst = await adapter.recreateTemplate(first, []);
    const restoredSecond = await adapter.recreateTemplate(second, [restoredFirst.templateId]);
    expect([restoredFirst.created, restoredSecond.created]).toEqual([true, true]);
    expect(restoredSecond.templateId).not.toBe(restoredFirst.templateId);
    // A retried compensation (the answers were lost) finds each re-creation again and creates nothing.
    const againFirst = await adapter.recreateTemplate(first, [restoredSecond.templateId]);
    const againSecond = await adapter.recreateTemplate(second, [restoredFirst.templateId]);
    expect([againFirst, againSecond].map((result) => [result.created, result.templateId])).toEqual([
      [false, restoredFirst.templateId],
      [false, restoredSecond.templateId],
    ]);
    const after = await adapter.listTemplates('img-t');
    expect(after.map((snapshot) => snapshot.fields['SystemDiskSize']).sort()).toEqual([120, 80]);
  });

  it('takes an existing template with the same name and image as the snapshot\'s, whatever its other fields say', async () => {
    // deletion-saga.md: a compensation first looks for a template with the snapshot's name and
    // image, so a retried one never creates two, even when the cloud echoes a field differently.
    await seed({ images: [image('img-t')], templates: [template('b-echo', 'img-t', { templateName: 'office', SystemDiskSize: 80 })] });
    const snapshot: TemplateSnapshot = { templateId: 'b-gone', templateName: 'office', imageId: 'img-t', fields: { SystemDiskSize: '80.0' } };
    const result = await adapter.recreateTemplate(snapshot);
    expect(result).toMatchObject({ created: false, templateId: 'b-echo' });
    expect(await adapter.listTemplates('img-t')).toHaveLength(1);
  });

  it('does not count a template with a longer name containing the snapshot name as a match', async () => {
    await seed({
      images: [image('img-t')],
      templates: [template('b-long', 'img-t', { templateName: 'office-extended' })],
    });
    const snapshot: TemplateSnapshot = { templateId: 'b-gone', templateName: 'office', imageId: 'img-t', fields: { SystemDiskSize: 80 } };
    const result = await adapter.recreateTemplate(snapshot);
    expect(result.created).toBe(true);
    expect(result.templateId).not.toBe('b-long');
  });

  it('surfaces template refusals with their codes', async () => {
    await seed({ images: [image('img-t')], templates: [template('b-t1', 'img-t')] });
    await admin('POST', 'faults', { action: 'DeleteTemplates', code: 'DeleteTemplate.Failed' });
    expect((await cloudErrorOf(adapter.deleteTemplate('b-t1'))).code).toBe('DeleteTemplate.Failed');
    await admin('POST', 'faults', { action: 'DescribeTemplates', code: 'QueryTemplate.Failed' });
    const error = await cloudErrorOf(adapter.listTemplates('img-t'));
    expect(error.code).toBe('QueryTemplate.Failed');
    expect(error.httpStatus).toBe(400);
  });
});

describe('region deletes', () => {
  it('confirms the regions deleted together with one ListImage, begun after every delete answered', async () => {
    await seed({ images: [image('img-confirm', { regions: ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'] })] });
    await Promise.all(['cn-shanghai', 'cn-hangzhou'].map((regionId) => adapter.deleteImageInRegion('img-confirm', regionId)));
    await admin('DELETE', 'calls');
    const gone = await Promise.all(
      ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'].map((regionId) => adapter.isImageGoneFromRegion('img-confirm', regionId)),
    );
    expect(gone).toEqual([true, true, false]);
    expect((await calls()).filter((call) => call.action === 'ListImage')).toHaveLength(1);

    // A confirmation asked after that read answered reads again, and sees a delete made since.
    await adapter.deleteImageInRegion('img-confirm', 'ap-southeast-1');
    expect(await adapter.isImageGoneFromRegion('img-confirm', 'ap-southeast-1')).toBe(true);
    expect((await calls()).filter((call) => call.action === 'ListImage')).toHaveLength(2);
  });

  it('waits for the deletes of the image still on the wire, so regions answered apart share one confirmation', async () => {
    const regions = ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'];
    await seed({ images: [image('img-apart', { regions })] });
    // One region's delete answers 300 ms after the others: far outside the 20 ms window.
    await admin('POST', 'faults', { action: 'DeleteImage', regionId: 'cn-hangzhou', latencyMs: 300 });
    await admin('DELETE', 'calls');
    const gone = await Promise.all(
      regions.map(async (regionId) => {
        await adapter.deleteImageInRegion('img-apart', regionId);
        return adapter.isImageGoneFromRegion('img-apart', regionId);
      }),
    );
    expect(gone).toEqual([true, true, true]);
    const log = await calls();
    const confirmations = log.filter((call) => call.action === 'ListImage');
    expect(confirmations).toHaveLength(1);
    // …sent after the last delete was answered (the log is in answer order).
    expect(log.findIndex((call) => call === confirmations[0])).toBeGreaterThan(
      log.map((call) => call.action).lastIndexOf('DeleteImage'),
    );
  });

  it('does not wait for a delete the rate limiter still holds', async () => {
    // One DeleteImage a second: the second region's delete waits about a second before it is sent.
    const paced = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_CLOUD_RATE_LIMITS: 'DeleteImage=1' }));
    await seed({ images: [image('img-paced', { regions: ['cn-shanghai', 'cn-hangzhou'] })] });
    await admin('DELETE', 'calls');
    await Promise.all(
      ['cn-shanghai', 'cn-hangzhou'].map(async (regionId) => {
        await paced.deleteImageInRegion('img-paced', regionId);
        expect(await paced.isImageGoneFromRegion('img-paced', regionId)).toBe(true);
      }),
    );
    // The first region was confirmed before the second delete went out, then the second on its own.
    expect((await calls()).map((call) => `${call.action} ${call.params['BizRegionId'] ?? ''}`.trim())).toEqual([
      'DeleteImage cn-shanghai',
      'ListImage',
      'DeleteImage cn-hangzhou',
      'ListImage',
    ]);
  });

  it('deletes one region at a time; the image goes with its last copy', async () => {
    await seed({ images: [image('img-d', { regions: ['cn-shanghai', 'cn-hangzhou'] })] });
    const receipt = await adapter.deleteImageInRegion('img-d', 'cn-hangzhou');
    expect(receipt.requestId).toMatch(/\S/);
    await expect(adapter.isImageGoneFromRegion('img-d', 'cn-hangzhou')).resolves.toBe(true);
    await expect(adapter.isImageGoneFromRegion('img-d', 'cn-shanghai')).resolves.toBe(false);
    expect((await adapter.getImage('img-d')).regions).toEqual(['cn-shanghai']);

    const again = await cloudErrorOf(adapter.deleteImageInRegion('img-d', 'cn-hangzhou'));
    expect(again.code).toBe('Image.NotExist');
    expect(again.httpStatus).toBe(400);

    await adapter.deleteImageInRegion('img-d', 'cn-shanghai');
    await expect(adapter.isImageGoneFromRegion('img-d', 'cn-shanghai')).resolves.toBe(true);
    expect((await cloudErrorOf(adapter.getImage('img-d'))).code).toBe('Image.NotExist');
    const deleteCalls = (await calls()).filter((call) => call.action === 'DeleteImage');
    expect(deleteCalls.map((call) => call.params['BizRegionId'])).toEqual(['cn-hangzhou', 'cn-hangzhou', 'cn-shanghai']);
  });

  const refusals: Array<[string, SeedBody, string]> = [
    ['ImageDeleteFailed.NotAllowSharedImage', { images: [image('img-p'), image('img-x', { imageType: 'Shared', parentImageId: 'img-p' })] }, 'img-x'],
    ['ImageDeleteFailed.NotAllow', { images: [image('img-x', { aliUid: OTHER_ACCOUNT_ID })] }, 'img-x'],
    ['ImageDeleteFailed.NotAllowCommunityParent', { images: [image('img-x'), image('img-c', { imageType: 'Community', parentImageId: 'img-x' })] }, 'img-x'],
    ['ImageDeleteFailed.HasSharedImage', { images: [image('img-x'), image('img-s', { imageType: 'Shared', parentImageId: 'img-x' })] }, 'img-x'],
    ['InvalidImageOperation.ImageIsCreating', { images: [image('img-x', { status: 'CREATING' })] }, 'img-x'],
    [
      'ImageNotAllowDelete',
      { images: [image('img-x')], instances: [{ kind: 'WuyingServer', id: 'ws-1', imageId: 'img-x', regionId: 'cn-shanghai' }] },
      'img-x',
    ],
    ['Image.NotExist', { images: [image('img-y')] }, 'img-x'],
  ];
  for (const [code, state, imageId] of refusals) {
    it(`surfaces ${code} from DeleteImage as a CloudError with status and request id`, async () => {
      await seed(state);
      const error = await cloudErrorOf(adapter.deleteImageInRegion(imageId, 'cn-shanghai'));
      expect(error.code).toBe(code);
      expect(error.httpStatus).toBe(400);
      expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/);
      expect(error.action).toBe('DeleteImage');
      expect(error.message.length).toBeGreaterThan(0);
    });
  }

  it('surfaces injected transient codes with their documented statuses', async () => {
    await seed({ images: [image('img-d')] });
    await admin('POST', 'faults', { action: 'DeleteImage', code: 'ServiceUnavailable' });
    const unavailable = await cloudErrorOf(adapter.deleteImageInRegion('img-d', 'cn-shanghai'));
    expect([unavailable.code, unavailable.httpStatus]).toEqual(['ServiceUnavailable', 500]);
    await admin('POST', 'faults', { action: 'DeleteImage', code: 'InternalError' });
    const internal = await cloudErrorOf(adapter.deleteImageInRegion('img-d', 'cn-shanghai'));
    expect([internal.code, internal.httpStatus]).toEqual(['InternalError', 400]);
    // Neither fault changed anything: the copy is still there.
    await expect(adapter.isImageGoneFromRegion('img-d', 'cn-shanghai')).resolves.toBe(false);
  });
});

describe('a caller that stops waiting (CallOptions.signal)', () => {
  /** Whether a fault has fired, i.e. a request reached the emulator. */
  async function faultFired(): Promise<boolean> {
    const faults = (await admin('GET', 'faults')) as Array<{ fired: number }>;
    return faults.some((fault) => fault.fired > 0);
  }

  const operations: Array<[string, (cloud: CloudPort, signal: AbortSignal) => Promise<unknown>]> = [
    ['getImage', (cloud, signal) => cloud.getImage('img-s', { signal })],
    ['imageRegions', (cloud, signal) => cloud.imageRegions('img-s', { signal })],
    ['listImageUsages (account-wide)', (cloud, signal) => cloud.listImageUsages('img-s', { kind: 'WuyingServer' }, { signal })],
    ['listImageUsages (a region)', (cloud, signal) => cloud.listImageUsages('img-s', { kind: 'DesktopGroup', regionId: 'cn-shanghai' }, { signal })],
    ['listTemplates', (cloud, signal) => cloud.listTemplates('img-s', { signal })],
    ['deleteTemplate', (cloud, signal) => cloud.deleteTemplate('t-s', { signal })],
    [
      'recreateTemplate',
      (cloud, signal) =>
        cloud.recreateTemplate({ templateId: 't-s', templateName: 'tpl-s', imageId: 'img-s', fields: {} }, [], { signal }),
    ],
    ['deleteImageInRegion', (cloud, signal) => cloud.deleteImageInRegion('img-s', 'cn-shanghai', { signal })],
    ['isImageGoneFromRegion', (cloud, signal) => cloud.isImageGoneFromRegion('img-s', 'cn-shanghai', { signal })],
  ];

  for (const [name, operation] of operations) {
    it(`${name}: rejects with the signal's reason once it aborts, though the cloud would answer only a minute later`, async () => {
      await seed({ images: [image('img-s')] });
      await admin('POST', 'faults', { action: '*', latencyMs: 60_000, times: -1 });
      const patient = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_CLOUD_READ_TIMEOUT_MS: '600000' }));
      const cancellation = new AbortController();
      const reason = new Error(`${name} cancelled`);
      const settled = operation(patient, cancellation.signal).then(
        () => 'answered',
        (error: unknown) => error,
      );
      // Abort once the request is on the wire: the emulator has it and waits out the latency fault.
      while (!(await faultFired())) await new Promise((resolve) => setTimeout(resolve, 10));
      cancellation.abort(reason);
      expect(await settled).toBe(reason);
    });
  }

  it('a shared read goes on for a validation still waiting when another one stops', async () => {
    await seed({ images: [image('img-s'), image('img-t')] });
    await admin('POST', 'faults', { action: 'ListImage', latencyMs: 300, times: -1 });
    const cancellation = new AbortController();
    const left = adapter.getImage('img-s', { signal: cancellation.signal }).catch((error: unknown) => error);
    const stayed = adapter.getImage('img-t');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reason = new Error('cancelled');
    cancellation.abort(reason);
    expect(await left).toBe(reason);
    await expect(stayed).resolves.toMatchObject({ imageId: 'img-t', hasCommunityChildren: false });
    // The account-wide Community and Shared lists were sent once, for both validations.
    const lists = (await calls()).filter((call) => call.action === 'ListImage' && call.params['ImageType'] !== undefined);
    expect(lists).toHaveLength(2);
  });
});

describe('faults, limits and hostile answers', () => {
  it('fails exactly as many times as a fault says, then succeeds', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'ListImage', code: 'InternalError', imageId: 'img-f', times: 2 });
    expect((await cloudErrorOf(adapter.getImage('img-f'))).code).toBe('InternalError');
    expect((await cloudErrorOf(adapter.getImage('img-f'))).code).toBe('InternalError');
    await expect(adapter.getImage('img-f')).resolves.toMatchObject({ imageId: 'img-f' });
  });

  it('waits out a latency fault shorter than the timeout', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'ListImage', latencyMs: 300, times: 1 });
    await expect(adapter.isImageGoneFromRegion('img-f', 'cn-shanghai')).resolves.toBe(false);
    expect((await calls()).filter((call) => call.action === 'ListImage')).toHaveLength(1);
  });

  it('turns a latency fault longer than the timeout into RequestTimeout', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'ListImage', latencyMs: 3000, times: 1 });
    const impatient = createAlibabaCloudAdapter(
      cloudConfig({ IMGDEL_CLOUD_READ_TIMEOUT_MS: '400', IMGDEL_CLOUD_CONNECT_TIMEOUT_MS: '400' }),
    );
    expect((await cloudErrorOf(impatient.isImageGoneFromRegion('img-f', 'cn-shanghai'))).code).toBe('RequestTimeout');
  });

  it('surfaces the cloud throttling the adapter as Throttling.User', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'limits', { action: 'ListImage', perSecond: 0.01 });
    await expect(adapter.isImageGoneFromRegion('img-f', 'cn-shanghai')).resolves.toBe(false);
    const error = await cloudErrorOf(adapter.isImageGoneFromRegion('img-f', 'cn-shanghai'));
    expect(error.code).toBe('Throttling.User');
    expect(error.httpStatus).toBe(400);
    expect(error.requestId).toMatch(/\S/);
    // The emulator's x-acs-retry-after (about 100 s at 0.01 a second), for the activity's next retry delay.
    expect(error.retryAfterMs).toBeGreaterThan(90_000);
    expect(error.toJSON().retryAfterMs).toBe(error.retryAfterMs);
  });

  it('turns a truncated JSON body into MalformedResponse', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'ListImage', code: 'malformed' });
    const error = await cloudErrorOf(adapter.getImage('img-f'));
    expect(error.code).toBe('MalformedResponse');
    expect(error.action).toBe('ListImage');
  });

  it('turns an empty body into MalformedResponse', async () => {
    await seed({ images: [image('img-f')], templates: [template('b-t1', 'img-f')] });
    await admin('POST', 'faults', { action: 'DeleteTemplates', code: 'empty' });
    const error = await cloudErrorOf(adapter.deleteTemplate('b-t1'));
    expect(error.code).toBe('MalformedResponse');
    expect(error.httpStatus).toBe(200);
  });

  it('turns an HTML 500 page into HttpServerError', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'DeleteImage', code: 'http500-html' });
    const error = await cloudErrorOf(adapter.deleteImageInRegion('img-f', 'cn-shanghai'));
    expect(error.code).toBe('HttpServerError');
    expect(error.action).toBe('DeleteImage');
  });

  it('keeps the HTTP status a fault gives a code', async () => {
    await seed({ images: [image('img-f')] });
    await admin('POST', 'faults', { action: 'ListImage', code: 'ServiceUnavailable', httpStatus: 503 });
    const error = await cloudErrorOf(adapter.getImage('img-f'));
    expect([error.code, error.httpStatus]).toEqual(['ServiceUnavailable', 503]);
  });
});

describe('credentials and network', () => {
  it('surfaces a wrong secret as SignatureDoesNotMatch, without the secret in the error', async () => {
    const wrongSecret = 'definitely-not-the-emulator-secret';
    const badlySigned = createAlibabaCloudAdapter(cloudConfig({ ALIBABA_CLOUD_ACCESS_KEY_SECRET: wrongSecret }));
    const error = await cloudErrorOf(badlySigned.getImage('img-any'));
    expect(error.code).toBe('SignatureDoesNotMatch');
    expect(error.requestId).toMatch(/\S/);
    expect(JSON.stringify(error.toJSON())).not.toContain(wrongSecret);
    expect(JSON.stringify(error.toJSON())).not.toContain(EMULATOR_DEFAULTS.accessKeySecret);
  });

  it('surfaces an unknown access key id as InvalidAccessKeyId.NotFound', async () => {
    const unknownKey = createAlibabaCloudAdapter(cloudConfig({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIunknownKey' }));
    const error = await cloudErrorOf(unknownKey.getImage('img-any'));
    expect(error.code).toBe('InvalidAccessKeyId.NotFound');
    expect(error.httpStatus).toBe(404);
  });

  it('turns an endpoint with nothing listening into NetworkError', async () => {
    const placeholder = http.createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
    const port = (placeholder.address() as AddressInfo).port;
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
    const unreachable = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_CLOUD_ENDPOINT: `127.0.0.1:${port}` }));
    const error = await cloudErrorOf(unreachable.deleteImageInRegion('img-any', 'cn-shanghai'));
    expect(error.code).toBe('NetworkError');
    expect(error.action).toBe('DeleteImage');
  });

  it('reports each call to onCall with its action and failure code', async () => {
    await seed({ images: [image('img-f')] });
    // The look-up answers 300 ms late: its reported duration must include that wait.
    await admin('POST', 'faults', { action: 'ListImage', latencyMs: 300, times: 1 });
    const events: Array<{ action: string; code?: string }> = [];
    const durations: number[] = [];
    const observed = createAlibabaCloudAdapter(cloudConfig(), {
      onCall: ({ action, code, durationMs }) => {
        durations.push(durationMs);
        events.push({ action, ...(code ? { code } : {}) });
      },
    });
    await observed.isImageGoneFromRegion('img-f', 'cn-shanghai');
    await cloudErrorOf(observed.deleteTemplate('b-none'));
    expect(events).toEqual([{ action: 'ListImage' }, { action: 'DeleteTemplates', code: 'InvalidTemplate.NotFound' }]);
    expect(durations[0]).toBeGreaterThanOrEqual(290);
  });
});

describe('default credential chain', () => {
  const chainVariables = [
    'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    'ALIBABA_CLOUD_SECURITY_TOKEN',
    'ALIBABA_CLOUD_ECS_METADATA_DISABLED',
    'ALIBABA_CLOUD_CREDENTIALS_FILE',
    'ALIBABA_CLOUD_CONFIG_FILE',
    'ALIBABA_CLOUD_PROFILE',
    'HOME',
  ] as const;

  async function withEnvironment<T>(values: Partial<Record<(typeof chainVariables)[number], string>>, run: () => Promise<T>): Promise<T> {
    const saved = new Map(chainVariables.map((name) => [name, process.env[name]]));
    for (const name of chainVariables) {
      const value = values[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    try {
      return await run();
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  /** The configuration without a key pair: the adapter must fall back to the default chain. */
  function configWithoutKeyPair(): CloudConfig {
    const { accessKeyId: _id, accessKeySecret: _secret, ...rest } = cloudConfig();
    return rest;
  }

  it('signs with what the default chain finds (here: the environment provider)', async () => {
    await seed({ images: [image('img-chain')] });
    const home = await mkdtemp(join(tmpdir(), 'imgdel-home-'));
    try {
      const result = await withEnvironment(
        {
          ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
          ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
          ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
          HOME: home,
        },
        () => createAlibabaCloudAdapter(configWithoutKeyPair()).getImage('img-chain'),
      );
      expect(result.imageId).toBe('img-chain');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('turns an empty chain into InvalidCredentials, before anything is sent', async () => {
    const home = await mkdtemp(join(tmpdir(), 'imgdel-home-'));
    try {
      await admin('DELETE', 'calls');
      const error = await withEnvironment({ ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true', HOME: home }, () =>
        cloudErrorOf(createAlibabaCloudAdapter(configWithoutKeyPair()).getImage('img-any')),
      );
      expect(error.code).toBe('InvalidCredentials');
      expect(error.action).toBe('ListImage');
      expect(await calls()).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('emulator restart with a state file', () => {
  it('keeps images and templates, including changes made through the adapter', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'imgdel-adapter-'));
    const statePath = join(directory, 'state.json');
    const options = {
      port: 0,
      accessKeyId: EMULATOR_DEFAULTS.accessKeyId,
      accessKeySecret: EMULATOR_DEFAULTS.accessKeySecret,
      accountId: ACCOUNT_ID,
      statePath,
    };
    let persistent = await startEmulator(options);
    try {
      const seedResponse = await fetch(`${persistent.url}/_emulator/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          images: [image('img-keep', { regions: ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'] })],
          templates: [template('b-keep', 'img-keep')],
        }),
      });
      expect(seedResponse.ok).toBe(true);
      const before = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_CLOUD_ENDPOINT: persistent.endpoint }));
      await before.deleteImageInRegion('img-keep', 'ap-southeast-1');
      await persistent.close();

      persistent = await startEmulator(options);
      const after = createAlibabaCloudAdapter(cloudConfig({ IMGDEL_CLOUD_ENDPOINT: persistent.endpoint }));
      expect((await after.getImage('img-keep')).regions).toEqual(['cn-shanghai', 'cn-hangzhou']);
      expect((await after.listTemplates('img-keep')).map((snapshot) => snapshot.templateId)).toEqual(['b-keep']);
    } finally {
      await persistent.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
