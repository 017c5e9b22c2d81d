/**
 * The demo seed (`--seed demo`): one image per case of deletion-saga.md, so that
 * every outcome can be tried by hand or in a demo.
 *
 *   img-demo0001  clean, 3 regions, 2 CloudDesktop templates  → deleted
 *   img-demo0002  clean, 1 region, no templates                → deleted
 *   img-demo0003  used by an app instance group                → ImageNotAllowDelete
 *   img-demo0004  a Shared image (shared from img-demo0006)     → ImageDeleteFailed.NotAllowSharedImage
 *   img-demo0005  parent of a community image (img-demo0010)   → ImageDeleteFailed.NotAllowCommunityParent
 *   img-demo0006  has a shared image (img-demo0004)            → ImageDeleteFailed.HasSharedImage
 *   img-demo0007  still CREATING                               → InvalidImageOperation.ImageIsCreating
 *   img-demo0008  owned by another account                     → ImageDeleteFailed.NotAllow
 *   img-demo0009  a System image                               → ImageDeleteFailed.NotAllow
 *   img-demo0010  the Community image published from 0005      → ImageDeleteFailed.NotAllow
 *   img-demo0011  used by a workstation (WuyingServer)         → ImageNotAllowDelete
 *   img-demo0012  used by a desktop group, with a template     → ImageNotAllowDelete
 */
import { EMULATOR_DEFAULTS } from './defaults.js';
import type { SeedBody } from './state.js';

export type SeedName = 'demo';

export function demoSeed(accountId: string, otherAccountId: string = EMULATOR_DEFAULTS.otherAccountId): SeedBody {
  const own = { aliUid: accountId, status: 'AVAILABLE' } as const;
  return {
    images: [
      { ...own, imageId: 'img-demo0001', imageName: 'demo-clean-multi-region', imageType: 'User', productType: 'CloudDesktop', regions: ['cn-shanghai', 'cn-hangzhou', 'ap-southeast-1'] },
      { ...own, imageId: 'img-demo0002', imageName: 'demo-clean-single-region', imageType: 'User', productType: 'CloudApp', regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0003', imageName: 'demo-in-use-by-app-instance-group', imageType: 'User', productType: 'CloudApp', regions: ['cn-shanghai', 'cn-hangzhou'] },
      { ...own, imageId: 'img-demo0004', imageName: 'demo-shared-image', imageType: 'Shared', productType: 'CloudApp', parentImageId: 'img-demo0006', regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0005', imageName: 'demo-community-parent', imageType: 'User', productType: 'CloudApp', regions: ['cn-shanghai', 'ap-southeast-1'] },
      { ...own, imageId: 'img-demo0006', imageName: 'demo-has-shared-image', imageType: 'User', productType: 'CloudApp', regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0007', imageName: 'demo-still-creating', imageType: 'User', productType: 'CloudApp', status: 'CREATING', regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0008', imageName: 'demo-other-account', imageType: 'User', productType: 'CloudApp', aliUid: otherAccountId, regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0009', imageName: 'demo-system-image', imageType: 'System', productType: 'CloudApp', regions: ['cn-shanghai', 'cn-hangzhou'] },
      { ...own, imageId: 'img-demo0010', imageName: 'demo-community-image', imageType: 'Community', productType: 'CloudApp', parentImageId: 'img-demo0005', regions: ['cn-shanghai'] },
      { ...own, imageId: 'img-demo0011', imageName: 'demo-in-use-by-workstation', imageType: 'User', productType: 'WuyingServer', regions: ['cn-hangzhou'] },
      { ...own, imageId: 'img-demo0012', imageName: 'demo-in-use-by-desktop-group', imageType: 'User', productType: 'CloudDesktop', regions: ['cn-shanghai', 'cn-hangzhou'] },
    ],
    templates: [
      demoTemplate('b-demo0001a', 'demo-template-office', 'img-demo0001', 'cn-shanghai', 80),
      demoTemplate('b-demo0001b', 'demo-template-design', 'img-demo0001', 'cn-hangzhou', 120),
      demoTemplate('b-demo0012a', 'demo-template-pool', 'img-demo0012', 'cn-shanghai', 80),
    ],
    instances: [
      { kind: 'AppInstanceGroup', id: 'aig-demo0003', imageId: 'img-demo0003', regionId: 'cn-hangzhou', status: 'RUNNING' },
      { kind: 'WuyingServer', id: 'ws-demo0011', imageId: 'img-demo0011', regionId: 'cn-hangzhou', status: 'RUNNING' },
      { kind: 'DesktopGroup', id: 'dg-demo0012', imageId: 'img-demo0012', regionId: 'cn-shanghai', status: 'RUNNING' },
    ],
  };
}

function demoTemplate(templateId: string, templateName: string, imageId: string, regionId: string, systemDiskSize: number): NonNullable<SeedBody['templates']>[number] {
  return {
    templateId,
    templateName,
    imageId,
    Description: `${templateName} (demo seed)`,
    TemplateType: 'USER_TEMPLATE',
    ProductType: 'CloudDesktop',
    SystemDiskSize: systemDiskSize,
    SystemDiskPerformanceLevel: 'PL1',
    DataDiskList: [{ Size: 40, PerformanceLevel: 'PL0' }],
    RegionConfigList: [{ RegionId: regionId, OfficeSiteId: `${regionId}+dir-demo01`, ResourceInstanceType: 'eds.enterprise_office.4c8g' }],
    ResourceTagList: [{ Key: 'env', Value: 'demo' }],
    PolicyGroupId: 'pg-demo0001',
    DefaultLanguage: 'en-US',
  };
}
