/**
 * The wire: zod schemas of the cloud's JSON responses (wire names, as documented in
 * docs/app-streaming-api.md) and their mapping to the port's domain types. Lenient where
 * the cloud is known to vary (missing vs null, numbers as strings), strict on what the
 * saga decides on (image type, status, product type).
 */
import { z } from 'zod';
import {
  imageStatusSchema,
  imageTypeSchema,
  productTypeSchema,
  type CloudImage,
  type ImageUsage,
  type TemplateSnapshot,
} from './port.js';

/** A string field the cloud may omit or send as null; both become undefined. */
const optionalText = z
  .string()
  .nullish()
  .transform((value) => (value === null || value === '' ? undefined : value));

/** A count the cloud may send as a number or a numeric string. */
const optionalCount = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).nullish();

/** A list the cloud may omit or send as null: both become empty (listAnswer says when that is not allowed). */
function listOf<Item extends z.ZodType>(item: Item) {
  return z
    .array(item)
    .nullish()
    .transform((value) => value ?? []);
}

const stringList = listOf(z.string());

/**
 * Wire fields sent as bare JSON numbers that can exceed 2^53 (account ids are 16+
 * digits): JSON.parse would round them, so they are read as their digits.
 */
const LARGE_INTEGER_FIELDS = ['AliUid'] as const;
const LARGE_INTEGER_PATTERN = new RegExp(`"(${LARGE_INTEGER_FIELDS.join('|')})"(\\s*):(\\s*)(-?\\d+)`, 'g');
const LARGE_INTEGER_KEYS = LARGE_INTEGER_FIELDS.map((field) => `"${field}"`);

/** JSON.parse, keeping LARGE_INTEGER_FIELDS exact (as strings of digits). */
export function parseWireJson(text: string): unknown {
  // Most answers name none of the fields: skip the regex pass over the body (it showed in the worker's CPU profile).
  if (!LARGE_INTEGER_KEYS.some((key) => text.includes(key))) return JSON.parse(text);
  return JSON.parse(text.replace(LARGE_INTEGER_PATTERN, '"$1"$2:$3"$4"'));
}

/**
 * A list answer must say what it holds: its list (possibly empty), or a count. An answer with
 * neither (a proxy's or gateway's body, another API's shape) is unreadable, never "none": read as
 * empty it would confirm a region's copy gone, or find an image unused, that the cloud never said.
 */
function listAnswer<Schema extends z.ZodType>(listField: string, countFields: readonly string[], schema: Schema) {
  return z.preprocess((raw, ctx) => {
    if (typeof raw === 'object' && raw !== null) {
      const fields = raw as Record<string, unknown>;
      if (fields[listField] == null && countFields.every((field) => fields[field] == null)) {
        const said = [listField, ...countFields].join(' or ');
        ctx.addIssue({ code: 'custom', input: raw, path: [listField], message: `the answer has no ${said}` });
      }
    }
    return raw;
  }, schema);
}

/** Fields every RPC response has. */
const envelope = {
  RequestId: z.string().min(1),
};

// ---------------------------------------------------------------- ListImage

const imageRegionDistributionSchema = z.object({
  RegionId: z.string().min(1),
  Status: optionalText,
});

export const wireImageSchema = z.object({
  ImageId: z.string().min(1),
  ImageName: optionalText,
  ImageType: imageTypeSchema,
  AliUid: z.union([z.number().int().nonnegative().refine(Number.isSafeInteger, 'AliUid lost precision'), z.string().regex(/^\d+$/)]),
  Status: imageStatusSchema,
  ProductType: productTypeSchema,
  ParentImageId: optionalText,
  ImageRegionList: stringList,
  ImageRegionDistributeList: listOf(imageRegionDistributionSchema),
});
export type WireImage = z.infer<typeof wireImageSchema>;

export const listImageResponseSchema = listAnswer(
  'Data',
  ['Count'],
  z.object({
    ...envelope,
    Count: optionalCount,
    Data: listOf(wireImageSchema),
  }),
);

