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
  it("keeps the documented fields only, errors as { code, message } and the cloud's request id", () => {
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
        { regionId: 'cn-hangzhou', status: 'failed', attempts: 3, lastError: { code: 'ImageNotAllowDelete', message: 'in use', requestId: 'req-3' } },
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

  it("keeps the request id of a refusal the report records, for the cloud's support", () => {
    const rejected: DeletionProgress = { ...report, status: 'rejected', error: { code: 'Image.NotExist', message: 'm', requestId: 'req-9' } };
    expect(outcomeFromFailure({ ...base, code: 'Image.NotExist', message: 'm', report: rejected }).error).toEqual({
      code: 'Image.NotExist',
      message: 'm',
      requestId: 'req-9',
    });
    // A Temporal-level end is not the report's error: no request id of another failure is borrowed.
    expect(outcomeFromFailure({ ...base, code: 'Terminated', message: 't', report: rejected }).error).toEqual({ code: 'Terminated', message: 't' });
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

  it("keeps a cancelled deletion's own account of how the cancel ended, not a bare 'cancelled'", () => {
    const ownMessage = 'The deletion of img-a1b2c3 was cancelled after the point of no return. Deleted in: cn-shanghai.';
    const cancelled: DeletionProgress = { ...report, status: 'cancelled', phase: 'finished', error: { code: 'Cancelled', message: ownMessage } };
    expect(outcomeFromFailure({ ...base, code: 'Cancelled', message: 'The deletion was cancelled.', report: cancelled }).error).toEqual({
      code: 'Cancelled',
      message: ownMessage,
    });
    const unrestored: DeletionProgress = {
      ...cancelled,
      error: { code: 'CompensationFailed', message: 'Re-creating 1 template(s) failed after the cancellation: tpl.' },
    };
    const outcome = outcomeFromFailure({ ...base, code: 'Cancelled', message: 'The deletion was cancelled.', report: unrestored });
    expect([outcome.status, outcome.error?.code]).toEqual(['cancelled', 'CompensationFailed']);
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

describe('unrestoredTemplates (a compensation that could not re-create templates)', () => {
  const snapshot = {
    templateId: 'b-1',
    templateName: 'office',
    imageId: 'img-a1b2c3',
    fields: { SystemDiskSize: 80, RegionConfigList: [{ RegionId: 'cn-shanghai' }] },
  };
  const failedReport: DeletionProgress = {
    ...report,
    status: 'failed',
    templates: [{ templateId: 'b-1', templateName: 'office', status: 'failed', attempts: 1, lastError: { code: 'Image.NotExist', message: 'gone' } }],
    regions: [],
    unrestoredTemplates: [snapshot],
  };

  it('passes the full snapshots through, from the failure details as from a progress answer', () => {
    const details: unknown = JSON.parse(JSON.stringify(failedReport));
    const parsed = parseProgress(details);
    expect(parsed?.unrestoredTemplates).toEqual([snapshot]);
    if (parsed === undefined) throw new Error('report expected');
    const outcome = outcomeFromFailure({ workflowId: 'delete-image-img-a1b2c3', imageId: 'img-a1b2c3', code: 'CompensationFailed', message: 'm', report: parsed });
    expect(outcome.status).toBe('failed');
    expect(outcome.unrestoredTemplates).toEqual([snapshot]);
    expect(outcomeFromProgress('delete-image-img-a1b2c3', parsed).unrestoredTemplates).toEqual([snapshot]);
    // A cancel after which compensation failed: the snapshots stay in the cancelled outcome.
    expect(outcomeFromFailure({ workflowId: 'w', imageId: 'img-a1b2c3', code: 'Cancelled', message: 'm', report: parsed }).unrestoredTemplates).toEqual([snapshot]);
  });

  it('is left out when compensation re-created everything', () => {
    expect('unrestoredTemplates' in outcomeFromProgress('w', report)).toBe(false);
    expect('unrestoredTemplates' in outcomeFromProgress('w', { ...report, unrestoredTemplates: [] })).toBe(false);
  });
});

describe('ImageHasNoRegions (imgdel\'s own rejection)', () => {
  it('is a rejection named by its code', () => {
    const outcome = outcomeFromFailure({ workflowId: 'w', imageId: 'img-a1b2c3', code: 'ImageHasNoRegions', message: 'in no region' });
    expect(outcome.status).toBe('rejected');
    expect(cloudCodeOf(outcome)).toBe('ImageHasNoRegions');
  });
});

describe('cloudCodeOf', () => {
  const cancelledReport: DeletionProgress = {
    imageId: 'img-a1b2c3',
    status: 'cancelled',
    phase: 'finished',
    templates: [{ templateId: 'b-1', templateName: 'office', status: 'restored', attempts: 2, lastError: { code: 'Throttling.User', message: 'slow down' } }],
    regions: [{ regionId: 'cn-shanghai', status: 'pending', attempts: 0 }],
    retries: 0,
    details: 'Cancelled by an operator; the template was re-created.',
    error: { code: 'Cancelled', message: 'cancelled by an operator' },
  };

  it('names no cloud code for a cancel when no step failed: an earlier throttled attempt is not its cause', () => {
    const outcome = outcomeFromFailure({ workflowId: 'w', imageId: 'img-a1b2c3', code: 'Cancelled', message: 'm', report: cancelledReport });
    expect(outcome.status).toBe('cancelled');
    expect(cloudCodeOf(outcome)).toBeUndefined();
  });

  it("names a failed step's code after a cancel (why compensation could not re-create a template)", () => {
    const failedTemplate = { templateId: 'b-1', templateName: 'office', status: 'failed' as const, attempts: 3, lastError: { code: 'Image.NotExist', message: 'gone' } };
    const outcome = outcomeFromFailure({ workflowId: 'w', imageId: 'img-a1b2c3', code: 'Cancelled', message: 'm', report: { ...cancelledReport, templates: [failedTemplate] } });
    expect(cloudCodeOf(outcome)).toBe('Image.NotExist');
  });

  it('names the last cloud error of a deletion that is still retrying', () => {
    const running = outcomeFromProgress('w', { ...cancelledReport, status: 'running', phase: 'deleting-templates', error: undefined });
    expect(cloudCodeOf(running)).toBe('Throttling.User');
  });
});

describe('parseProgress', () => {
  it('accepts a report and refuses what is not one', () => {
    expect(parseProgress(report)?.imageId).toBe('img-a1b2c3');
    expect(parseProgress({ imageId: 'x' })).toBeUndefined();
    expect(parseProgress(undefined)).toBeUndefined();
  });
});
