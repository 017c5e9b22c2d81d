import { describe, expect, it } from 'vitest';
import type { DeletionOutcome } from '../../src/client/outcome.js';
import { explain } from '../../src/cloud/errors.js';
import { narrate } from '../../src/workflows/narrative.js';
import { LiveProgress, renderChanges, renderList, renderOutcome, renderStarted, screenRows } from '../../src/cli/render.js';

const running: DeletionOutcome = {
  workflowId: 'delete-image-img-fixture01',
  imageId: 'img-fixture01',
  status: 'running',
  phase: 'deleting-regions',
  pivotRegion: 'cn-shanghai',
  templates: [{ templateId: 'b-1', templateName: 'office', status: 'deleted', attempts: 1 }],
  regions: [
    { regionId: 'cn-shanghai', status: 'deleted', attempts: 1 },
    { regionId: 'cn-hangzhou', status: 'deleting', attempts: 2, lastError: { code: 'Throttling.User', message: 'slow down' } },
  ],
};

const parked: DeletionOutcome = {
  ...running,
  status: 'awaiting-retry',
  phase: 'awaiting-retry',
  regions: [
    { regionId: 'cn-shanghai', status: 'deleted', attempts: 1 },
    { regionId: 'cn-hangzhou', status: 'failed', attempts: 1, lastError: { code: 'ImageNotAllowDelete', message: 'in use' } },
  ],
};

/** A deletion refused at validation: nothing was deleted, the error is the refusal. */
function rejectedWith(error: NonNullable<DeletionOutcome['error']>): DeletionOutcome {
  return { ...running, status: 'rejected', phase: 'finished', regions: [], templates: [], error };
}

