import { describe, expect, it } from 'vitest';
import type { StateView } from '../../src/emulator/state.js';
import { admin, callApi } from './helpers.js';
import { useEmulator } from './use-emulator.js';

const emulator = useEmulator();

type Template = Record<string, unknown> & { TemplateId: string };

async function describeTemplates(params: Record<string, string>): Promise<{ Data: Template[]; TotalCount: number }> {
  const answer = await callApi(emulator.url, 'DescribeTemplates', params);
  expect(answer.status).toBe(200);
  expect(answer.json).toMatchObject({ Code: 'success', Success: true });
  return answer.json as { Data: Template[]; TotalCount: number };
}

describe('CloudDesktop templates', () => {
  it('DescribeTemplates returns full templates, filtered by image, ids and name', async () => {
    const byImage = await describeTemplates({ ImageId: 'img-demo0001' });
    expect(byImage.TotalCount).toBe(2);
    expect(byImage.Data[0]).toEqual({
      TemplateId: 'b-demo0001a',
      TemplateName: 'demo-template-office',
      ImageId: 'img-demo0001',
      Description: 'demo-template-office (demo seed)',
      TemplateType: 'USER_TEMPLATE',
      ProductType: 'CloudDesktop',
      SystemDiskSize: 80,
      SystemDiskPerformanceLevel: 'PL1',
      DataDiskList: [{ Size: 40, PerformanceLevel: 'PL0' }],
      RegionConfigList: [{ RegionId: 'cn-shanghai', OfficeSiteId: 'cn-shanghai+dir-demo01', ResourceInstanceType: 'eds.enterprise_office.4c8g' }],
      ResourceTagList: [{ Key: 'env', Value: 'demo' }],
      PolicyGroupId: 'pg-demo0001',
      DefaultLanguage: 'en-US',
    });
    const byIds = await describeTemplates({ 'TemplateIds.1': 'b-demo0012a', 'TemplateIds.2': 'b-demo0001b' });
    expect(byIds.Data.map((template) => template.TemplateId)).toEqual(['b-demo0001b', 'b-demo0012a']);
    const byName = await describeTemplates({ TemplateName: 'design' });
    expect(byName.Data.map((template) => template.TemplateId)).toEqual(['b-demo0001b']);
    const paged = await describeTemplates({ PageSize: '1', PageNumber: '3' });
    expect(paged).toMatchObject({ TotalCount: 3, PageNumber: 3, PageSize: 1 });
    expect(paged.Data.map((template) => template.TemplateId)).toEqual(['b-demo0012a']);
  });

  it('DeleteTemplates deletes all listed ids, or none when one is unknown', async () => {
    const refused = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0001a', 'TemplateIds.2': 'b-nosuchthing' });
    expect(refused.status).toBe(400);
    expect(refused.json?.['Code']).toBe('InvalidTemplate.NotFound');
    expect((await describeTemplates({})).TotalCount).toBe(3);

    const deleted = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0001a', 'TemplateIds.2': 'b-demo0001b' });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ RequestId: expect.any(String), Code: 'success', Success: true });
    expect((await describeTemplates({})).Data.map((template) => template.TemplateId)).toEqual(['b-demo0012a']);

    const again = await callApi(emulator.url, 'DeleteTemplates', { 'TemplateIds.1': 'b-demo0001a' });
    expect(again.json?.['Code']).toBe('InvalidTemplate.NotFound');
    expect((await callApi(emulator.url, 'DeleteTemplates', {})).json?.['Code']).toBe('MissingTemplateIds');
  });

  it('CreateTemplate un-flattens lists of objects and returns the new id', async () => {
    const created = await callApi(emulator.url, 'CreateTemplate', {
      TemplateName: 'recreated',
      ImageId: 'img-demo0002',
      Description: 'from a snapshot',
      SystemDiskSize: '120',
      'DataDiskList.1.Size': '40',
      'DataDiskList.1.PerformanceLevel': 'PL0',
      'DataDiskList.2.Size': '80',
      'RegionConfigList.1.RegionId': 'cn-shanghai',
      'RegionConfigList.1.OfficeSiteId': 'cn-shanghai+dir-1',
      'ResourceTagList.1.Key': 'team',
      'ResourceTagList.1.Value': '2024',
      PolicyGroupId: 'pg-1',
      AutoPay: 'true',
      CustomField: 'kept',
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ Code: 'success', Success: true });
    const templateId = created.json?.['Data'];
    expect(templateId).toMatch(/^b-[a-z0-9]+$/);

    const found = await describeTemplates({ 'TemplateIds.1': String(templateId) });
    expect(found.Data).toEqual([
      {
        TemplateId: templateId,
        TemplateName: 'recreated',
        ImageId: 'img-demo0002',
        Description: 'from a snapshot',
        TemplateType: 'USER_TEMPLATE',
        ProductType: 'CloudDesktop',
        SystemDiskSize: 120,
        DataDiskList: [{ Size: 40, PerformanceLevel: 'PL0' }, { Size: 80 }],
        RegionConfigList: [{ RegionId: 'cn-shanghai', OfficeSiteId: 'cn-shanghai+dir-1' }],
        // Not a known numeric field: stays a string.
        ResourceTagList: [{ Key: 'team', Value: '2024' }],
        PolicyGroupId: 'pg-1',
        AutoPay: true,
        CustomField: 'kept',
      },
    ]);
    const view = (await admin(emulator.url, 'GET', 'state')).json as StateView;
    expect(view.templates.some((template) => template.templateId === templateId)).toBe(true);
  });

  it('CreateTemplate requires TemplateName', async () => {
    const answer = await callApi(emulator.url, 'CreateTemplate', { ImageId: 'img-demo0002' });
    expect(answer.status).toBe(400);
    expect(answer.json?.['Code']).toBe('MissingTemplateName');
    expect((await describeTemplates({})).TotalCount).toBe(3);
  });
});
