import { describe, expect, it } from 'vitest';
import { LogTimestamp } from '@temporalio/worker';
import { createLogger, formatLogEntry } from '../../src/observability/logger.js';

const at = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5, 678)) * 1_000_000n;

describe('structured logs', () => {
  it('writes one JSON object per line with time, level, message and the meta fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'INFO', format: 'json', write: (line) => lines.push(line) });
    logger.info('delete image img-abc123 in cn-hangzhou', {
      workflowId: 'delete-image-img-abc123',
      activityType: 'deleteImageInRegion',
      imageId: 'img-abc123',
      attempt: 2,
      [LogTimestamp]: at,
    });
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      time: '2026-01-02T03:04:05.678Z',
      level: 'INFO',
      message: 'delete image img-abc123 in cn-hangzhou',
      workflowId: 'delete-image-img-abc123',
      activityType: 'deleteImageInRegion',
      imageId: 'img-abc123',
      attempt: 2,
    });
  });

  it('filters by level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'WARN', format: 'json', write: (line) => lines.push(line) });
    logger.info('not shown');
    logger.debug('not shown either');
    logger.error('shown');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['shown']);
  });

  it('serializes errors, bigints and cycles without throwing, and keeps reserved fields', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const error = new Error('boom', { cause: new Error('root cause') });
    const line = formatLogEntry(
      { level: 'ERROR', message: 'failed', timestampNanos: at, meta: { error, size: 10n, cyclic, message: 'shadow' } },
      'json',
    );
    const parsed = JSON.parse(line);
    expect(parsed.message).toBe('failed');
    expect(parsed['meta.message']).toBe('shadow');
    expect(parsed.error).toMatchObject({ name: 'Error', message: 'boom', cause: { message: 'root cause' } });
    expect(parsed.size).toBe('10');
    expect(parsed.cyclic).toEqual({ name: 'loop', self: '[circular]' });
  });

  it('has a pretty format for people', () => {
    const line = formatLogEntry(
      { level: 'WARN', message: 'region parked', timestampNanos: at, meta: { imageId: 'img-abc123', details: 'two words' } },
      'pretty',
    );
    expect(line).toBe('2026-01-02T03:04:05.678Z WARN  region parked imageId=img-abc123 details="two words"');
  });
});

describe('imageId in activity log lines', () => {
  it('derives the image id from the deletion workflow id only', async () => {
    const { imageIdFromWorkflowId } = await import('../../src/observability/log-attributes.js');
    expect(imageIdFromWorkflowId('delete-image-img-abc123')).toBe('img-abc123');
    expect(imageIdFromWorkflowId('something-else')).toBeUndefined();
    expect(imageIdFromWorkflowId('delete-image-')).toBeUndefined();
    expect(imageIdFromWorkflowId(undefined)).toBeUndefined();
  });
});