/**
 * Scanning other images for children only needs ids, parents and types (the type asked for is
 * checked, not trusted to the filter); other images' fields (statuses imgdel does not know) must
 * not break the scan.
 */
export const listImageParentsResponseSchema = listAnswer(
  'Data',
  ['Count'],
  z.object({
    ...envelope,
    Count: optionalCount,
    Data: listOf(z.object({ ImageId: z.string().min(1), ParentImageId: optionalText, ImageType: optionalText })),
  }),
);

/**
 * The regions of an image, for one purpose. ASSUMPTION (docs/app-streaming-api.md, DeleteImage;
 * the reference does not list the distribution statuses): an ImageRegionDistributeList entry in
 * any Status (distributing, failed, …) is a copy that still has to be deleted.
 * - `plan` (which regions to delete): every region either list names, so that no copy is
 *   missed; deleting where nothing is left answers Image.NotExist, which counts as done.
 * - `confirm` (is the region's copy gone): the doc confirms through ImageRegionDistributeList,
 *   so only that list counts; ImageRegionList is read only when an answer has no distribution
 *   list at all (then it is the only word on the regions).
 */
export function regionsOf(image: WireImage, purpose: 'plan' | 'confirm'): string[] {
  const distributed = image.ImageRegionDistributeList.map((entry) => entry.RegionId);
  if (purpose === 'confirm') return distributed.length > 0 ? distributed : image.ImageRegionList;
  return [...new Set([...distributed, ...image.ImageRegionList])];
}

export function toCloudImage(
  image: WireImage,
  children: { hasCommunityChildren: boolean; hasSharedChildren: boolean },
): CloudImage {
  return {
    imageId: image.ImageId,
    imageName: image.ImageName ?? '',
    imageType: image.ImageType,
    ownerAccountId: String(image.AliUid),
    status: image.Status,
    productType: image.ProductType,
    ...(image.ParentImageId ? { parentImageId: image.ParentImageId } : {}),
    regions: regionsOf(image, 'plan'),
    hasCommunityChildren: children.hasCommunityChildren,
    hasSharedChildren: children.hasSharedChildren,
  };
}

// ---------------------------------------------------------------- DeleteImage

export const deleteImageResponseSchema = z.object({
  ...envelope,
  // Checked by the adapter (`Data !== true` is a failure), so any value parses here.
  Data: z.unknown(),
});

// ---------------------------------------------------------------- usages

export const listAppInstanceGroupResponseSchema = listAnswer(
  'AppInstanceGroupModels',
  ['Count', 'TotalCount'],
  z.object({
    ...envelope,
    Count: optionalCount,
    TotalCount: optionalCount,
    AppInstanceGroupModels: listOf(
      z.object({
        AppInstanceGroupId: z.string().min(1),
        RegionId: optionalText,
        Status: optionalText,
      }),
    ),
  }),
);

export const listWuyingServerResponseSchema = listAnswer(
  'WuyingServerList',
  ['Count', 'TotalCount'],
  z.object({
    ...envelope,
    Count: optionalCount,
    TotalCount: optionalCount,
    WuyingServerList: listOf(
      z.object({
        WuyingServerId: z.string().min(1),
        BizRegionId: optionalText,
        RegionId: optionalText,
        Status: optionalText,
      }),
    ),
  }),
);

export const describeDesktopGroupsResponseSchema = listAnswer(
  'DesktopGroups',
  [],
  z.object({
    ...envelope,
    NextToken: optionalText,
    DesktopGroups: listOf(
      z.object({
        DesktopGroupId: z.string().min(1),
        ImageId: optionalText,
        Status: z.union([z.string(), z.number()]).nullish(),
      }),
    ),
  }),
);

export function appInstanceGroupUsage(
  group: z.infer<typeof listAppInstanceGroupResponseSchema>['AppInstanceGroupModels'][number],
  fallbackRegionId: string,
): ImageUsage {
  return {
    kind: 'AppInstanceGroup',
    id: group.AppInstanceGroupId,
    regionId: group.RegionId ?? fallbackRegionId,
    ...(group.Status ? { status: group.Status } : {}),
  };
}

