/**
 * The emulated API actions of appstream-center 2021-09-01 and ecd 2020-09-30, over
 * EmulatorState. Each action validates its params, applies its effect (synchronously,
 * so concurrent calls never interleave) and returns the response body without RequestId.
 */
import { randomBytes } from 'node:crypto';
import { ApiError } from './api-errors.js';
import { COMMON_PARAMS, CREDENTIAL_PARAMS, intParam, listParam, optionalString, paginate, unflatten } from './params.js';
import type { FlatParams } from './params.js';
import { newTemplateId, upperFirst } from './state.js';
import type { EmulatorState, ImageRecord, InstanceRecord, TemplateRecord } from './state.js';

export const PRODUCTS = {
  appstream: { name: 'appstream-center', version: '2021-09-01' },
  ecd: { name: 'ecd', version: '2020-09-30' },
} as const;
type Product = (typeof PRODUCTS)[keyof typeof PRODUCTS];

export interface OperationContext {
  state: EmulatorState;
  /** The account this emulator acts for: owner checks compare against it. */
  accountId: string;
  /** When set, list pages hold at most this many items whatever the client asks (see paginate). */
  maxPageSize?: number;
}

export interface OperationResult {
  body: Record<string, unknown>;
  /** True when the state changed (and must be persisted before answering). */
  mutated: boolean;
}

export interface ActionDefinition {
  product: Product;
  run(params: FlatParams, context: OperationContext): OperationResult;
}

// ---- AliUid as a JSON number without losing digits beyond 2^53 ----

const RAW_NUMBER_MARK = `__emulator_raw_number_${randomBytes(8).toString('hex')}_`;
const RAW_NUMBER_PATTERN = new RegExp(`"${RAW_NUMBER_MARK}(\\d+)"`, 'g');

/** A digits string that serializeResponse writes as a bare JSON number. */
function rawJsonNumber(digits: string): string {
  return `${RAW_NUMBER_MARK}${digits}`;
}

/** JSON.stringify, with rawJsonNumber values written as numbers (account ids exceed 2^53). */
export function serializeResponse(body: unknown): string {
  const text = JSON.stringify(body);
  // Most answers hold no account id: skip the pattern scan for them.
  return text.includes(RAW_NUMBER_MARK) ? text.replace(RAW_NUMBER_PATTERN, '$1') : text;
}

// ---- images ----

function imageWire(image: ImageRecord): Record<string, unknown> {
  return {
    ImageId: image.imageId,
    ImageName: image.imageName,
    ImageType: image.imageType,
    AliUid: rawJsonNumber(image.aliUid),
    Status: image.status,
    ProductType: image.productType,
    ParentImageId: image.parentImageId ?? '',
    ImageRegionList: [...image.regions],
    ImageRegionDistributeList: image.regions.map((regionId) => ({
      ImageId: image.imageId,
      RegionId: regionId,
      Status: 'AVAILABLE',
      VersionId: `${image.imageId}-v1`,
      Progress: '100%',
    })),
  };
}

function listImage(params: FlatParams, { state, maxPageSize }: OperationContext): OperationResult {
  const imageId = optionalString(params, 'ImageId');
  const imageType = optionalString(params, 'ImageType');
  const productType = optionalString(params, 'ProductType');
  const imageName = optionalString(params, 'ImageName');
  const status = optionalString(params, 'Status');
  const matching = [...state.images.values()].filter(
    (image) =>
      (imageId === undefined || image.imageId === imageId) &&
      (imageType === undefined || image.imageType === imageType) &&
      (productType === undefined || image.productType === productType) &&
      (imageName === undefined || image.imageName.includes(imageName)) &&
      (status === undefined || image.status === status),
  );
  const page = paginate(matching, params, maxPageSize);
  return {
    body: {
      Code: 'success',
      Success: true,
      Message: 'success',
      Count: page.total,
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      Data: page.items.map(imageWire),
    },
    mutated: false,
  };
}

function checkImageDeletable(image: ImageRecord, context: OperationContext): void {
  const { state, accountId } = context;
  if (image.imageType === 'Shared') throw new ApiError('ImageDeleteFailed.NotAllowSharedImage');
  if (image.imageType !== 'User' || image.aliUid !== accountId) throw new ApiError('ImageDeleteFailed.NotAllow');
  const children = [...state.images.values()].filter((other) => other.parentImageId === image.imageId);
  if (children.some((child) => child.imageType === 'Community')) {
    throw new ApiError('ImageDeleteFailed.NotAllowCommunityParent');
  }
  if (children.some((child) => child.imageType === 'Shared')) throw new ApiError('ImageDeleteFailed.HasSharedImage');
  if (image.status === 'CREATING' || image.status === 'INIT') {
    throw new ApiError('InvalidImageOperation.ImageIsCreating');
  }
  // As specified for the emulator: an instance in any region blocks every regional delete.
  if (state.instances.some((instance) => instance.imageId === image.imageId)) throw new ApiError('ImageNotAllowDelete');
}

