/**
 * Fault injection (an error code, a hostile response or a delay for matching calls)
 * and per-action rate limits (token buckets). Neither ever changes emulated state:
 * a call that a fault or a limit stops fails before its action runs.
 */
import { z } from 'zod';
import { defaultHttpStatus } from './api-errors.js';
import { findAction } from './operations.js';
import { listParam, optionalString } from './params.js';
import type { FlatParams } from './params.js';

/** Fault codes that produce a hostile response instead of a cloud error body. */
export const HOSTILE_CODES = {
  /** HTTP 200 with a body that is not valid JSON. */
  malformed: 'malformed',
  /** HTTP 200 with an empty body. */
  empty: 'empty',
  /** HTTP 500 with an HTML body. */
  http500Html: 'http500-html',
} as const;
export type HostileCode = (typeof HOSTILE_CODES)[keyof typeof HOSTILE_CODES];

export function isHostileCode(code: string): code is HostileCode {
  return code === 'malformed' || code === 'empty' || code === 'http500-html';
}

/** An action the emulator answers, or `*` for every action: a misspelt one would never match. */
const actionSchema = z
  .string()
  .min(1)
  .refine((action) => action === '*' || findAction(action) !== undefined, {
    message: 'must be an action the emulator answers (ListImage, DeleteImage, …) or *',
  });

// Strict: an unknown key (a misspelt regionId, say) is refused, not dropped, so a fault never
// fires wider than it was written.
export const faultInputSchema = z
  .strictObject({
    /** An action name, or `*` for every action. */
    action: actionSchema,
    code: z.string().min(1).optional(),
    // A cloud error's status; the 1xx range would end the call without an answer.
    httpStatus: z.number().int().min(200).max(599).optional(),
    /** How many matching calls it fires for; -1 = always. */
    times: z
      .number()
      .int()
      .refine((value) => value === -1 || value >= 1, 'times must be -1 (always) or at least 1')
      .default(1),
    regionId: z.string().min(1).optional(),
    imageId: z.string().min(1).optional(),
    templateId: z.string().min(1).optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    probability: z.number().min(0).max(1).default(1),
  })
  .refine((fault) => fault.code !== undefined || fault.latencyMs !== undefined, {
    message: 'a fault needs a code, a latencyMs, or both',
  });
export type FaultInput = z.output<typeof faultInputSchema>;

export interface Fault extends FaultInput {
  id: string;
  /** Calls it fired for so far. */
  fired: number;
}

/** What a firing fault asks for: wait, then (when code is set) fail. */
export interface FaultEffect {
  latencyMs: number;
  failure?: { code: string; httpStatus: number; faultId: string };
}

function defaultFaultStatus(code: string): number {
  if (code === HOSTILE_CODES.malformed || code === HOSTILE_CODES.empty) return 200;
  if (code === HOSTILE_CODES.http500Html) return 500;
  return defaultHttpStatus(code);
}

function matchesRegion(params: FlatParams, regionId: string): boolean {
  return optionalString(params, 'BizRegionId') === regionId || optionalString(params, 'RegionId') === regionId;
}

function matchesImage(params: FlatParams, imageId: string): boolean {
  return (
    optionalString(params, 'AppCenterImageId') === imageId ||
    listParam(params, 'ImageId').includes(imageId)
  );
}

function matchesTemplate(params: FlatParams, templateId: string): boolean {
  return optionalString(params, 'TemplateId') === templateId || listParam(params, 'TemplateIds').includes(templateId);
}

export class FaultRegistry {
  private faults: Fault[] = [];
  private nextId = 1;

  add(input: FaultInput): Fault {
    const fault: Fault = { ...input, id: `fault-${this.nextId}`, fired: 0 };
    this.nextId += 1;
    this.faults.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /**
   * Rolls every matching fault in the order they were added: delays add up, and the
   * first one with a code decides the failure (later ones with a code are not rolled, so
   * not consumed). A fault whose dice say no is not consumed.
   */
  evaluate(action: string, params: FlatParams, random: () => number = Math.random): FaultEffect {
    const effect: FaultEffect = { latencyMs: 0 };
    // remove() replaces the array, so this loop goes on over the one it began with.
    for (const fault of this.faults) {
      if (fault.action !== '*' && fault.action !== action) continue;
      if (fault.regionId !== undefined && !matchesRegion(params, fault.regionId)) continue;
      if (fault.imageId !== undefined && !matchesImage(params, fault.imageId)) continue;
      if (fault.templateId !== undefined && !matchesTemplate(params, fault.templateId)) continue;
      if (fault.code !== undefined && effect.failure !== undefined) continue;
      if (fault.probability < 1 && !(random() < fault.probability)) continue;
      fault.fired += 1;
      effect.latencyMs += fault.latencyMs ?? 0;
      if (fault.code !== undefined) {
        effect.failure = {
          code: fault.code,
          httpStatus: fault.httpStatus ?? defaultFaultStatus(fault.code),
          faultId: fault.id,
        };
      }
      if (fault.times !== -1 && fault.fired >= fault.times) this.remove(fault.id);
    }
    return effect;
  }
}

export const limitInputSchema = z.strictObject({
  /** An action name, or `*` for one bucket shared by every action. */
  action: actionSchema,
  perSecond: z.number().positive().max(1_000_000),
});
export type LimitInput = z.infer<typeof limitInputSchema>;

interface Bucket {
  perSecond: number;
  capacity: number;
  tokens: number;
  refilledAt: number;
}

/** Token buckets: capacity = perSecond (at least 1), refilled continuously. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  set(input: LimitInput, now: number = performance.now()): void {
    const capacity = Math.max(1, input.perSecond);
    this.buckets.set(input.action, { perSecond: input.perSecond, capacity, tokens: capacity, refilledAt: now });
  }

  clear(): void {
    this.buckets.clear();
  }

  list(): LimitInput[] {
    return [...this.buckets.entries()].map(([action, bucket]) => ({ action, perSecond: bucket.perSecond }));
  }

  /**
   * Takes a token from the action's bucket and the `*` bucket; when either is empty,
   * takes none and returns how many ms until a token is back.
   */
  take(action: string, now: number = performance.now()): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const buckets = [this.buckets.get(action), this.buckets.get('*')].filter(
      (bucket): bucket is Bucket => bucket !== undefined,
    );
    for (const bucket of buckets) {
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + ((now - bucket.refilledAt) / 1000) * bucket.perSecond);
      bucket.refilledAt = now;
    }
    const empty = buckets.filter((bucket) => bucket.tokens < 1);
    if (empty.length > 0) {
      // Until every bucket has a token again: the soonest would only throttle the retry once more.
      const waitMs = Math.max(...empty.map((bucket) => ((1 - bucket.tokens) / bucket.perSecond) * 1000));
      return { allowed: false, retryAfterMs: Math.ceil(waitMs) };
    }
    for (const bucket of buckets) bucket.tokens -= 1;
    return { allowed: true };
  }
}