export function wuyingServerUsage(
  server: z.infer<typeof listWuyingServerResponseSchema>['WuyingServerList'][number],
  fallbackRegionId: string,
): ImageUsage {
  return {
    kind: 'WuyingServer',
    id: server.WuyingServerId,
    regionId: server.BizRegionId ?? server.RegionId ?? fallbackRegionId,
    ...(server.Status ? { status: server.Status } : {}),
  };
}

export function desktopGroupUsage(
  group: z.infer<typeof describeDesktopGroupsResponseSchema>['DesktopGroups'][number],
  regionId: string,
): ImageUsage {
  return {
    kind: 'DesktopGroup',
    id: group.DesktopGroupId,
    regionId,
    ...(group.Status === undefined || group.Status === null ? {} : { status: String(group.Status) }),
  };
}

// ---------------------------------------------------------------- templates

/** A template as returned: the three fields imgdel reads, and everything else kept verbatim. */
export const wireTemplateSchema = z.looseObject({
  TemplateId: z.string().min(1),
  TemplateName: z.string().min(1),
  ImageId: z.string().min(1),
});

export const describeTemplatesResponseSchema = listAnswer(
  'Data',
  ['TotalCount'],
  z.object({
    ...envelope,
    TotalCount: optionalCount,
    Data: listOf(wireTemplateSchema),
  }),
);

/** The doc's success answer is `Code: "success"` with `Success`; a 200 that says neither did not confirm the delete. */
export const deleteTemplatesResponseSchema = z
  .object({
    ...envelope,
    Code: optionalText,
    Success: z.boolean().nullish(),
  })
  .refine((body) => body.Success === true || body.Code?.toLowerCase() === 'success', {
    message: 'neither Success: true nor Code "success": the delete was not confirmed',
  });

export const createTemplateResponseSchema = z.object({
  ...envelope,
  Data: z.string().min(1),
});

export function toTemplateSnapshot(template: z.infer<typeof wireTemplateSchema>): TemplateSnapshot {
  const { TemplateId, TemplateName, ImageId, ...fields } = template;
  return { templateId: TemplateId, templateName: TemplateName, imageId: ImageId, fields };
}

/**
 * Template fields the cloud sets itself: returned by DescribeTemplates but not accepted
 * by CreateTemplate. The one list of them.
 */
export const READ_ONLY_TEMPLATE_FIELDS: ReadonlySet<string> = new Set([
  'TemplateId',
  'TemplateName',
  'ImageId',
  'CreateTime',
  'UpdateTime',
  'GmtCreate',
  'GmtModified',
  'AliUid',
  'RequestId',
]);

/** CreateTemplate parameters (still nested; the runtime's flattening makes `DataDiskList.1.Size`). */
export function createTemplateParams(snapshot: TemplateSnapshot): Record<string, unknown> {
  const settable = Object.fromEntries(
    Object.entries(snapshot.fields).filter(
      ([name, value]) => !READ_ONLY_TEMPLATE_FIELDS.has(name) && value !== null && value !== undefined,
    ),
  );
  return { ...settable, TemplateName: snapshot.templateName, ImageId: snapshot.imageId };
}

/**
 * Whether an existing template stands for the snapshot's (the original, or its re-creation): the
 * same name and image, the rule deletion-saga.md gives for an idempotent compensation. Comparing
 * more fields would make a retried compensation create a second copy whenever the cloud echoes a
 * field differently from how it was sent. Two deleted templates with one name are told apart by
 * the ids the caller already claimed (`recreateTemplate`'s claimedTemplateIds).
 */
export function isRestorationOf(existing: TemplateSnapshot, snapshot: TemplateSnapshot): boolean {
  return existing.templateName === snapshot.templateName && existing.imageId === snapshot.imageId;
}

// ---------------------------------------------------------------- helpers

/** Short, readable description of why a response did not match its schema. */
export function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return issues.join('; ') + more;
}
