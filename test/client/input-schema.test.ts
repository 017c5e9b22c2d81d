import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inputSchemaText, SCHEMA_PATH } from '../../src/dev/write-schema.js';

describe('schema/delete-image-input.schema.json', () => {
  it('is what `npm run schema` generates from the zod input schema now', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(inputSchemaText());
  });

  it('constrains the image id the way the workflow does', () => {
    const schema = JSON.parse(inputSchemaText()) as { properties: { imageId: { pattern: string; maxLength: number } }; required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(['imageId']);
    expect(schema.additionalProperties).toBe(false);
    expect(new RegExp(schema.properties.imageId.pattern).test('img-demo0001')).toBe(true);
    expect(new RegExp(schema.properties.imageId.pattern).test('img-dеmo0001')).toBe(false);
  });
});
