/**
 * The throughput baseline (P2): a workflow with the same activities, in the same order
 * and with the same parallelism, retry policies and bounded concurrency as one deletion
 * (validate → usage ‖ templates → template deletes → region deletes), whose activities
 * do nothing. imgdel's throughput over this one's is what imgdel adds on top of Temporal.
 * With `statusWrites` (started like a deletion, with its search attributes) it also
 * writes the final status as a deletion does: an experiment that separates the cost of
 * imgdel's search attributes from that of its cloud calls (`--noop-status-writes`).
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { runBounded } from '../src/workflows/bounded.js';
import { resolveInput } from '../src/workflows/input.js';
import { SEARCH_STATUS, deletionStatusKey, imageIdKey } from '../src/workflows/model.js';
import { activityOptionsFor } from '../src/workflows/retry-policies.js';
import type { NoopActivities } from './noop-activities.js';

export const NOOP_WORKFLOW_TYPE = 'noopDeletion';

export interface NoopDeletionInput {
  imageId: string;
  regions: string[];
  templates: string[];
  statusWrites?: boolean;
  /**
   * An experiment (`--noop-payload-bytes`): every activity answer and the result carry this many
   * bytes more, so the baseline's history is as large as a deletion's.
   */
  payloadBytes?: number;
}

/** What a deletion started by the imgdel client writes besides its activities: its final status. */
function writeFinalStatus(input: NoopDeletionInput): void {
  if (!input.statusWrites) return;
  upsertSearchAttributes([
    { key: imageIdKey, value: input.imageId },
    { key: deletionStatusKey, value: SEARCH_STATUS.deleted },
  ]);
}

export async function noopDeletion(input: NoopDeletionInput): Promise<number | { activities: number; pad: string }> {
  const resolved = resolveInput({ imageId: input.imageId });
  const options = activityOptionsFor(resolved);
  const reads = proxyActivities<NoopActivities>(options.reads);
  const templateActs = proxyActivities<NoopActivities>(options.templateDelete);
  const regionActs = proxyActivities<NoopActivities>(options.regionDelete);

  // Without the experiment, requests and answers are exactly what they always were.
  const padBytes = input.payloadBytes ? input.payloadBytes : undefined;
  const padded = padBytes === undefined ? {} : { padBytes };
  const plan = await reads.validateImage({ imageId: input.imageId, regions: input.regions, ...padded });
  const [, listed] = await Promise.all([
    reads.checkImageUsage({ imageId: input.imageId, regions: plan.regions, ...padded }),
    reads.listTemplates({ imageId: input.imageId, templates: input.templates, ...padded }),
  ]);
  const templates = Array.isArray(listed) ? listed : listed.templates;
  await runBounded(templates, resolved.regionConcurrency, (templateId) =>
    padBytes === undefined ? templateActs.deleteTemplate(templateId) : templateActs.deleteTemplate(templateId, padBytes),
  );
  await runBounded(plan.regions, resolved.regionConcurrency, (regionId) =>
    regionActs.deleteImageInRegion({ imageId: input.imageId, regionId, ...padded }),
  );
  writeFinalStatus(input);
  const activities = 1 + 2 + templates.length + plan.regions.length;
  return padBytes === undefined ? activities : { activities, pad: 'x'.repeat(padBytes) };
}
