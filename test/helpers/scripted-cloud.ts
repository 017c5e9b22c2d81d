/**
 * A scripted CloudPort for workflow tests: the real activities run on top of it, so
 * these tests exercise the workflow with every classification and budget decision
 * of the activity layer, while each test says exactly what "the cloud" answers.
 * End-to-end tests use the real adapter against the emulator instead.
 */
import { Context } from '@temporalio/activity';
import { CloudError } from '../../src/cloud/errors.js';
import { usageSourceKey, type CloudImage, type CloudPort, type ImageUsage, type RecreatedTemplate, type TemplateSnapshot } from '../../src/cloud/port.js';

export const ACCOUNT = '1234567890123456';

/** What a scripted call does: succeed, fail with a cloud code, or hang until cancelled. */
export type Answer = 'ok' | 'hang' | { code: string } | SlowAnswer | HeldAnswer | CancelHeardAnswer;

type Outcome = 'ok' | { code: string };

/** Answers after `delayMs`, like a request already on the wire: cancelling the activity does not stop it. */
export interface SlowAnswer {
  delayMs: number;
  then: Outcome;
}

/** Answers once `heldUntil` settles (the test decides when), like a request on the wire. */
export interface HeldAnswer {
  heldUntil: Promise<unknown>;
  then: Outcome;
}

/**
 * Answers once its activity has heard that it is cancelled: a request still on the wire when the
 * cancellation comes, whatever the machine's speed. It heartbeats meanwhile, which is how an
 * activity hears of a cancellation.
 */
export interface CancelHeardAnswer {
  untilCancelHeard: true;
  then: Outcome;
}

export interface CloudScript {
  image?: Partial<CloudImage> | { code: string };
  usages?: ImageUsage[];
  /** Called per usage look-up; `source` is usageSourceKey(source), `call` counts from 1 per source. */
  listUsages?: (source: string, call: number) => Answer;
  templates?: TemplateSnapshot[];
  /** What DescribeTemplates lists, from the image's templates (default: each once), e.g. one twice as overlapping pages would. */
  listedTemplates?: (templates: TemplateSnapshot[]) => TemplateSnapshot[];
  /** Called per DeleteTemplates call; `call` counts from 1 per template. */
  deleteTemplate?: (templateId: string, call: number) => Answer;
  /** A DeleteTemplates call scripted to fail that the cloud applies all the same, this many ms later (its answer lost); undefined: not applied. */
  deleteTemplateLandsAfterMs?: (templateId: string, call: number) => number | undefined;
  /** Called per DeleteImage call; `call` counts from 1 per region. */
  deleteRegion?: (regionId: string, call: number) => Answer;
  /** Whether a DeleteImage call scripted to fail removed the copy all the same (an answer lost on the way back). */
  deleteRegionApplied?: (regionId: string, call: number) => boolean;
  /** Called per CreateTemplate (compensation); `call` counts from 1 per template name. */
  recreateTemplate?: (templateName: string, call: number) => Answer;
  /** Regions whose copy the confirmation still finds listed after an accepted delete (an eventually consistent list). */
  stillListed?: (regionId: string) => boolean;
  /** Called per confirmation read (ListImage after a region's delete); `call` counts from 1 per region. Default: 'ok'. */
  confirmRegion?: (regionId: string, call: number) => Answer;
  /** Regions still holding the image when asked after a cancellation or a failed region delete; default: as the cloud's state says. */
  remainingRegions?: () => string[];
}

export interface ScriptedCloud extends CloudPort {
  readonly calls: string[];
  readonly recreated: string[];
  script: CloudScript;
}

export function template(templateId: string, imageId: string, name = `tpl-${templateId}`): TemplateSnapshot {
  return { templateId, templateName: name, imageId, fields: { Description: `template ${name}`, SystemDiskSize: 80 } };
}

function cloudError(code: string, action: string): CloudError {
  return new CloudError({ code, message: `scripted ${code}`, httpStatus: code === 'ServiceUnavailable' ? 500 : 400, requestId: `req-${action}`, action });
}

/** Waits, heartbeating, until the activity is cancelled (or the test ends). */
async function hangUntilCancelled(): Promise<never> {
  const context = Context.current();
  for (;;) {
    context.heartbeat();
    await context.sleep(50);
  }
}

