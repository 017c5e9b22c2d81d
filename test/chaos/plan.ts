/**
 * The chaos run's plan, decided before anything starts: which images exist, how each
 * one must end (deleted, deleted after an operator's retry, rejected, compensated),
 * and the faults that make it end that way. The checks compare the run against this.
 */
import type { Fault, SeedImage, SeedInstance, SeedTemplate } from '../../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS } from '../../src/emulator/defaults.js';
import type { DeleteImageInput } from '../../src/workflows/input.js';
import type { SeededRandom } from './random.js';

export const CHAOS_REGIONS = [
  'ap-northeast-1',
  'ap-southeast-1',
  'cn-beijing',
  'cn-chengdu',
  'cn-hangzhou',
  'cn-hongkong',
  'cn-shanghai',
  'cn-shenzhen',
] as const;

/** How an image must end. */
export type PlannedOutcome =
  | { kind: 'deleted' }
  /** A region refuses (ImageNotAllowDelete) after the pivot until the run removes the fault, then `retry`. */
  | { kind: 'deleted-after-retry'; parkedRegion: string }
  | { kind: 'rejected'; code: string; because: string }
  /** One template refuses to be deleted for good: the budget is spent, the templates are re-created. */
  | { kind: 'compensated'; failingTemplateId: string };

export type OutcomeKind = PlannedOutcome['kind'];

export interface PlannedImage {
  imageId: string;
  /** Sorted, as the workflow orders them (so the pivot is the first one with regionConcurrency 1). */
  regions: string[];
  image: SeedImage;
  templates: SeedTemplate[];
  instances: SeedInstance[];
  outcome: PlannedOutcome;
  input: DeleteImageInput;
  /** Templates refused twice with DeleteTemplate.Failed: recovered within the template budget. */
  burstTemplateIds: string[];
}

/** Why a fault exists: the run removes `park` faults before retrying, and counts them all. */
export type FaultRole = 'burst' | 'compensate' | 'park' | 'transient' | 'latency';

export interface PlannedFault {
  role: FaultRole;
  /** The image the fault is about (none for the faults on every call). */
  imageId?: string;
  fault: Fault;
}

export interface ChaosPlan {
  images: PlannedImage[];
  /** In the order they must be added: specific faults first, so they fire before the random ones. */
  faults: PlannedFault[];
}

/**
 * Budgets every deletion runs with. The transient budget counts activity attempts; the
 * attempt with the most calls that must all succeed together is validateImage (the image
 * and its community and shared children: 3 calls), which with about 15% of calls failing
 * passes 61% of the time (0.85^3), so 12 attempts fail about one image in 100 000. (The
 * usage check keeps its progress across attempts, so its many calls do not add up.)
 */
export const CHAOS_INPUT = {
  retryInitialIntervalMs: 200,
  transientAttempts: 12,
  templateAttempts: 4,
} as const;

/** About 20% of all calls: three transient error codes and some added latency. */
export const TRANSIENT_FAULTS: readonly PlannedFault[] = [
  { role: 'latency', fault: { action: '*', latencyMs: 250, probability: 0.04, times: -1 } },
  { role: 'latency', fault: { action: '*', latencyMs: 2_000, probability: 0.01, times: -1 } },
  { role: 'transient', fault: { action: '*', code: 'InternalError', probability: 0.06, times: -1 } },
  { role: 'transient', fault: { action: '*', code: 'ServiceUnavailable', probability: 0.05, times: -1 } },
  { role: 'transient', fault: { action: '*', code: 'Throttling.User', probability: 0.05, times: -1 } },
];

const REJECTIONS = ['owner', 'shared', 'DesktopGroup', 'system', 'AppInstanceGroup', 'WuyingServer'] as const;
type Rejection = (typeof REJECTIONS)[number];

function share(total: number, fraction: number, minimum: number): number {
  return Math.max(minimum, Math.round(total * fraction));
}