describe('renderOutcome', () => {
  it('shows every template and region with status and attempts', () => {
    const text = renderOutcome(running, { uiLink: 'http://ui/x' }).join('\n');
    expect(text).toContain('Image img-fixture01: running');
    expect(text).toContain('pivot cn-shanghai');
    expect(text).toContain('Temporal UI: http://ui/x');
    expect(text).toMatch(/b-1 \(office\)\s+deleted\s+1 attempt/);
    expect(text).toMatch(/cn-hangzhou\s+deleting\s+2 attempts\s+Throttling.User: slow down/);
  });

  it('shows the steps Temporal is retrying, with their attempt, the next one and the error before it', () => {
    const retrying: DeletionOutcome = {
      ...running,
      retrying: [
        {
          activityId: '7',
          activity: 'deleteImageInRegion',
          attempt: 3,
          maximumAttempts: 10,
          nextAttemptAt: '2026-11-30T10:41:03.250Z',
          lastError: { code: 'InternalError', message: 'delete image img-fixture01 in cn-hangzhou failed with InternalError' },
        },
      ],
    };
    const lines = renderOutcome(retrying);
    expect(lines).toContain('  retrying (1):');
    expect(lines).toContain(
      '    deleteImageInRegion (attempt 3 of 10, next at 10:41:03 UTC)  InternalError: delete image img-fixture01 in cn-hangzhou failed with InternalError',
    );
    expect(renderOutcome(running).some((line) => line.includes('retrying'))).toBe(false);
    // Change lines: a new attempt is news, the same one is not.
    expect(renderChanges(running, retrying)).toEqual([
      'retrying deleteImageInRegion (attempt 3 of 10, next at 10:41:03 UTC)  InternalError: delete image img-fixture01 in cn-hangzhou failed with InternalError',
    ]);
    expect(renderChanges(retrying, retrying)).toEqual([]);
  });

  it('ends a parked deletion with the cloud code and its explanation, and says how to go on', () => {
    const lines = renderOutcome(parked);
    expect(lines.join('\n')).toContain(`imgdel retry ${parked.imageId}`);
    expect(lines.at(-1)).toBe(`ImageNotAllowDelete: ${explain('ImageNotAllowDelete')}`);
  });

  it('does not tell to retry a parked deletion whose retry rounds are spent: its paragraph says to abandon it', () => {
    const progress = { ...parked, retries: 2, details: '' };
    const details = narrate(progress, 3600, 2);
    expect(details).toContain(`imgdel abandon ${parked.imageId}`);
    const text = renderOutcome({ ...progress, details }).join('\n');
    expect(text).toContain(details);
    expect(text).not.toContain('Fix the cause, then: imgdel retry');
    // With rounds left, the paragraph says to retry, once.
    const retryable = narrate({ ...parked, retries: 1, details: '' }, 3600, 2);
    const withRoundsLeft = renderOutcome({ ...parked, details: retryable }).join('\n');
    expect(withRoundsLeft.split(`imgdel retry ${parked.imageId}`)).toHaveLength(2);
  });

  it('says until when a parked deletion waits, when the client knows it', () => {
    const line = '  Parked until 2026-12-07 18:53:16 UTC: without a retry or abandon by then, the deletion fails (ParkTimeout).';
    expect(renderOutcome({ ...parked, parkedUntil: '2026-12-07T18:53:16.250Z' })).toContain(line);
    expect(renderOutcome(parked).some((text) => text.includes('Parked until'))).toBe(false);
  });

  it('says a cancel was requested among the facts while the deletion winds down', () => {
    expect(renderOutcome({ ...running, cancelRequested: true })[1]).toContain(' · cancel requested');
    expect(renderOutcome(running)[1]).not.toContain('cancel requested');
  });

  it('ends a rejected deletion with the code and explain()', () => {
    const rejected = rejectedWith({ code: 'ImageDeleteFailed.HasSharedImage', message: 'shared to 2 accounts' });
    const lines = renderOutcome(rejected);
    expect(lines).toContain('Error: ImageDeleteFailed.HasSharedImage: shared to 2 accounts');
    expect(lines.at(-1)).toBe(`ImageDeleteFailed.HasSharedImage: ${explain('ImageDeleteFailed.HasSharedImage')}`);
  });

  it('gives the advice once: a message that already carries it (as the activities write it) loses it on the Error line', () => {
    const advice = explain('Image.NotExist');
    const rejected = rejectedWith({ code: 'Image.NotExist', message: `validate image img-fixture01 failed with Image.NotExist: Image img-fixture01 does not exist. ${advice}` });
    const lines = renderOutcome(rejected);
    expect(lines).toContain('Error: Image.NotExist: validate image img-fixture01 failed with Image.NotExist: Image img-fixture01 does not exist.');
    expect(lines.at(-1)).toBe(`Image.NotExist: ${advice}`);
    expect(lines.join('\n').split(advice)).toHaveLength(2);
  });

  it("gives the advice once for a parked deletion too: the failed region's line leaves out what the last line says", () => {
    const advice = explain('ImageNotAllowDelete');
    const message = `DeleteImage in cn-hangzhou failed with ImageNotAllowDelete: in use. ${advice}`;
    const throttled = { code: 'Throttling.User', message: `DeleteTemplate failed with Throttling.User: slow down. ${explain('Throttling.User')}` };
    const lines = renderOutcome({
      ...parked,
      templates: [{ templateId: 'b-1', templateName: 'office', status: 'deleted', attempts: 2, lastError: throttled }],
      regions: [
        { regionId: 'cn-shanghai', status: 'deleted', attempts: 1 },
        { regionId: 'cn-hangzhou', status: 'failed', attempts: 1, lastError: { code: 'ImageNotAllowDelete', message } },
      ],
    });
    const text = lines.join('\n');
    expect(text).toContain('ImageNotAllowDelete: DeleteImage in cn-hangzhou failed with ImageNotAllowDelete: in use.');
    expect(text.split(advice)).toHaveLength(2);
    expect(lines.at(-1)).toBe(`ImageNotAllowDelete: ${advice}`);
    // Another code's advice is not on the last line, so its step keeps it.
    expect(text).toContain(explain('Throttling.User'));
  });

  it('explains a compensated deletion by the cloud code of the step that failed, not by "Compensated"', () => {
    const compensated: DeletionOutcome = {
      ...running,
      status: 'compensated',
      phase: 'finished',
      templates: [{ templateId: 'b-1', templateName: 'office', status: 'failed', attempts: 5, lastError: { code: 'DeleteTemplate.Failed', message: 'refused' } }],
      regions: [],
      error: { code: 'Compensated', message: 'templates restored' },
    };
    const lines = renderOutcome(compensated);
    expect(lines).toContain('Error: Compensated: templates restored');
    expect(lines.at(-1)).toBe(`DeleteTemplate.Failed: ${explain('DeleteTemplate.Failed')}`);
  });

  it('names the templates compensation could not re-create and says their snapshots are in the --json output', () => {
    const failed: DeletionOutcome = {
      ...running,
      status: 'failed',
      phase: 'finished',
      pivotRegion: undefined,
      regions: [],
      templates: [
        { templateId: 'b-1', templateName: 'office', status: 'failed', attempts: 1, lastError: { code: 'Image.NotExist', message: 'gone' } },
        { templateId: 'b-2', templateName: 'lab', status: 'kept', attempts: 3, lastError: { code: 'DeleteTemplate.Failed', message: 'refused' } },
      ],
      error: { code: 'CompensationFailed', message: 're-creating 1 template(s) failed' },
      unrestoredTemplates: [{ templateId: 'b-1', templateName: 'office', imageId: 'img-fixture01', fields: { SystemDiskSize: 80 } }],
    };
    const lines = renderOutcome(failed);
    expect(lines).toContain('  Templates NOT re-created (1): b-1 (office).');
    expect(lines.join('\n')).toContain('full snapshots are in the --json output (unrestoredTemplates): imgdel status img-fixture01 --json');
    expect(lines).toContain('Error: CompensationFailed: re-creating 1 template(s) failed');
    expect(renderOutcome({ ...failed, unrestoredTemplates: undefined }).join('\n')).not.toContain('NOT re-created');
  });

  it('ends an ImageHasNoRegions rejection with what to do, not as an unknown cloud code', () => {
    const rejected = rejectedWith({ code: 'ImageHasNoRegions', message: 'img-fixture01 is not in any region' });
    const last = renderOutcome(rejected).at(-1);
    expect(last).toBe(`ImageHasNoRegions: ${explain('ImageHasNoRegions')}`);
    expect(last).not.toMatch(/does not know/);
  });

  it.each(['RegionDeleteUnconfirmed', 'ActivityTimeout'])('ends a deletion parked by %s with what to do, not as an unknown cloud code', (code) => {
    const regions = [parked.regions[0], { regionId: 'cn-hangzhou', status: 'failed' as const, attempts: 10, lastError: { code, message: 'no' } }];
    const last = renderOutcome({ ...parked, regions: regions.filter((region) => region !== undefined) }).at(-1);
    expect(last).toBe(`${code}: ${explain(code)}`);
    expect(last).not.toMatch(/does not know/);
  });

  it("shows the cloud's request id of a failed step and of a refusal, for the cloud's support", () => {
    const regions = [{ regionId: 'cn-hangzhou', status: 'failed' as const, attempts: 1, lastError: { code: 'Forbidden.RAM', message: 'denied', requestId: 'REQ-1' } }];
    expect(renderOutcome({ ...parked, regions }).join('\n')).toContain('Forbidden.RAM: denied (request id REQ-1)');
    const rejected = rejectedWith({ code: 'ImageDeleteFailed.NotAllow', message: 'not yours', requestId: 'REQ-2' });
    expect(renderOutcome(rejected)).toContain('Error: ImageDeleteFailed.NotAllow: not yours (request id REQ-2)');
  });

  it('describes a dry-run plan without attempts', () => {
    const planned: DeletionOutcome = { ...running, status: 'planned', phase: 'finished', regions: [{ regionId: 'cn-shanghai', status: 'pending', attempts: 0 }] };
    const text = renderOutcome(planned).join('\n');
    expect(text).toContain('PLANNED');
    expect(text).toMatch(/cn-shanghai\s+would be deleted/);
    expect(text).not.toContain('0 attempts');
  });
});