function deleteImage(params: FlatParams, context: OperationContext): OperationResult {
  const { state } = context;
  const imageId = optionalString(params, 'ImageId');
  if (imageId === undefined) throw new ApiError('MissingImageId');
  const image = state.images.get(imageId);
  if (image === undefined) throw new ApiError('Image.NotExist');
  const regionId = optionalString(params, 'BizRegionId');
  // A copy that is already gone is Image.NotExist whatever else holds now: retries of a
  // regional delete stay idempotent.
  if (regionId !== undefined && !image.regions.includes(regionId)) {
    throw new ApiError('Image.NotExist', `The image ${imageId} has no copy in ${regionId}.`);
  }
  checkImageDeletable(image, context);

  image.regions = regionId === undefined ? [] : image.regions.filter((region) => region !== regionId);
  if (image.regions.length === 0) {
    state.images.delete(imageId);
    // Public behaviour: the CloudDesktop templates that reference the image go with it.
    for (const [templateId, template] of state.templates) {
      if (template.ImageId === imageId) state.templates.delete(templateId);
    }
  }
  return { body: { Data: true, Success: true, Code: '200', Message: 'successful' }, mutated: true };
}

// ---- what uses an image ----

function instancesOf(state: EmulatorState, kind: InstanceRecord['kind']): InstanceRecord[] {
  return state.instances.filter((instance) => instance.kind === kind);
}

function listAppInstanceGroup(params: FlatParams, { state, maxPageSize }: OperationContext): OperationResult {
  if (optionalString(params, 'ProductType') !== 'CloudApp') throw new ApiError('InvalidParameter.ProductType');
  const imageId = optionalString(params, 'AppCenterImageId');
  const regionId = optionalString(params, 'BizRegionId');
  const matching = instancesOf(state, 'AppInstanceGroup').filter(
    (group) => (imageId === undefined || group.imageId === imageId) && (regionId === undefined || group.regionId === regionId),
  );
  const page = paginate(matching, params, maxPageSize);
  return {
    body: {
      AppInstanceGroupModels: page.items.map((group) => ({
        AppInstanceGroupId: group.id,
        RegionId: group.regionId,
        Status: group.status,
        AppCenterImageId: group.imageId,
      })),
      Count: page.total,
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
    },
    mutated: false,
  };
}

function listWuyingServer(params: FlatParams, { state, maxPageSize }: OperationContext): OperationResult {
  const imageId = optionalString(params, 'ImageId');
  const regionId = optionalString(params, 'BizRegionId');
  const matching = instancesOf(state, 'WuyingServer').filter(
    (server) => (imageId === undefined || server.imageId === imageId) && (regionId === undefined || server.regionId === regionId),
  );
  const page = paginate(matching, params, maxPageSize);
  return {
    body: {
      WuyingServerList: page.items.map((server) => ({
        WuyingServerId: server.id,
        BizRegionId: server.regionId,
        Status: server.status,
        ImageId: server.imageId,
      })),
      Count: page.total,
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
    },
    mutated: false,
  };
}

function describeDesktopGroups(params: FlatParams, { state, maxPageSize }: OperationContext): OperationResult {
  const regionId = optionalString(params, 'RegionId');
  if (regionId === undefined) throw new ApiError('MissingRegionId');
  const imageIds = listParam(params, 'ImageId');
  const maxResults = Math.min(intParam(params, 'MaxResults', 10, 1, 100), maxPageSize ?? 100);
  // NextToken is the offset of the next item, as text (opaque to clients).
  const token = optionalString(params, 'NextToken');
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new ApiError('InvalidParameter.NextToken', 'NextToken is not valid.');
  const matching = instancesOf(state, 'DesktopGroup').filter(
    (group) => group.regionId === regionId && (imageIds.length === 0 || imageIds.includes(group.imageId)),
  );
  const items = matching.slice(offset, offset + maxResults);
  const next = offset + items.length;
  return {
    body: {
      DesktopGroups: items.map((group) => ({
        DesktopGroupId: group.id,
        ImageId: group.imageId,
        Status: group.status,
        RegionId: group.regionId,
      })),
      ...(next < matching.length ? { NextToken: String(next) } : {}),
    },
    mutated: false,
  };
}

