import { describe, expect, it } from 'vitest';
import { cloudCodeOf, outcomeFromFailure, outcomeFromProgress, parseProgress } from '../../src/client/outcome.js';
import type { DeletionProgress } from '../../src/workflows/model.js';

const report: DeletionProgress = {
  imageId: 'img-a1b2c3',
  status: 'abandoned',
  phase: 'finished',
  pivotRegion: 'cn-shanghai',
  templates: [{ templateId: 'b-1', templateName: 'office', status: 'deleted', attempts: 1, requestId: 'req-1' }],
  regions: [
    { regionId: 'cn-shanghai', status: 'deleted', attempts: 1, requestId: 'req-2', startedAt: '2026-01-01T00:00:00Z' },
    { regionId: 'cn-hangzhou', status: 'failed', attempts: 3, lastError: { code: 'ImageNotAllowDelete', message: 'in use', requestId: 'req-3' } },
  ],
  retries: 2,
  details: 'Abandoned by an operator.',
};

describe('outcomeFromProgress', () => {
  it('keeps the documented fields only, errors as { code, message }', () => {
    const outcome = outcomeFromProgress('delete-image-img-a1b2c3', report);
    expect(outcome).toEqual({
      workflowId: 'delete-image-img-a1b2c3',
      imageId: 'img-a1b2c3',
      status: 'abandoned',
      phase: 'finished',
      pivotRegion: 'cn-shanghai',
      templates: [{ templateId: 'b-1', templateName: 'office', status: 'deleted', attempts: 1 }],
      regions: [
        { regionId: 'cn-shanghai', status: 'deleted', attempts: 1 },
        { regionId: 'cn-hangzhou', status: 'failed', attempts: 3, lastError: { code: 'ImageNotAllowDelete', message: 'in use' } },
      ],
      details: 'Abandoned by an operator.',
    });
  });
});

describe('outcomeFromFailure', () => {
  const base = { workflowId: 'delete-image-img-a1b2c3', imageId: 'img-a1b2c3' };

  it('uses the failure type as the error code and the report for the rest', () => {
    const outcome = outcomeFromFailure({ ...base, code: 'Abandoned', message: 'given up', report });
    expect(outcome.status).toBe('abandoned');
    expect(outcome.error).toEqual({ code: 'Abandoned', message: 'given up' });
    expect(outcome.regions).toHaveLength(2);
    expect(cloudCodeOf(outcome)).toBe('ImageNotAllowDelete');
  });

  it('maps failure types to statuses when there is no report', () => {
    const statusOf = (code: string) => outcomeFromFailure({ ...base, code, message: 'm' }).status;
    expect(statusOf('ImageDeleteFailed.NotAllow')).toBe('rejected');
    expect(statusOf('Compensated')).toBe('compensated');
    expect(statusOf('Abandoned')).toBe('abandoned');
    expect(statusOf('ParkTimeout')).toBe('failed');
    expect(statusOf('Cancelled')).toBe('cancelled');
    expect(statusOf('Terminated')).toBe('failed');
  });

  it('lets a Temporal-level ending win over a stale running report', () => {
    const stale: DeletionProgress = { ...report, status: 'running', phase: 'deleting-regions' };
    const outcome = outcomeFromFailure({ ...base, code: 'Cancelled', message: 'cancelled', report: stale });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.phase).toBe('finished');
  });

  it('names a rejection by its cloud code', () => {
    const outcome = outcomeFromFailure({ ...base, code: 'Image.NotExist', message: 'no such image' });
    expect(cloudCodeOf(outcome)).toBe('Image.NotExist');
  });
});

describe('parseProgress', () => {
  it('accepts a report and refuses what is not one', () => {
    expect(parseProgress(report)?.imageId).toBe('img-a1b2c3');
    expect(parseProgress({ imageId: 'x' })).toBeUndefined();
    expect(parseProgress(undefined)).toBeUndefined();
  });
});
