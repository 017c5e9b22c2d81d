/**
 * The real CloudPort: App Streaming (appstream-center 2021-09-01) and Elastic Desktop
 * (ecd 2020-09-30) through the official runtime. The same adapter reaches the public
 * endpoints or, with IMGDEL_CLOUD_ENDPOINT, the local emulator.
 */
import type { z } from 'zod';
import type { CloudConfig } from '../config.js';
import type { CloudAction } from './actions.js';
import { classify, CloudError, isCloudError, SyntheticCode } from './errors.js';
import { BatchedReads, CoalescedReads, SharedReads, WritesUnderWay, type BatchWindow } from './shared-reads.js';
import { OpenApiRpcCaller, type CallEvent, type ProductKey, type RpcCallerOptions } from './openapi-client.js';
import type { CallOptions, CallReceipt, CloudImage, CloudPort, ImageUsage, RecreatedTemplate, TemplateSnapshot, UsageSource } from './port.js';
import {
  appInstanceGroupUsage,
  createTemplateParams,
  createTemplateResponseSchema,
  deleteImageResponseSchema,
  deleteTemplatesResponseSchema,
  describeDesktopGroupsResponseSchema,
  describeIssues,
  describeTemplatesResponseSchema,
  desktopGroupUsage,
  listAppInstanceGroupResponseSchema,
  listImageParentsResponseSchema,
  listImageResponseSchema,
  listWuyingServerResponseSchema,
  isRestorationOf,
  regionsOf,
  toCloudImage,
  toTemplateSnapshot,
  wuyingServerUsage,
  type WireImage,
} from './wire.js';

export interface AlibabaCloudAdapterOptions {
  /** Called after every cloud call (success or failure), e.g. for metrics. */
  onCall?: (event: CallEvent) => void;
  rateLimiter?: RpcCallerOptions['rateLimiter'];
  /** How long an account-wide children list is shared (default ACCOUNT_LISTS_MAX_AGE_MS). */
  accountListsMaxAgeMs?: number;
}

/** ListImage and the other page-numbered lists accept at most 100 per page. */
const PAGE_SIZE = 100;
/** A guard against a cloud (or emulator) that never ends a list. */
const MAX_PAGES = 1000;
/**
 * How long an account-wide list of Community or Shared images is shared by the validations
 * that follow it: a bulk deletion validates many images a second, and these lists (all the
 * account's images of one type, possibly many pages) are the same for all of them. A child
 * made from an image within this time is found by the cloud instead, which refuses to delete
 * the image; before the pivot that is compensated like any other refusal.
 */
export const ACCOUNT_LISTS_MAX_AGE_MS = 2_000;
/**
 * How long a region's confirmation waits for the other regions of its image to ask too: the
 * regions of one image are deleted together, and one ListImage shows every region's copy, so
 * their confirmations share one read. The read also waits for the image's region deletes this
 * worker has sent and not yet heard back from (`npm run bench`, P2: cloud calls per deletion).
 */
const CONFIRMATION_WINDOW_MS = 20;
/**
 * How long a usage check waits for other images' checks to share its DescribeDesktopGroups call
 * in a region, up to IMGDEL_USAGE_CHECK_BATCH images a call (10 by default; a full call goes at
 * once). A lone check, on its deletion's critical path (P1), goes at once (checks asked in the
 * same turn of the event loop still share it); while other checks keep coming (a call went out in
 * that region within the last second: a bulk deletion) one waits up to 250 ms, so more of them
 * share a call (`npm run bench`, P2: cloud calls per deletion). A bulk deletion's first check per
 * region goes alone: one call more per region, against 50 ms off every lone deletion.
 * ASSUMPTION (docs/app-streaming-api.md, what uses an image): the API takes ImageId.N as a list,
 * as the official SDKs type it; it documents no largest N, hence the small default, and
 * IMGDEL_USAGE_CHECK_BATCH=1 asks for each image alone.
 */
const DESKTOP_GROUP_BATCH_WINDOW: BatchWindow = { quietMs: 0, busyMs: 250, busyWithinMs: 1_000 };

