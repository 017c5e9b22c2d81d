/**
 * The client library checks its callers' options as it checks a deletion's input: a value out of
 * range is an InvalidDeletionInputError naming the option, before anything reaches Temporal
 * (no server runs here: a call that got that far would fail differently).
 */
import { describe, expect, it } from 'vitest';
import { createImgdelClient, InvalidDeletionInputError, isImgdelError } from '../../src/client/index.js';

const unreachable = { address: '127.0.0.1:1', connectTimeoutMs: 200 };

async function refusal(call: Promise<unknown>): Promise<InvalidDeletionInputError> {
  const error: unknown = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidDeletionInputError);
  expect(isImgdelError(error) && error.code).toBe('InvalidInput');
  return error as InvalidDeletionInputError;
}

describe('client options', () => {
  it('refuses a client whose timeouts are not positive durations', () => {
    for (const bad of [{ workerTimeoutMs: Number.NaN }, { queryTimeoutMs: 0 }, { connectTimeoutMs: -5 }, { workerTimeoutMs: 2 ** 40 }]) {
      expect(() => createImgdelClient({ ...unreachable, ...bad })).toThrow(InvalidDeletionInputError);
    }
    expect(() => createImgdelClient({ ...unreachable, workerTimeoutMs: Number.NaN })).toThrow(/invalid client options \(no client was made\): workerTimeoutMs/);
  });

  it('refuses an empty task queue or namespace and an address that is not host:port, as it refuses them from the environment', () => {
    for (const [bad, field] of [
      [{ taskQueue: '' }, 'taskQueue'],
      [{ taskQueue: '   ' }, 'taskQueue'],
      [{ namespace: '' }, 'namespace'],
      [{ address: 'temporal' }, 'address'],
      [{ address: '127.0.0.1:99999' }, 'address'],
    ] as const) {
      expect(() => createImgdelClient({ ...unreachable, ...bad })).toThrow(new RegExp(`invalid client options \\(no client was made\\): ${field}:`));
    }
  });

  it('takes a task queue or namespace with stray spaces as the environment does, not as a queue no worker polls', () => {
    const imgdel = createImgdelClient({ ...unreachable, taskQueue: ' image-deletion ', namespace: ' default ' });
    expect(imgdel.taskQueue).toBe('image-deletion');
    expect(imgdel.namespace).toBe('default');
  });

  it('refuses a list limit below 1 and an unknown status, instead of one item or an empty list', async () => {
    const imgdel = createImgdelClient(unreachable);
    try {
      expect((await refusal(imgdel.list({ limit: 0 }))).issues.map((issue) => issue.field)).toEqual(['limit']);
      // As a JavaScript caller could pass it.
      const bogus = await refusal(imgdel.list({ status: 'bogus' as never }));
      expect(bogus.message).toMatch(/nothing was listed.*status/);
    } finally {
      await imgdel.close();
    }
  });

  it('refuses an abandon reason that is not text, as a JavaScript caller could pass it, before asking Temporal', async () => {
    const imgdel = createImgdelClient(unreachable);
    try {
      const notText = await refusal(imgdel.abandon('img-a1b2c3d4', 42 as never));
      expect(notText.issues).toEqual([{ field: 'reason', message: 'must be text' }]);
      expect(notText.message).toContain('nothing was abandoned');
      expect((await refusal(imgdel.abandon('img-a1b2c3d4', 'x'.repeat(501)))).issues).toEqual([
        { field: 'reason', message: 'must be at most 500 characters' },
      ]);
    } finally {
      await imgdel.close();
    }
  });

  it('refuses a dryRun that is not true or false, instead of addressing (and cancelling) the real deletion', async () => {
    const imgdel = createImgdelClient(unreachable);
    try {
      // As a JavaScript caller could pass it, e.g. from a query string.
      const notBoolean = { dryRun: 'true' as never };
      const cancelled = await refusal(imgdel.cancel('img-a1b2c3d4', notBoolean));
      expect(cancelled.message).toBe('invalid client options (nothing was cancelled): dryRun: must be true or false');
      for (const call of [imgdel.outcome('img-a1b2c3d4', notBoolean), imgdel.getProgress('img-a1b2c3d4', notBoolean), imgdel.waitForOutcome('img-a1b2c3d4', notBoolean)]) {
        expect((await refusal(call)).issues).toEqual([{ field: 'dryRun', message: 'must be true or false' }]);
      }
    } finally {
      await imgdel.close();
    }
  });

  it('refuses a wait, retry or abandon whose timeouts are not positive durations', async () => {
    const imgdel = createImgdelClient(unreachable);
    try {
      expect((await refusal(imgdel.retry('img-a1b2c3d4', { workerTimeoutMs: Number.NaN }))).message).toContain('nothing was retried');
      expect((await refusal(imgdel.abandon('img-a1b2c3d4', undefined, { workerTimeoutMs: 0 }))).message).toContain('nothing was abandoned');
      expect((await refusal(imgdel.waitForOutcome('img-a1b2c3d4', { pollMs: -1 }))).issues.map((issue) => issue.field)).toEqual(['pollMs']);
    } finally {
      await imgdel.close();
    }
  });
});