describe('renderChanges', () => {
  it('tells the whole story first, then only what changed', () => {
    const first = renderChanges(undefined, running);
    expect(first[0]).toBe('img-fixture01: running (deleting-regions)');
    expect(first).toHaveLength(5);
    expect(renderChanges(running, running)).toEqual([]);
    const next = renderChanges(running, parked);
    expect(next).toEqual([
      'img-fixture01: awaiting-retry (awaiting-retry)',
      'region cn-hangzhou: failed, 1 attempt  ImageNotAllowDelete: in use',
    ]);
  });
});

describe('renderChanges of a dry run', () => {
  it('says what would be deleted while the plan is made, never "pending, 0 attempts"', () => {
    const planning: DeletionOutcome = {
      ...running,
      workflowId: 'delete-image-img-fixture01-dry-run',
      phase: 'validating',
      pivotRegion: undefined,
      templates: [{ templateId: 'b-1', templateName: 'office', status: 'pending', attempts: 0 }],
      regions: [{ regionId: 'cn-shanghai', status: 'pending', attempts: 0 }],
    };
    expect(renderChanges(undefined, planning)).toEqual([
      'img-fixture01: running (validating)',
      'template b-1 (office): would be deleted',
      'region cn-shanghai: would be deleted',
    ]);
    expect(renderOutcome(planning).join('\n')).not.toContain('0 attempts');
  });
});

