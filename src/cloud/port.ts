/**
 * The cloud port: exactly the operations the deletion saga needs, in domain terms.
 * Nothing outside src/cloud/ knows about HTTP, signatures or wire field names;
 * every failure leaves the port as a CloudError (see errors.ts), except an abandoned call (CallOptions).
 */
import { z } from 'zod';

export const imageTypeSchema = z.enum(['User', 'Shared', 'System', 'Community']);
export type ImageType = z.infer<typeof imageTypeSchema>;

export const imageStatusSchema = z.enum(['AVAILABLE', 'INIT', 'CREATING', 'CREATE_FAILED']);
export type ImageStatus = z.infer<typeof imageStatusSchema>;

export const productTypeSchema = z.enum(['CloudDesktop', 'CloudApp', 'WuyingServer']);
export type ProductType = z.infer<typeof productTypeSchema>;

/** One custom image as the saga sees it. */
export interface CloudImage {
  imageId: string;
  imageName: string;
  imageType: ImageType;
  /** Owner account id (the wire's AliUid), as a string of digits. */
  ownerAccountId: string;
  status: ImageStatus;
  productType: ProductType;
  parentImageId?: string;
  /** Regions the image still has a copy in. */
  regions: string[];
  /** Some Community image names this one as its parent. */
  hasCommunityChildren: boolean;
  /** Some Shared image names this one as its parent. */
  hasSharedChildren: boolean;
}

export const usageKindSchema = z.enum(['AppInstanceGroup', 'WuyingServer', 'DesktopGroup']);
export type UsageKind = z.infer<typeof usageKindSchema>;

/**
 * One place to look for what uses an image: app instance groups and workstations are
 * listed account-wide, desktop groups region by region. The saga checks the sources one
 * by one so that a retry only repeats the ones that failed.
 */
export type UsageSource =
  | { kind: 'AppInstanceGroup' }
  | { kind: 'WuyingServer' }
  | { kind: 'DesktopGroup'; regionId: string };

export function usageSourcesFor(regions: readonly string[]): UsageSource[] {
  return [
    { kind: 'AppInstanceGroup' },
    { kind: 'WuyingServer' },
    ...[...new Set(regions)].map((regionId): UsageSource => ({ kind: 'DesktopGroup', regionId })),
  ];
}

export function usageSourceKey(source: UsageSource): string {
  return source.kind === 'DesktopGroup' ? `${source.kind}@${source.regionId}` : source.kind;
}

/** Something that runs on the image and so blocks its deletion. */
export interface ImageUsage {
  kind: UsageKind;
  id: string;
  regionId: string;
  status?: string;
}

/**
 * A full snapshot of a CloudDesktop template, enough to re-create it.
 * `fields` holds every other field the cloud returned (wire names, as returned),
 * so a re-creation loses nothing the API gave us.
 */
export const templateSnapshotSchema = z.object({
  templateId: z.string().min(1),
  templateName: z.string().min(1),
  imageId: z.string().min(1),
  fields: z.record(z.string(), z.unknown()),
});
export type TemplateSnapshot = z.infer<typeof templateSnapshotSchema>;

/** What every mutating call returns: the cloud's request id, for the report. */
export interface CallReceipt {
  requestId: string;
}

export interface RecreatedTemplate extends CallReceipt {
  templateId: string;
  /** false when the snapshot's template (same name and image, not claimed for another snapshot) already existed. */
  created: boolean;
}

/**
 * What every operation accepts. `signal`: the caller no longer waits (its activity was cancelled,
 * or its worker is shutting down). The operation then rejects at once with the signal's reason,
 * not a CloudError, and abandons its request on the wire; a read other callers share goes on for
 * them. An abandoned write may still have landed: the saga reads what is gone before it decides.
 */
export interface CallOptions {
  /** Abandons the call, waiting or on the wire. */
  signal?: AbortSignal;
  /**
   * Abandons the call only while it has not been sent (waiting for the rate limiter or the
   * credentials): a write nobody may hear of once it is on its way can still be dropped before.
   */
  unsentSignal?: AbortSignal;
}

export interface CloudPort {
  /** Reads one image; throws CloudError `Image.NotExist` when there is none. */
  getImage(imageId: string, options?: CallOptions): Promise<CloudImage>;
  /**
   * The regions that still hold a copy of the image, read as the plan reads them (a region is gone
   * only when no list names it), without the account-wide lists getImage also reads; throws
   * `Image.NotExist` when there is no image.
   */
  imageRegions(imageId: string, options?: CallOptions): Promise<string[]>;
  /** Everything of one source (see usageSourcesFor) that uses the image. */
  listImageUsages(imageId: string, source: UsageSource, options?: CallOptions): Promise<ImageUsage[]>;
  /** Every CloudDesktop template that references the image, as full snapshots. */
  listTemplates(imageId: string, options?: CallOptions): Promise<TemplateSnapshot[]>;
  /** Deletes one template; throws CloudError `InvalidTemplate.NotFound` when it is already gone. */
  deleteTemplate(templateId: string, options?: CallOptions): Promise<CallReceipt>;
  /**
   * Re-creates a template from its snapshot unless one exists with the same name and image.
   * `claimedTemplateIds`: templates already restored for other snapshots in this compensation,
   * which never count as this snapshot's (two deleted templates with one name).
   */
  recreateTemplate(
    snapshot: TemplateSnapshot,
    claimedTemplateIds?: readonly string[],
    options?: CallOptions,
  ): Promise<RecreatedTemplate>;
  /** Deletes the image's copy in one region; throws `Image.NotExist` when that copy is already gone. */
  deleteImageInRegion(imageId: string, regionId: string, options?: CallOptions): Promise<CallReceipt>;
  /** True when the image has no copy left in the region (or no longer exists at all). */
  isImageGoneFromRegion(imageId: string, regionId: string, options?: CallOptions): Promise<boolean>;
}
