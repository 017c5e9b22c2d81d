/**
 * The deletion rules of deletion-saga.md §1, as a pure function over what the
 * cloud told us. The order follows the cloud's own DeleteImage refusals.
 */
import { ImgdelCode } from '../cloud/errors.js';
import type { CloudImage, ImageUsage } from '../cloud/port.js';

export interface Refusal {
  code: string;
  /** What is wrong with this particular image, in plain words. */
  reason: string;
}

export function refusalFor(image: CloudImage, accountId: string): Refusal | undefined {
  if (image.imageType === 'Shared') {
    return { code: 'ImageDeleteFailed.NotAllowSharedImage', reason: `${image.imageId} is a shared image` };
  }
  if (image.imageType !== 'User') {
    return { code: 'ImageDeleteFailed.NotAllow', reason: `${image.imageId} is a ${image.imageType} image, not a custom one` };
  }
  if (image.ownerAccountId !== accountId) {
    return {
      code: 'ImageDeleteFailed.NotAllow',
      reason: `${image.imageId} belongs to account ${image.ownerAccountId}, not to ${accountId}`,
    };
  }
  if (image.hasCommunityChildren) {
    return { code: 'ImageDeleteFailed.NotAllowCommunityParent', reason: `a community image was published from ${image.imageId}` };
  }
  if (image.hasSharedChildren) {
    return { code: 'ImageDeleteFailed.HasSharedImage', reason: `${image.imageId} has shared copies` };
  }
  return undefined;
}

/**
 * imgdel's own refusal (no cloud code says it): the image is listed but has no regional copy.
 * Checked once the image is no longer being created (a new image may get its regions late).
 */
export function noRegionsRefusal(image: CloudImage): Refusal | undefined {
  if (image.regions.length > 0) return undefined;
  return { code: ImgdelCode.ImageHasNoRegions, reason: `${image.imageId} is not in any region (ImageRegionList and ImageRegionDistributeList are empty)` };
}

export function isStillCreating(image: CloudImage): boolean {
  return image.status === 'CREATING' || image.status === 'INIT';
}

export function describeUsages(usages: readonly ImageUsage[]): string {
  const shown = usages.slice(0, 5).map((usage) => `${usage.kind} ${usage.id} in ${usage.regionId}`);
  const more = usages.length > shown.length ? ` and ${usages.length - shown.length} more` : '';
  return `${shown.join(', ')}${more}`;
}