export function createAlibabaCloudAdapter(cloud: CloudConfig, options: AlibabaCloudAdapterOptions = {}): CloudPort {
  const caller = new OpenApiRpcCaller(cloud, options);
  /** Global (non-regional) App Streaming calls and the templates go to the configured region. */
  const homeRegion = cloud.region;

  async function call<Schema extends z.ZodType>(
    product: ProductKey,
    regionId: string,
    action: CloudAction,
    params: Record<string, unknown>,
    schema: Schema,
    { signal, unsentSignal, onSending }: CallOptions & { onSending?: () => void } = {},
  ): Promise<z.output<Schema>> {
    const body = await caller.call({
      product,
      regionId,
      action,
      params,
      ...(onSending ? { onSending } : {}),
      ...(signal ? { signal } : {}),
      ...(unsentSignal ? { unsentSignal } : {}),
    });
    rejectUnsuccessfulBody(action, body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new CloudError({
        code: SyntheticCode.MalformedResponse,
        message: `${action} answered with an unexpected response: ${describeIssues(parsed.error)}`,
        ...requestIdOf(body),
        action,
      });
    }
    return parsed.data;
  }

  /**
   * Pages a PageNumber/PageSize list. With a total, until that many items arrived: a service
   * may cap its pages below the PageSize asked for, so a short page ends nothing; an empty page
   * before the total is a broken list. Only without a total does a short page end the list.
   */
  async function pageNumbered<Item>(
    list: CloudAction,
    fetchPage: (pageNumber: number) => Promise<{ items: Item[]; total: number | null | undefined; requestId: string }>,
  ): Promise<Item[]> {
    const all: Item[] = [];
    for (let pageNumber = 1; pageNumber <= MAX_PAGES; pageNumber += 1) {
      const { items, total, requestId } = await fetchPage(pageNumber);
      all.push(...items);
      if (typeof total !== 'number') {
        if (items.length < PAGE_SIZE) return all;
        continue;
      }
      if (all.length >= total) return all;
      if (items.length === 0) {
        throw new CloudError({
          code: SyntheticCode.MalformedResponse,
          message: `${list} ended after ${all.length} of the ${total} items it announced (page ${pageNumber} was empty)`,
          requestId,
          action: list,
        });
      }
    }
    throw pagingRunaway(list);
  }

  async function findImage(imageId: string, signal?: AbortSignal): Promise<{ image: WireImage | undefined; requestId: string }> {
    const response = await call(
      'appstream',
      homeRegion,
      'ListImage',
      { ImageId: imageId, PageSize: PAGE_SIZE, PageNumber: 1 },
      listImageResponseSchema,
      { signal },
    );
    // The filter is ours to enforce: only an exact id counts.
    return { image: response.Data.find((image) => image.ImageId === imageId), requestId: response.RequestId };
  }

  /**
   * ASSUMPTION (docs/app-streaming-api.md, ListImage): the API has no flag for "parent of
   * a community image" or "has shared images", so an image has such children when some
   * image of ImageType `Community` (resp. `Shared`) names it as its ParentImageId. This
   * function and the one below are the only places that know it.
   *
   * The lists are account-wide, the same for every image, so validations share one read of
   * each for ACCOUNT_LISTS_MAX_AGE_MS (a bulk deletion sends far fewer ListImage calls); the
   * cloud still refuses to delete a parent.
   */
  const childrenLists = new SharedReads<ReadonlySet<string>>(options.accountListsMaxAgeMs ?? ACCOUNT_LISTS_MAX_AGE_MS);
  function parentsOfImagesOfType(imageType: 'Community' | 'Shared', signal?: AbortSignal): Promise<ReadonlySet<string>> {
    return childrenLists.read(
      imageType,
      async (readSignal) => {
        const images = await pageNumbered('ListImage', async (pageNumber) => {
          const page = await call(
            'appstream',
            homeRegion,
            'ListImage',
            { ImageType: imageType, PageSize: PAGE_SIZE, PageNumber: pageNumber },
            listImageParentsResponseSchema,
            { signal: readSignal },
          );
          return { items: page.Data, total: page.Count, requestId: page.RequestId };
        });
        // The filter is ours to enforce: an image answered with another type is not such a child
        // (one answered without a type is taken as the filter says).
        const ofType = images.filter((image) => image.ImageType === undefined || image.ImageType === imageType);
        return new Set(ofType.flatMap((image) => (image.ParentImageId ? [image.ParentImageId] : [])));
      },
      signal,
    );
  }

  /** Whether some image of `imageType` names `imageId` as its parent. */
  async function hasChildrenOfType(imageId: string, imageType: 'Community' | 'Shared', signal?: AbortSignal): Promise<boolean> {
    return (await parentsOfImagesOfType(imageType, signal)).has(imageId);
  }

  /** Region deletes per image, from the moment they are sent (not while the rate limiter holds them). */
  const regionDeletes = new WritesUnderWay();
  const confirmations = new CoalescedReads<{ image: WireImage | undefined; requestId: string }>(
    CONFIRMATION_WINDOW_MS,
    regionDeletes,
  );

  /**
   * The desktop groups of each image asked, in one region: DescribeDesktopGroups filters by a
   * list of images (ImageId.N), so the usage checks of a bulk deletion share calls
   * (desktopGroupChecks below). Asked for one image, every group answered counts as that
   * image's; for several, each group's ImageId says whose it is, and an answer that does not
   * name one of them cannot be split (BatchedReads then asks for each image alone).
   */
  async function desktopGroupsIn(
    regionId: string,
    imageIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<string, ImageUsage[]>> {
    const usages = new Map(imageIds.map((imageId): [string, ImageUsage[]] => [imageId, []]));
    const [onlyImage] = imageIds;
    let nextToken: string | undefined;
    const seenTokens = new Set<string>();
    for (let pageCount = 0; pageCount < MAX_PAGES; pageCount += 1) {
      const page = await call(
        'ecd',
        regionId,
        'DescribeDesktopGroups',
        {
          RegionId: regionId,
          ...Object.fromEntries(imageIds.map((imageId, index) => [`ImageId.${index + 1}`, imageId])),
          MaxResults: PAGE_SIZE,
          ...(nextToken ? { NextToken: nextToken } : {}),
        },
        describeDesktopGroupsResponseSchema,
        { signal },
      );
      for (const group of page.DesktopGroups) {
        const imageId = imageIds.length === 1 ? onlyImage : group.ImageId;
        const usagesOfImage = imageId === undefined ? undefined : usages.get(imageId);
        if (usagesOfImage === undefined) {
          throw new CloudError({
            code: SyntheticCode.MalformedResponse,
            message: `DescribeDesktopGroups in ${regionId} answered desktop group ${group.DesktopGroupId} without one of the images asked for (ImageId ${JSON.stringify(group.ImageId) ?? 'missing'})`,
            requestId: page.RequestId,
            action: 'DescribeDesktopGroups',
          });
        }
        usagesOfImage.push(desktopGroupUsage(group, regionId));
      }
      if (!page.NextToken) return usages;
      // A token seen before would page in a circle: the list is broken, not complete.
      if (seenTokens.has(page.NextToken)) {
        throw new CloudError({
          code: SyntheticCode.MalformedResponse,
          message: `DescribeDesktopGroups in ${regionId} answered NextToken ${JSON.stringify(page.NextToken)} a second time`,
          requestId: page.RequestId,
          action: 'DescribeDesktopGroups',
        });
      }
      seenTokens.add(page.NextToken);
      nextToken = page.NextToken;
    }
    throw pagingRunaway('DescribeDesktopGroups');
  }
  const desktopGroupChecks = new BatchedReads<ImageUsage[]>(
    DESKTOP_GROUP_BATCH_WINDOW,
    cloud.usageCheckBatch,
    desktopGroupsIn,
    // A transient failure is the service's, not one image's: each check's activity retries it. A
    // malformed answer is transient too, but may be about the images asked (one that cannot be
    // split): asked per image, each check then gets an answer of its own.
    (error) =>
      isCloudError(error) &&
      error.code !== SyntheticCode.MalformedResponse &&
      classify(error.code, 'validate', error.httpStatus) === 'transient',
  );

  async function findTemplates(
    filter: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ templates: TemplateSnapshot[]; requestId: string }> {
    let requestId = '';
    const templates = await pageNumbered('DescribeTemplates', async (pageNumber) => {
      const page = await call(
        'ecd',
        homeRegion,
        'DescribeTemplates',
        { ...filter, PageSize: PAGE_SIZE, PageNumber: pageNumber },
        describeTemplatesResponseSchema,
        { signal },
      );
      requestId = page.RequestId;
      return { items: page.Data, total: page.TotalCount, requestId: page.RequestId };
    });
    return { templates: templates.map(toTemplateSnapshot), requestId };
  }

  return {
    async getImage(imageId: string, { signal }: CallOptions = {}): Promise<CloudImage> {
      // The children look-ups need nothing from the image's own ListImage: asking all three at
      // once takes one round trip instead of two (measured by `npm run bench`, P1). The image's
      // own answer is looked at first: a missing image is Image.NotExist (final) even when a
      // children list failed with something retryable.
      const [found, community, shared] = await Promise.allSettled([
        findImage(imageId, signal),
        hasChildrenOfType(imageId, 'Community', signal),
        hasChildrenOfType(imageId, 'Shared', signal),
      ]);
      const { image, requestId } = settledValue(found);
      if (!image) throw imageNotExist(imageId, requestId);
      return toCloudImage(image, {
        hasCommunityChildren: settledValue(community),
        hasSharedChildren: settledValue(shared),
      });
    },

    async imageRegions(imageId: string, { signal }: CallOptions = {}): Promise<string[]> {
      // One ListImage: after a cancellation or a failed delete only the image's own regions matter.
      // Read as the plan reads them (either list): a region counts as gone only when neither names
      // it, since the saga passes the pivot on that answer.
      const { image, requestId } = await findImage(imageId, signal);
      if (!image) throw imageNotExist(imageId, requestId);
      return regionsOf(image, 'plan');
    },

    async listImageUsages(imageId: string, source: UsageSource, { signal }: CallOptions = {}): Promise<ImageUsage[]> {
      // App instance groups and workstations are listed account-wide (not filtered by
      // region): anything anywhere that runs on the image blocks its deletion.
      const appInstanceGroups = () => pageNumbered('ListAppInstanceGroup', async (pageNumber) => {
        const page = await call(
          'appstream',
          homeRegion,
          'ListAppInstanceGroup',
          { ProductType: 'CloudApp', AppCenterImageId: imageId, PageSize: PAGE_SIZE, PageNumber: pageNumber },
          listAppInstanceGroupResponseSchema,
          { signal },
        );
        return {
          items: page.AppInstanceGroupModels.map((group) => appInstanceGroupUsage(group, homeRegion)),
          total: page.TotalCount ?? page.Count,
          requestId: page.RequestId,
        };
      });
      const wuyingServers = () => pageNumbered('ListWuyingServer', async (pageNumber) => {
        const page = await call(
          'appstream',
          homeRegion,
          'ListWuyingServer',
          { ImageId: imageId, PageSize: PAGE_SIZE, PageNumber: pageNumber },
          listWuyingServerResponseSchema,
          { signal },
        );
        return {
          items: page.WuyingServerList.map((server) => wuyingServerUsage(server, homeRegion)),
          total: page.TotalCount ?? page.Count,
          requestId: page.RequestId,
        };
      });
      switch (source.kind) {
        case 'AppInstanceGroup':
          return appInstanceGroups();
        case 'WuyingServer':
          return wuyingServers();
        case 'DesktopGroup':
          return desktopGroupChecks.read(source.regionId, imageId, signal);
      }
    },

    async listTemplates(imageId: string, { signal }: CallOptions = {}): Promise<TemplateSnapshot[]> {
      const { templates } = await findTemplates({ ImageId: imageId }, signal);
      // The filter is ours to enforce: a template of another image is never touched.
      return templates.filter((template) => template.imageId === imageId);
    },

    async deleteTemplate(templateId: string, options: CallOptions = {}): Promise<CallReceipt> {
      const response = await call(
        'ecd',
        homeRegion,
        'DeleteTemplates',
        { 'TemplateIds.1': templateId },
        deleteTemplatesResponseSchema,
        options,
      );
      return { requestId: response.RequestId };
    },

    async recreateTemplate(
      snapshot: TemplateSnapshot,
      claimedTemplateIds: readonly string[] = [],
      options: CallOptions = {},
    ): Promise<RecreatedTemplate> {
      // No client token exists for CreateTemplate: look first (same name and image), so a retried
      // compensation never creates a second copy; a template the caller already claimed for another
      // snapshot does not count, so two deleted templates with one name are each restored.
      const existing = await findTemplates({ TemplateName: snapshot.templateName, ImageId: snapshot.imageId }, options.signal);
      const claimed = new Set(claimedTemplateIds);
      const match = existing.templates.find(
        (template) => !claimed.has(template.templateId) && isRestorationOf(template, snapshot),
      );
      if (match) return { templateId: match.templateId, created: false, requestId: existing.requestId };
      const response = await call(
        'ecd',
        homeRegion,
        'CreateTemplate',
        createTemplateParams(snapshot),
        createTemplateResponseSchema,
        options,
      );
      return { templateId: response.Data, created: true, requestId: response.RequestId };
    },

    async deleteImageInRegion(imageId: string, regionId: string, options: CallOptions = {}): Promise<CallReceipt> {
      // ASSUMPTION (docs/app-streaming-api.md, DeleteImage): BizRegionId limits the delete to one region.
      let sent = false;
      const response = await call(
        'appstream',
        homeRegion,
        'DeleteImage',
        { ImageId: imageId, BizRegionId: regionId },
        deleteImageResponseSchema,
        {
          ...options,
          onSending: () => {
            sent = true;
            regionDeletes.begin(imageId);
          },
        },
      ).finally(() => {
        if (sent) regionDeletes.end(imageId);
      });
      if (response.Data !== true) {
        throw new CloudError({
          code: SyntheticCode.MalformedResponse,
          message: `DeleteImage of ${imageId} in ${regionId} did not confirm the deletion (Data=${JSON.stringify(response.Data) ?? 'missing'})`,
          requestId: response.RequestId,
          action: 'DeleteImage',
        });
      }
      return { requestId: response.RequestId };
    },

    async isImageGoneFromRegion(imageId: string, regionId: string, { signal }: CallOptions = {}): Promise<boolean> {
      // The read begins after this region's delete answered, so it cannot miss that delete.
      const { image } = await confirmations.read(imageId, (readSignal) => findImage(imageId, readSignal), signal);
      return image === undefined || !regionsOf(image, 'confirm').includes(regionId);
    },
  };
}

function imageNotExist(imageId: string, requestId: string): CloudError {
  return new CloudError({
    code: 'Image.NotExist',
    message: `Image ${imageId} does not exist in this account (ListImage found no such image).`,
    requestId,
    action: 'ListImage',
  });
}

function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** A 200 answer that still says it failed (`Success: false` with a Code) is a refusal. */
function rejectUnsuccessfulBody(action: string, body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const { Success, Code, Message } = body as { Success?: unknown; Code?: unknown; Message?: unknown };
  if (Success !== false) return;
  throw new CloudError({
    code: typeof Code === 'string' && Code !== '' ? Code : SyntheticCode.MalformedResponse,
    message: typeof Message === 'string' && Message !== '' ? Message : `${action} answered Success=false`,
    ...requestIdOf(body),
    action,
  });
}

function requestIdOf(body: unknown): { requestId?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const { RequestId } = body as { RequestId?: unknown };
  return typeof RequestId === 'string' && RequestId !== '' ? { requestId: RequestId } : {};
}

function pagingRunaway(list: string): CloudError {
  return new CloudError({
    code: SyntheticCode.MalformedResponse,
    message: `${list} did not end after ${MAX_PAGES} pages`,
    action: list,
  });
}
