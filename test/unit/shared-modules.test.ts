/**
 * The modules in src/workflows/shared-modules.ts are evaluated once per workflow thread and their
 * exports deep-frozen by the SDK. A frozen zod schema cannot even parse (zod completes a schema on
 * first use with defineProperty), so the input module must export its schema only through a
 * function that builds it on first use. The workflow tests cover this end to end; this names it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as input from '../../src/workflows/input.js';

/** As the SDK's reusable VM freezes shared modules: every object reachable through properties. */
function deepFreeze(value: unknown, seen = new WeakSet<object>()): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    try {
      deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
    } catch {
      // Some objects (typed arrays) cannot be frozen; the SDK skips them too.
    }
  }
  Object.freeze(value);
}

describe('the shared input module', () => {
  it('exports no zod schema, so freezing its exports leaves the schema usable', () => {
    const exported = Object.values(input);
    expect(exported.some((value) => value instanceof z.ZodType)).toBe(false);

    deepFreeze({ ...input });
    expect(input.checkInput({ imageId: 'img-frozen01' })).toEqual({ ok: true, input: { imageId: 'img-frozen01' } });
    const refused = input.checkInput({ imageId: 'IMG-1', extra: true });
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.problems).toMatch(/^imageId: must look like .*; input: unknown field "extra"$/);
  });

  it('builds the schema once and hands out the same one', () => {
    expect(input.deleteImageInputSchema()).toBe(input.deleteImageInputSchema());
  });
});
