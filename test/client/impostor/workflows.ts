/**
 * A `deleteImage` that is not imgdel's, for the progress-query tests: its progress query fails
 * (input reason "failing-query", as a workflow whose task fails would answer), or answers with a
 * phase imgdel does not know (reason "newer-worker", as a newer worker might). It then waits;
 * with reason "completes-unreadable" it completes at once with a report imgdel cannot read.
 */
import { condition, defineQuery, setHandler } from '@temporalio/workflow';

const progressQuery = defineQuery<unknown>('progress');

export async function deleteImage(input: { imageId: string; reason?: string }): Promise<unknown> {
  if (input.reason === 'completes-unreadable') return { imageId: input.imageId, status: 'vanished', phase: 'beyond' };
  setHandler(progressQuery, () => {
    if (input.reason === 'failing-query') throw new Error('impostor: this worker cannot answer');
    return {
      imageId: input.imageId,
      status: 'running',
      phase: 'teleporting',
      templates: [],
      regions: [],
      retries: 0,
      details: 'a phase from the future',
    };
  });
  await condition(() => false);
}