export function planChaos(imageCount: number, random: SeededRandom): ChaosPlan {
  if (imageCount < 6) throw new Error('a chaos run needs at least 6 images (one of each outcome)');
  const runTag = random.token(5);
  const rejectedCount = share(imageCount, 0.12, 3);
  const compensatedCount = share(imageCount, 0.08, 1);
  const parkedCount = share(imageCount, 0.08, 1);
  const kinds: OutcomeKind[] = [
    ...Array<OutcomeKind>(rejectedCount).fill('rejected'),
    ...Array<OutcomeKind>(compensatedCount).fill('compensated'),
    ...Array<OutcomeKind>(parkedCount).fill('deleted-after-retry'),
  ];
  while (kinds.length < imageCount) kinds.push('deleted');

  const images: PlannedImage[] = [];
  const specific: PlannedFault[] = [];
  let rejectionIndex = 0;
  random.shuffle(kinds).forEach((kind, index) => {
    const imageId = `img-chaos${runTag}${String(index).padStart(4, '0')}`;
    const regionCount = kind === 'deleted-after-retry' ? random.int(2, 6) : random.int(1, 6);
    const regions = random.shuffle(CHAOS_REGIONS).slice(0, regionCount).sort();
    const templateCount = kind === 'compensated' ? random.int(1, 3) : random.int(0, 3);
    const templates = Array.from({ length: templateCount }, (_, position) => chaosTemplate(imageId, position, regions));
    const image: SeedImage = {
      imageId,
      imageName: `chaos ${imageId}`,
      imageType: 'User',
      aliUid: EMULATOR_DEFAULTS.accountId,
      status: 'AVAILABLE',
      productType: 'CloudDesktop',
      regions,
    };
    const instances: SeedInstance[] = [];
    const burstTemplateIds: string[] = [];
    let outcome: PlannedOutcome;
    let regionConcurrency = random.int(1, 4);

    if (kind === 'rejected') {
      const rejection: Rejection = REJECTIONS[rejectionIndex % REJECTIONS.length] ?? 'owner';
      rejectionIndex += 1;
      outcome = rejectWith(rejection, image, instances, random.pick(regions));
    } else if (kind === 'compensated') {
      const failing = random.pick(templates);
      outcome = { kind, failingTemplateId: failing.templateId };
      specific.push({
        role: 'compensate',
        imageId,
        fault: { action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: failing.templateId, times: -1 },
      });
    } else if (kind === 'deleted-after-retry') {
      // One region at a time: the first (sorted) region is deleted first, so the refusal comes after the pivot.
      regionConcurrency = 1;
      const parkedRegion = random.pick(regions.slice(1));
      outcome = { kind, parkedRegion };
      specific.push({
        role: 'park',
        imageId,
        fault: { action: 'DeleteImage', code: 'ImageNotAllowDelete', imageId, regionId: parkedRegion, times: -1 },
      });
    } else {
      outcome = { kind };
    }

    if ((kind === 'deleted' || kind === 'deleted-after-retry') && templates.length > 0 && random.next() < 0.3) {
      const bursting = random.pick(templates);
      burstTemplateIds.push(bursting.templateId);
      specific.push({
        role: 'burst',
        imageId,
        fault: { action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: bursting.templateId, times: 2 },
      });
    }

    images.push({
      imageId,
      regions,
      image,
      templates,
      instances,
      outcome,
      burstTemplateIds,
      input: { imageId, ...CHAOS_INPUT, regionConcurrency, reason: 'chaos run', requestedBy: 'chaos' },
    });
  });
  return { images, faults: [...specific, ...TRANSIENT_FAULTS] };
}

function chaosTemplate(imageId: string, position: number, regions: readonly string[]): SeedTemplate {
  const firstRegion = regions[0] ?? 'cn-shanghai';
  return {
    templateId: `b-${imageId.slice(4)}t${position}`,
    templateName: `chaos-${imageId}-t${position}`,
    imageId,
    Description: `template ${position} of ${imageId}, kept verbatim through a compensation`,
    TemplateType: 'USER_TEMPLATE',
    ProductType: 'CloudDesktop',
    SystemDiskSize: 80 + position * 20,
    RegionConfigList: [{ RegionId: firstRegion, OfficeSiteId: `${firstRegion}+dir-chaos`, ResourceInstanceType: 'eds.enterprise_office.4c8g' }],
  };
}

/** Makes `image` one the validation refuses, and says with which code. */
function rejectWith(rejection: Rejection, image: SeedImage, instances: SeedInstance[], usedIn: string): PlannedOutcome {
  switch (rejection) {
    case 'owner':
      image.aliUid = EMULATOR_DEFAULTS.otherAccountId;
      return { kind: 'rejected', code: 'ImageDeleteFailed.NotAllow', because: 'owned by another account' };
    case 'shared':
      image.imageType = 'Shared';
      return { kind: 'rejected', code: 'ImageDeleteFailed.NotAllowSharedImage', because: 'a shared image' };
    case 'system':
      image.imageType = 'System';
      return { kind: 'rejected', code: 'ImageDeleteFailed.NotAllow', because: 'a system image' };
    default: {
      const prefix = rejection === 'AppInstanceGroup' ? 'aig' : rejection === 'WuyingServer' ? 'ws' : 'dg';
      instances.push({ kind: rejection, id: `${prefix}-${image.imageId.slice(4)}`, imageId: image.imageId, regionId: usedIn });
      return { kind: 'rejected', code: 'ImageNotAllowDelete', because: `used by a ${rejection}` };
    }
  }
}