describe('renderChanges before any step is known', () => {
  it('says that no worker answers, once, where a pipe would otherwise show nothing until the timeout', () => {
    const noAnswer: DeletionOutcome = {
      ...running,
      phase: 'validating',
      pivotRegion: undefined,
      templates: [],
      regions: [],
      details: 'No worker answered the progress query. Is a worker running on task queue image-deletion?',
    };
    expect(renderChanges(undefined, noAnswer)).toEqual([
      'img-fixture01: running (validating)',
      '  No worker answered the progress query. Is a worker running on task queue image-deletion?',
    ]);
    expect(renderChanges(noAnswer, noAnswer)).toEqual([]);
  });
});

describe('LiveProgress', () => {
  it('prints one line per change when not on a terminal', () => {
    let written = '';
    const live = new LiveProgress({ write: (text: string) => (written += text), isTTY: false });
    live.update(running);
    live.update(running);
    live.update(parked);
    expect(written.split('\n').filter((line) => line.startsWith('region cn-hangzhou'))).toHaveLength(2);
    expect(written).not.toContain('\x1b[');
  });

  it('redraws the block in place on a terminal', () => {
    const writes: string[] = [];
    const live = new LiveProgress({ write: (text: string) => writes.push(text), isTTY: true });
    live.update(running);
    live.update(parked);
    const blockLines = renderOutcome(running).length;
    expect(writes[0]?.startsWith('\x1b[')).toBe(false);
    expect(writes[1]?.startsWith(`\x1b[${blockLines}F\x1b[J`)).toBe(true);
    expect(writes[1]).toContain('PARKED');
  });
});

describe('screenRows', () => {
  it('counts wrapped lines so that a redraw erases all of the previous block', () => {
    expect(screenRows(['short', 'x'.repeat(81)], 80)).toBe(3);
    expect(screenRows(['', 'x'.repeat(80)], 80)).toBe(2);
    expect(screenRows(['a', 'b'], undefined)).toBe(2);
  });

  it('is what LiveProgress moves up over on a narrow terminal', () => {
    const writes: string[] = [];
    const live = new LiveProgress({ write: (text: string) => writes.push(text), isTTY: true, columns: 20 });
    live.update(running);
    live.update(running);
    expect(writes[1]?.startsWith(`\x1b[${screenRows(renderOutcome(running), 20)}F`)).toBe(true);
  });
});

describe('renderStarted and renderList', () => {
  it('says whether it started, attached or found the image already deleted', () => {
    const base = { workflowId: 'delete-image-img-a1b2', runId: 'r', imageId: 'img-a1b2', uiUrl: 'http://ui/w' };
    expect(renderStarted({ ...base, started: true })[0]).toMatch(/^Started/);
    expect(renderStarted({ ...base, started: false })[0]).toMatch(/already running; attached/);
    expect(renderStarted({ ...base, started: false, alreadyDeleted: true })[0]).toMatch(/already deleted/);
    expect(renderStarted({ ...base, started: true })).toContain('  Temporal UI  http://ui/w');
  });

  it('calls a dry run a dry run, never a deletion', () => {
    const dryRun = { workflowId: 'delete-image-img-a1b2-dry-run', runId: 'r', imageId: 'img-a1b2' };
    expect(renderStarted({ ...dryRun, started: true })[0]).toBe('Started a dry run of the deletion of img-a1b2 (nothing will be changed).');
    expect(renderStarted({ ...dryRun, started: false })[0]).toBe('A dry run of img-a1b2 is already running; attached to it (nothing will be changed).');
  });

  it('lists deletions as aligned columns', () => {
    const lines = renderList([
      { workflowId: 'delete-image-img-a1b2', runId: 'r', imageId: 'img-a1b2', status: 'awaiting-retry', dryRun: false, temporalStatus: 'RUNNING', startTime: '2026-01-02T03:04:05.678Z' },
      { workflowId: 'delete-image-img-c3d4-dry-run', runId: 'r', imageId: 'img-c3d4', status: 'planned', dryRun: true, temporalStatus: 'COMPLETED', startTime: '2026-01-02T03:04:05.678Z' },
    ]);
    expect(lines[0]).toMatch(/^IMAGE\s+STATUS\s+STARTED\s+WORKFLOW ID$/);
    expect(lines[1]).toMatch(/^img-a1b2\s+awaiting-retry\s+2026-01-02T03:04:05Z\s+delete-image-img-a1b2$/);
    expect(lines[2]).toContain('planned (dry run)');
    expect(renderList([])).toEqual(['No deletions found.']);
  });
});
