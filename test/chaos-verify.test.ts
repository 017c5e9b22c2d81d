/**
 * The chaos run's judge (test/chaos/verify.ts) on hand-made evidence: it passes a run
 * that matches its plan and catches each kind of mismatch it is there to catch, so a
 * green chaos run means something.
 */
import { describe, expect, it } from 'vitest';
import type { EmulatorCall, EmulatorState } from '../src/emulator/admin-client.js';
import { planChaos, type PlannedImage } from './chaos/plan.js';
import { SeededRandom } from './chaos/random.js';
import { verify, type Evidence, type WorkflowFinal } from './chaos/verify.js';

const plan = planChaos(12, new SeededRandom(42));

function firstOf(kind: PlannedImage['outcome']['kind'], withTemplates = false): PlannedImage {
  const image = plan.images.find((candidate) => candidate.outcome.kind === kind && (!withTemplates || candidate.templates.length > 0));
  if (image === undefined) throw new Error(`the plan has no ${kind} image`);
  return image;
}

function call(action: string, params: Record<string, string>, at: string, code: string | null = null): EmulatorCall {
  return { at, action, params, httpStatus: code === null ? 200 : 400, code };
}

/** Evidence of a run in which everything went exactly to plan. */
function perfectRun(): Evidence & { state: EmulatorState; calls: EmulatorCall[]; finals: Map<string, WorkflowFinal> } {
  const finals = new Map<string, WorkflowFinal>();
  const state: EmulatorState = { images: [], templates: [], instances: [] };
  const calls: EmulatorCall[] = [];
  for (const image of plan.images) {
    const outcome = image.outcome;
    if (outcome.kind === 'deleted' || outcome.kind === 'deleted-after-retry') {
      finals.set(image.imageId, { execution: 'COMPLETED', status: 'deleted', retries: outcome.kind === 'deleted' ? 0 : 1 });
      for (const template of image.templates) calls.push(call('DeleteTemplates', { 'TemplateIds.1': template.templateId }, '2026-01-01T00:00:01Z'));
      for (const region of image.regions) calls.push(call('DeleteImage', { ImageId: image.imageId, BizRegionId: region }, '2026-01-01T00:00:02Z'));
      continue;
    }
    state.images.push({ ...image.image, regions: [...image.regions] });
    if (outcome.kind === 'rejected') {
      finals.set(image.imageId, { execution: 'FAILED', status: 'rejected', failureType: outcome.code });
      state.templates.push(...image.templates);
    } else {
      finals.set(image.imageId, { execution: 'FAILED', status: 'compensated', failureType: 'Compensated', causeType: 'DeleteTemplate.Failed' });
      for (const template of image.templates) {
        calls.push(call('DeleteTemplates', { 'TemplateIds.1': template.templateId }, '2026-01-01T00:00:01Z'));
        calls.push(call('CreateTemplate', { TemplateName: template.templateName, ImageId: image.imageId }, '2026-01-01T00:00:03Z'));
        state.templates.push({ ...template, templateId: `${template.templateId}r` });
      }
    }
  }
  const parked = new Set(plan.images.filter((image) => image.outcome.kind === 'deleted-after-retry').map((image) => image.imageId));
  return { images: plan.images, finals, parked, state, calls };
}

