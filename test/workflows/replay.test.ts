/**
 * Replays the recorded histories (test/histories/*.json, written by
 * `npm run histories:record`) against today's workflow code: a change that is not
 * deterministic for deletions already in flight fails here. Guard such changes with
 * patched() (see README, "Changing the workflow").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR } from '../helpers/histories.js';
import { workflowBundle } from '../helpers/stack.js';

const files = readdirSync(HISTORIES_DIR).filter((name) => name.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    // Deletions started before the wider-region-fanout patch, and after it.
    expect(files.filter((file) => file.startsWith('v1-'))).toHaveLength(4);
    // Started through the client before it wrote the region concurrency into the input and
    // marked its search attributes in the memo (the workflow then wrote them again), and after.
    expect(files).toContain('v2-client-started-clean-3-regions.json');
    expect(files).toContain('client-started-clean-3-regions.json');
    // Cancelled before cancellations let the deletes in flight finish (drain-deletes-on-cancel),
    // two of them with the cancel in the same workflow task as a delete's answer.
    expect(files.filter((file) => file.startsWith('v3-cancelled-'))).toHaveLength(4);
    // And after it: a cancel that let a region delete in flight finish.
    expect(files).toContain('cancelled-draining-a-region-delete.json');
    // A copy gone before the first DeleteImage passed the pivot (then parked), and no longer does
    // (pivot-only-when-removed: compensated).
    expect(files).toContain('v4-pivot-passed-by-a-copy-gone-before.json');
    expect(files).toContain('pivot-not-passed-by-a-copy-gone-before.json');
    // A region delete whose last attempt timed out was not waited for before compensating, and is
    // (timed-out-deletes-unanswered: the delete landed late, so the deletion went on).
    expect(files).toContain('v5-compensated-after-a-timed-out-region-delete.json');
    expect(files).toContain('deleted-after-a-timed-out-region-delete-landed-late.json');
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history: unknown = JSON.parse(readFileSync(`${HISTORIES_DIR}${file}`, 'utf8'));
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [
      { workflowId: file.replace(/\.json$/, ''), history },
    ]);
    let replayed = 0;
    for await (const result of results) {
      expect(result.error).toBeUndefined();
      replayed += 1;
    }
    expect(replayed).toBe(1);
  });
});