// ---- templates ----

function describeTemplates(params: FlatParams, { state, maxPageSize }: OperationContext): OperationResult {
  const imageId = optionalString(params, 'ImageId');
  const templateIds = listParam(params, 'TemplateIds');
  const templateName = optionalString(params, 'TemplateName');
  const matching = [...state.templates.values()].filter(
    (template) =>
      (imageId === undefined || template.ImageId === imageId) &&
      (templateIds.length === 0 || templateIds.includes(template.TemplateId)) &&
      (templateName === undefined || template.TemplateName.includes(templateName)),
  );
  const page = paginate(matching, params, maxPageSize);
  return {
    body: {
      Code: 'success',
      Success: true,
      TotalCount: page.total,
      PageNumber: page.pageNumber,
      PageSize: page.pageSize,
      Data: page.items.map((template) => structuredClone(template)),
    },
    mutated: false,
  };
}

function deleteTemplates(params: FlatParams, { state }: OperationContext): OperationResult {
  const templateIds = listParam(params, 'TemplateIds');
  if (templateIds.length === 0) throw new ApiError('MissingTemplateIds');
  const unknown = templateIds.find((templateId) => !state.templates.has(templateId));
  if (unknown !== undefined) throw new ApiError('InvalidTemplate.NotFound', `The template ${unknown} does not exist.`);
  for (const templateId of templateIds) state.templates.delete(templateId);
  return { body: { Code: 'success', Success: true }, mutated: true };
}

const TEMPLATE_DEFAULTS: Readonly<Record<string, unknown>> = {
  TemplateType: 'USER_TEMPLATE',
  ProductType: 'CloudDesktop',
  DataDiskList: [],
  RegionConfigList: [],
  ResourceTagList: [],
};

/** Params that are never template fields. */
const NOT_TEMPLATE_FIELDS: ReadonlySet<string> = new Set(['TemplateId', 'TemplateName', 'ImageId']);

function createTemplate(params: FlatParams, { state }: OperationContext): OperationResult {
  const templateName = optionalString(params, 'TemplateName');
  if (templateName === undefined) throw new ApiError('MissingTemplateName');
  const imageId = optionalString(params, 'ImageId');
  if (imageId === undefined) throw new ApiError('MissingImageId');
  const fieldParams: FlatParams = {};
  for (const [key, value] of Object.entries(params)) {
    const [topLevel = key, ...nested] = key.split('.');
    if (CREDENTIAL_PARAMS.has(topLevel) || COMMON_PARAMS.has(topLevel)) continue;
    // Fields are kept in their wire form (as a seed's are), so `description` and `Description`
    // are one field, and no spelling of an identity key becomes a field of its own.
    const wireKey = upperFirst(topLevel);
    if (!NOT_TEMPLATE_FIELDS.has(wireKey)) fieldParams[[wireKey, ...nested].join('.')] = value;
  }
  const templateId = newTemplateId();
  const record: TemplateRecord = {
    ...unflatten(fieldParams),
    TemplateId: templateId,
    TemplateName: templateName,
    ImageId: imageId,
  };
  // What DescribeTemplates always shows, when the request did not say.
  for (const [key, value] of Object.entries(TEMPLATE_DEFAULTS)) {
    if (record[key] === undefined) record[key] = structuredClone(value);
  }
  state.templates.set(templateId, record);
  return { body: { Data: templateId, Code: 'success', Success: true }, mutated: true };
}

export const ACTIONS: Readonly<Record<string, ActionDefinition>> = {
  ListImage: { product: PRODUCTS.appstream, run: listImage },
  DeleteImage: { product: PRODUCTS.appstream, run: deleteImage },
  ListAppInstanceGroup: { product: PRODUCTS.appstream, run: listAppInstanceGroup },
  ListWuyingServer: { product: PRODUCTS.appstream, run: listWuyingServer },
  DescribeDesktopGroups: { product: PRODUCTS.ecd, run: describeDesktopGroups },
  DescribeTemplates: { product: PRODUCTS.ecd, run: describeTemplates },
  DeleteTemplates: { product: PRODUCTS.ecd, run: deleteTemplates },
  CreateTemplate: { product: PRODUCTS.ecd, run: createTemplate },
};

export function findAction(name: string): ActionDefinition | undefined {
  return Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
}