describe('the chaos verdict', () => {
  it('passes a run that went to plan, and counts its outcomes', () => {
    const verdict = verify(perfectRun());
    expect(verdict.mismatches).toEqual([]);
    expect([...verdict.outcomes.values()].reduce((sum, count) => sum + count, 0)).toBe(plan.images.length);
    expect(verdict.outcomes.get('compensated')).toBeGreaterThanOrEqual(1);
  });

  it('catches a template created twice', () => {
    const run = perfectRun();
    const compensated = firstOf('compensated');
    const template = compensated.templates[0];
    if (template === undefined) throw new Error('a compensated image has templates');
    run.calls.push(call('CreateTemplate', { TemplateName: template.templateName }, '2026-01-01T00:00:04Z'));
    expect(verify(run).mismatches.join('\n')).toContain(`template ${template.templateName} was created 2 times`);
  });

  it('catches a delete after a finished compensation, and a DeleteImage of a compensated image', () => {
    const run = perfectRun();
    const compensated = firstOf('compensated');
    const template = compensated.templates[0];
    if (template === undefined) throw new Error('a compensated image has templates');
    run.calls.push(call('DeleteTemplates', { 'TemplateIds.1': template.templateId }, '2026-01-01T00:00:05Z', 'InvalidTemplate.NotFound'));
    run.calls.push(call('DeleteImage', { ImageId: compensated.imageId, BizRegionId: compensated.regions[0] ?? '' }, '2026-01-01T00:00:00Z', 'InternalError'));
    const mismatches = verify(run).mismatches.join('\n');
    expect(mismatches).toContain('deletes after the compensation finished');
    expect(mismatches).toContain('DeleteImage was called before or during a compensation');
  });

  it('catches a compensation that fails with another type, or names another cause than the planned refusal', () => {
    const compensated = firstOf('compensated');
    const wrongType = perfectRun();
    wrongType.finals.set(compensated.imageId, { execution: 'FAILED', status: 'compensated', failureType: 'DeleteTemplate.Failed' });
    expect(verify(wrongType).mismatches.join('\n')).toContain(`${compensated.imageId} (compensated`);
    const wrongCause = perfectRun();
    wrongCause.finals.set(compensated.imageId, { execution: 'FAILED', status: 'compensated', failureType: 'Compensated', causeType: 'InternalError' });
    expect(verify(wrongCause).mismatches.join('\n')).toContain('compensated, caused by InternalError');
    const noCause = perfectRun();
    noCause.finals.set(compensated.imageId, { execution: 'FAILED', status: 'compensated', failureType: 'Compensated' });
    expect(verify(noCause).mismatches.join('\n')).toContain(`${compensated.imageId} (compensated`);
  });

  it('catches an image the workflow calls deleted that the emulator still has', () => {
    const run = perfectRun();
    const deleted = firstOf('deleted');
    run.state.images.push({ ...deleted.image, regions: [deleted.regions[0] ?? 'cn-hangzhou'] });
    expect(verify(run).mismatches.join('\n')).toContain(`${deleted.imageId} (deleted`);
  });

  it('catches a compensated template re-created without the content it was seeded with', () => {
    const run = perfectRun();
    const compensated = firstOf('compensated');
    const template = compensated.templates[0];
    if (template === undefined) throw new Error('a compensated image has templates');
    const restored = run.state.templates.find((candidate) => candidate.templateName === template.templateName);
    if (restored === undefined) throw new Error('the perfect run restores every template');
    restored['SystemDiskSize'] = 40;
    restored['RegionConfigList'] = [];
    expect(verify(run).mismatches.join('\n')).toContain(`template ${template.templateName} changed: SystemDiskSize, RegionConfigList`);
  });

  it('catches a rejected image whose template was touched', () => {
    const run = perfectRun();
    const rejected = firstOf('rejected', true);
    const template = rejected.templates[0];
    if (template === undefined) throw new Error('picked a rejected image with templates');
    run.calls.push(call('DeleteTemplates', { 'TemplateIds.1': template.templateId }, '2026-01-01T00:00:01Z'));
    expect(verify(run).mismatches.join('\n')).toContain('a rejected image was acted on');
  });

  it('catches a lost workflow, an unplanned park and a planned park that never happened', () => {
    const run = perfectRun();
    const deleted = firstOf('deleted');
    const parkedPlan = firstOf('deleted-after-retry');
    run.finals.delete(deleted.imageId);
    const parked = new Set([deleted.imageId]);
    const mismatches = verify({ ...run, parked }).mismatches.join('\n');
    expect(mismatches).toContain('lost (no workflow)');
    expect(mismatches).toContain('it parked, and the plan gives it no reason to');
    expect(mismatches).toContain(`${parkedPlan.imageId} (deleted-after-retry`);
  });
});