async function untilCancelHeard(): Promise<void> {
  const context = Context.current();
  while (!context.cancellationSignal.aborted) {
    context.heartbeat();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function answer(value: Answer, action: string): Promise<void> {
  if (value === 'ok') return;
  if (value === 'hang') await hangUntilCancelled();
  else if ('delayMs' in value) {
    await new Promise((resolve) => setTimeout(resolve, value.delayMs));
    await answer(value.then, action);
  } else if ('heldUntil' in value) {
    await value.heldUntil;
    await answer(value.then, action);
  } else if ('untilCancelHeard' in value) {
    await untilCancelHeard();
    await answer(value.then, action);
  } else throw cloudError(value.code, action);
}

export function scriptedCloud(imageId: string, regions: string[], script: CloudScript = {}): ScriptedCloud {
  const calls: string[] = [];
  const recreated: string[] = [];
  const remaining = new Set(regions);
  const existingTemplates = new Map((script.templates ?? []).map((t) => [t.templateId, t]));
  const counters = new Map<string, number>();
  const next = (key: string) => {
    const value = (counters.get(key) ?? 0) + 1;
    counters.set(key, value);
    return value;
  };

  const cloud: ScriptedCloud = {
    calls,
    recreated,
    script,
    async getImage(id) {
      calls.push(`getImage ${id}`);
      const image = cloud.script.image;
      if (id !== imageId) throw cloudError('Image.NotExist', 'ListImage');
      if (image && 'code' in image) throw cloudError(image.code, 'ListImage');
      return {
        imageId: id,
        imageName: `image ${id}`,
        imageType: 'User',
        ownerAccountId: ACCOUNT,
        status: 'AVAILABLE',
        productType: 'CloudDesktop',
        hasCommunityChildren: false,
        hasSharedChildren: false,
        ...image,
        regions: image?.regions ?? [...remaining],
      };
    },
    async imageRegions(id) {
      calls.push(`imageRegions ${id}`);
      const image = cloud.script.image;
      if (id !== imageId) throw cloudError('Image.NotExist', 'ListImage');
      if (image && 'code' in image) throw cloudError(image.code, 'ListImage');
      // After a cancellation or a failed region delete the workflow asks which regions remain; a script can override the truth.
      return cloud.script.remainingRegions?.() ?? image?.regions ?? [...remaining];
    },
    async listImageUsages(_id, source) {
      const key = usageSourceKey(source);
      calls.push(`listImageUsages ${key}`);
      await answer(cloud.script.listUsages?.(key, next(`usages:${key}`)) ?? 'ok', 'ListUsages');
      return (cloud.script.usages ?? []).filter(
        (usage) => usage.kind === source.kind && (source.kind !== 'DesktopGroup' || usage.regionId === source.regionId),
      );
    },
    async listTemplates(id) {
      calls.push(`listTemplates ${id}`);
      const templates = [...existingTemplates.values()].filter((t) => t.imageId === id);
      return cloud.script.listedTemplates?.(templates) ?? templates;
    },
    async deleteTemplate(templateId) {
      calls.push(`deleteTemplate ${templateId}`);
      const call = next(`template:${templateId}`);
      const landsAfterMs = cloud.script.deleteTemplateLandsAfterMs?.(templateId, call);
      if (landsAfterMs !== undefined) setTimeout(() => existingTemplates.delete(templateId), landsAfterMs);
      await answer(cloud.script.deleteTemplate?.(templateId, call) ?? 'ok', 'DeleteTemplates');
      if (!existingTemplates.delete(templateId)) throw cloudError('InvalidTemplate.NotFound', 'DeleteTemplates');
      return { requestId: `req-delete-${templateId}` };
    },
    async recreateTemplate(snapshot, claimedTemplateIds = []): Promise<RecreatedTemplate> {
      calls.push(`recreateTemplate ${snapshot.templateName}`);
      await answer(cloud.script.recreateTemplate?.(snapshot.templateName, next(`recreate:${snapshot.templateName}`)) ?? 'ok', 'CreateTemplate');
      // As the adapter: a template the caller already claimed is never this snapshot's.
      const existing = [...existingTemplates.values()].find(
        (t) => t.templateName === snapshot.templateName && t.imageId === snapshot.imageId && !claimedTemplateIds.includes(t.templateId),
      );
      if (existing) return { templateId: existing.templateId, created: false, requestId: 'req-describe' };
      const templateId = `${snapshot.templateId}-r`;
      existingTemplates.set(templateId, { ...snapshot, templateId });
      recreated.push(snapshot.templateName);
      return { templateId, created: true, requestId: 'req-create' };
    },
    async deleteImageInRegion(id, regionId) {
      calls.push(`deleteImageInRegion ${regionId}`);
      if (id !== imageId) throw cloudError('Image.NotExist', 'DeleteImage');
      const call = next(`region:${regionId}`);
      const scripted = cloud.script.deleteRegion?.(regionId, call) ?? 'ok';
      // "Already gone" must be true of the state too, or the confirmation would wait forever.
      if (typeof scripted === 'object' && 'code' in scripted && scripted.code === 'Image.NotExist') remaining.delete(regionId);
      if (cloud.script.deleteRegionApplied?.(regionId, call)) remaining.delete(regionId);
      await answer(scripted, 'DeleteImage');
      if (!remaining.delete(regionId)) throw cloudError('Image.NotExist', 'DeleteImage');
      return { requestId: `req-delete-${regionId}` };
    },
    async isImageGoneFromRegion(_id, regionId) {
      await answer(cloud.script.confirmRegion?.(regionId, next(`confirm:${regionId}`)) ?? 'ok', 'ListImage');
      return !remaining.has(regionId) && cloud.script.stillListed?.(regionId) !== true;
    },
  };
  return cloud;
}
