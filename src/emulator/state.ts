/**
 * What the emulated cloud holds (images with their regional copies, CloudDesktop
 * templates, instances using images), the admin/persisted shapes of it, and its
 * persistence: a JSON file rewritten atomically (temp file + rename) after every
 * mutation, so that an answered mutation survives kill -9.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { z } from 'zod';
import { imageStatusSchema, imageTypeSchema, productTypeSchema, usageKindSchema } from '../cloud/port.js';
import type { ImageStatus, ImageType, ProductType, UsageKind } from '../cloud/port.js';
import { nodeErrorCode } from '../node-error.js';

export interface ImageRecord {
  imageId: string;
  imageName: string;
  imageType: ImageType;
  /** Owner account id, digits (the wire's AliUid number). */
  aliUid: string;
  status: ImageStatus;
  productType: ProductType;
  parentImageId?: string;
  /** Regions that still hold a copy, in distribution order. */
  regions: string[];
}

/** A template in wire form: TemplateId, TemplateName, ImageId and every other field as given. */
export type TemplateRecord = Record<string, unknown> & { TemplateId: string; TemplateName: string; ImageId: string };

export interface InstanceRecord {
  kind: UsageKind;
  id: string;
  imageId: string;
  regionId: string;
  status: string;
}

// ---- admin / persisted shapes (the same shapes: a state file is a valid seed body) ----

const accountIdSchema = z.union([
  z.string().regex(/^\d+$/, 'aliUid must be digits'),
  z.number().int().nonnegative().transform((value) => String(value)),
]);

export const seedImageSchema = z.strictObject({
  imageId: z.string().min(1),
  imageName: z.string().optional(),
  imageType: imageTypeSchema.default('User'),
  /** Defaults to the emulator's account. */
  aliUid: accountIdSchema.optional(),
  status: imageStatusSchema.default('AVAILABLE'),
  productType: productTypeSchema.default('CloudDesktop'),
  parentImageId: z.string().min(1).optional(),
  /**
   * Empty for an image listed with no regional copy (one whose creation failed, say): imgdel
   * refuses it (ImageHasNoRegions). Deleting an image's last copy removes the image instead.
   */
  regions: z.array(z.string().min(1)),
});

/** `{ templateId, templateName, imageId, …other fields }`; other fields are kept (first letter upper-cased). */
export const seedTemplateSchema = z
  .object({
    templateId: z.string().regex(/^b-[A-Za-z0-9]+$/, 'templateId must look like b-…'),
    templateName: z.string().min(1),
    imageId: z.string().min(1),
  })
  .catchall(z.unknown());

export const seedInstanceSchema = z.strictObject({
  kind: usageKindSchema,
  id: z.string().min(1),
  imageId: z.string().min(1),
  regionId: z.string().min(1),
  status: z.string().min(1).default('RUNNING'),
});

// Strict, like every admin body: a misspelt key (imagetype) is refused, not dropped for a default.
export const seedBodySchema = z.strictObject({
  images: z.array(seedImageSchema).default([]),
  templates: z.array(seedTemplateSchema).default([]),
  instances: z.array(seedInstanceSchema).default([]),
});
export type SeedBody = z.input<typeof seedBodySchema>;

export interface StateView {
  images: Array<Omit<ImageRecord, 'parentImageId'> & { parentImageId?: string }>;
  templates: Array<Record<string, unknown> & { templateId: string; templateName: string; imageId: string }>;
  instances: InstanceRecord[];
}

export function upperFirst(key: string): string {
  return key.length === 0 ? key : key.charAt(0).toUpperCase() + key.slice(1);
}

export function newTemplateId(): string {
  // Real ids look like b-0caoeogs8e4kxxxxx: lower-case letters and digits.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(17);
  let suffix = '';
  for (const byte of bytes) suffix += alphabet.charAt(byte % alphabet.length);
  return `b-${suffix}`;
}

export class EmulatorState {
  readonly images = new Map<string, ImageRecord>();
  readonly templates = new Map<string, TemplateRecord>();
  instances: InstanceRecord[] = [];

  isEmpty(): boolean {
    return this.images.size === 0 && this.templates.size === 0 && this.instances.length === 0;
  }

  clear(): void {
    this.images.clear();
    this.templates.clear();
    this.instances = [];
  }

  /** Adds (or replaces, by id) what the seed body lists. */
  apply(body: z.output<typeof seedBodySchema>, defaultAccountId: string): void {
    for (const image of body.images) {
      const record: ImageRecord = {
        imageId: image.imageId,
        imageName: image.imageName ?? image.imageId,
        imageType: image.imageType,
        aliUid: image.aliUid ?? defaultAccountId,
        status: image.status,
        productType: image.productType,
        regions: [...new Set(image.regions)],
      };
      if (image.parentImageId !== undefined) record.parentImageId = image.parentImageId;
      this.images.set(record.imageId, record);
    }
    for (const template of body.templates) {
      const { templateId, templateName, imageId, ...rest } = template;
      const record: TemplateRecord = { TemplateId: templateId, TemplateName: templateName, ImageId: imageId };
      for (const [key, value] of Object.entries(rest)) {
        const wireKey = upperFirst(key);
        if (wireKey !== 'TemplateId' && wireKey !== 'TemplateName' && wireKey !== 'ImageId') record[wireKey] = value;
      }
      this.templates.set(templateId, record);
    }
    for (const instance of body.instances) {
      this.instances = this.instances.filter((existing) => !(existing.kind === instance.kind && existing.id === instance.id));
      this.instances.push({ ...instance });
    }
  }

  view(): StateView {
    return {
      images: [...this.images.values()].map((image) => ({ ...image, regions: [...image.regions] })),
      templates: [...this.templates.values()].map((template) => {
        const { TemplateId, TemplateName, ImageId, ...rest } = template;
        // The identity last: no other field can stand in for it.
        return { ...structuredClone(rest), templateId: TemplateId, templateName: TemplateName, imageId: ImageId };
      }),
      instances: this.instances.map((instance) => ({ ...instance })),
    };
  }
}

/**
 * Writes the state file atomically, coalescing: a mutation waits for a write that
 * starts after it, and mutations arriving while a write runs share the next one.
 */
export class StatePersister {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => StateView,
  ) {}

  /** Resolves once a write that includes every mutation made so far is on disk. */
  persist(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.chain.then(() => {
      this.queued = undefined;
      // Serialized synchronously here: later mutations queue the next write.
      return this.writeNow(JSON.stringify(this.snapshot(), null, 2));
    });
    this.queued = write;
    this.chain = write.catch(() => undefined);
    return write;
  }

  /** Waits for every write started or queued so far. */
  async flush(): Promise<void> {
    await this.chain;
  }

  private async writeNow(text: string): Promise<void> {
    this.sequence += 1;
    const temporary = `${this.path}.${process.pid}.${this.sequence}.tmp`;
    try {
      await writeFile(temporary, `${text}\n`, 'utf8');
      await rename(temporary, this.path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }
}

/** Reads a state file; a missing file is an empty state. Invalid content is an error (never silently dropped). */
export async function loadStateFile(path: string): Promise<z.output<typeof seedBodySchema> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (nodeErrorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (text.trim() === '') return undefined;
  const parsed = seedBodySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`state file ${path} is not valid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
