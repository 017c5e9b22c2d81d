/**
 * Every `imgdel` command and exit code, against the real stack (in-process CLI with
 * captured output), plus the real executable (bin/imgdel.mjs) for exit codes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CommandInterrupted } from '../../src/cli/interrupted.js';
import { explain } from '../../src/cloud/errors.js';
import { startTestStack, workflowExists } from '../helpers/stack.js';
import { testNamespace } from '../helpers/temporal.js';
import type { TestStack } from '../helpers/stack.js';
import { imgdel, parseOutcomeJson, seedImage, stackEnv } from '../client/fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/imgdel.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

let stack: TestStack;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack();
  env = stackEnv(stack);
});

// A fault a test adds (slow or failing calls for every image) never outlives it, failed or not.
afterEach(async () => {
  await stack?.admin.clearFaults();
});

afterAll(async () => {
  await stack?.close();
});

/** `interruptWhen`: sends the command one SIGINT (a Ctrl-C) once its stdout so far passes the test. */
function runBin(
  args: string[],
  extraEnv: Record<string, string>,
  options: { interruptWhen?: (stdout: string) => boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!interrupted && options.interruptWhen?.(stdout) === true) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bad usage and invalid input: exit 2, nothing started', () => {
  const badIds: Array<[string, string]> = [
    ['empty', ''],
    ['malformed', 'IMG_not-an-id'],
    ['oversized', `img-${'a'.repeat(70)}`],
    ['unicode look-alike (Cyrillic е)', 'img-dеmo0001'],
    ['fullwidth digits', 'img-demo０００１'],
    ['shell metacharacters', 'img-demo0001;rm'],
  ];
  for (const [label, imageId] of badIds) {
    it(`refuses a ${label} image id`, async () => {
      const run = await imgdel(['delete', imageId], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/invalid deletion input \(nothing was started\): imageId/);
      expect(await workflowExists(stack.client, `delete-image-${imageId}`)).toBe(false);
    });
  }

  it('prints one JSON error object with --json', async () => {
    const run = await imgdel(['delete', 'nope', '--json'], env);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'InvalidInput' } });
  });

  it('refuses an abandon reason over 500 characters before asking Temporal', async () => {
    const run = await imgdel(['abandon', 'img-a1b2c3d4', '--reason', 'x'.repeat(501), '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { code: 'InvalidInput', message: 'invalid deletion input (nothing was abandoned): --reason: must be at most 500 characters' },
    });
  });

  it('refuses a non-numeric option value through the input schema', async () => {
    const run = await imgdel(['delete', 'img-a1b2c3d4', '--region-concurrency', 'many'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--region-concurrency: must be a whole number from 1 to 32');
    expect(await workflowExists(stack.client, 'delete-image-img-a1b2c3d4')).toBe(false);
  });

  it('maps commander usage errors to 2 and help to 0', async () => {
    expect((await imgdel(['delete'], env)).code).toBe(2);
    expect((await imgdel(['delete', 'img-a1b2c3d4', '--frobnicate'], env)).code).toBe(2);
    expect((await imgdel(['explode'], env)).code).toBe(2);
    expect((await imgdel([], env)).code).toBe(2);
    expect((await imgdel(['list', '--status', 'sideways'], env)).code).toBe(2);
    expect((await imgdel(['list', '--limit', 'lots'], env)).code).toBe(2);
    const help = await imgdel(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toContain('imgdel delete img-demo0001 --wait');
  });
});

describe('a namespace the server does not have: exit 2', () => {
  it('names the namespace and the server, and says how to list or create namespaces', async () => {
    const run = await imgdel(['delete', 'img-a1b2c3d4', '--json'], { ...env, TEMPORAL_NAMESPACE: 'no-such-namespace' });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { code: 'NamespaceNotFound', message: expect.stringContaining('has no namespace "no-such-namespace"') as unknown },
    });
    expect(run.stderr).toContain('temporal operator namespace list');
  });
});

describe('stopped by a signal', () => {
  it('--json prints one Interrupted error object; the exit code is the signal\'s', async () => {
    const stopped = await imgdel(['status', 'img-a1b2c3d4', '--json'], env, { signal: AbortSignal.abort(new CommandInterrupted('SIGTERM')) });
    expect(stopped.code).toBe(143);
    expect(JSON.parse(stopped.stdout)).toEqual({
      error: {
        code: 'Interrupted',
        message:
          'stopped by SIGTERM. Only this command stopped: what Temporal had already accepted goes on ' +
          '(a deletion keeps running without it; imgdel cancel stops one): see imgdel status img-a1b2c3d4',
      },
    });
  });
});

describe('cannot reach Temporal: exit 4', () => {
  it('names the address it tried', async () => {
    const run = await imgdel(['status', 'img-a1b2c3d4'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  });
});

describe('delete, status, list', () => {
  it('deletes with --wait (exit 0), prints the workflow id and its UI link, and a second delete reports it already deleted', async () => {
    const imageId = await seedImage(stack.admin, { templates: 2 });
    const run = await imgdel(['delete', imageId, '--wait', '--reason', 'retired'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`workflow id  delete-image-${imageId}`);
    expect(run.stdout).toContain(`http://127.0.0.1:8233/namespaces/default/workflows/delete-image-${imageId}`);
    expect(run.stdout).toContain(`Image ${imageId}: DELETED in every region`);
    // Not a TTY: one line per change, no cursor movement.
    expect(run.stdout).toMatch(/^region cn-hangzhou: deleted, 1 attempt$/m);
    expect(run.stdout).not.toContain('\x1b[');

    const again = await imgdel(['delete', imageId], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already deleted');
    const againJson = await imgdel(['delete', imageId, '--json'], env);
    expect(againJson.code).toBe(0);
    expect(JSON.parse(againJson.stdout)).toMatchObject({ status: 'deleted', started: false, alreadyDeleted: true });

    const status = await imgdel(['status', imageId, '--json'], env);
    expect(status.code).toBe(0);
    const outcome = parseOutcomeJson(status.stdout);
    expect(outcome).toMatchObject({ workflowId: `delete-image-${imageId}`, imageId, status: 'deleted', phase: 'finished' });
    expect(outcome.templates).toHaveLength(2);
    expect(outcome.regions.every((region) => region.status === 'deleted')).toBe(true);
    expect(outcome.pivotRegion).toBeDefined();
  });

  it('--wait --json prints exactly one JSON object', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai'] });
    const run = await imgdel(['delete', imageId, '--wait', '--json'], env);
    expect(run.code).toBe(0);
    expect(parseOutcomeJson(run.stdout).status).toBe('deleted');
    const printed: unknown = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ started: true });
    expect(printed).not.toHaveProperty('alreadyDeleted');
  });

  it('delete without --wait exits 0 with the deletion running, and attaches on a second start', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 1_500, times: -1 });
    const first = await imgdel(['delete', imageId, '--json'], env);
    expect(first.code).toBe(0);
    expect(parseOutcomeJson(first.stdout).status).toBe('running');
    expect(JSON.parse(first.stdout)).toMatchObject({ started: true });
    const second = await imgdel(['delete', imageId], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already running; attached');
    const attachedJson = await imgdel(['delete', imageId, '--json'], env);
    expect(JSON.parse(attachedJson.stdout)).toMatchObject({ started: false, status: 'running' });
    const waited = await imgdel(['status', imageId], env);
    expect(waited.code).toBe(0);
  });

  it('--dry-run prints the plan and exits 0, changing nothing', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    const run = await imgdel(['delete', imageId, '--dry-run', '--json'], env);
    expect(run.code).toBe(0);
    const plan = parseOutcomeJson(run.stdout);
    expect(plan.status).toBe('planned');
    expect(plan.workflowId).toBe(`delete-image-${imageId}-dry-run`);
    expect(plan.regions.map((region) => region.regionId).sort()).toEqual(['cn-hangzhou', 'cn-shanghai']);
    const state = await stack.admin.state();
    expect(state.images.find((image) => image.imageId === imageId)?.regions).toHaveLength(2);
    expect(await workflowExists(stack.client, `delete-image-${imageId}`)).toBe(false);
  });

  it('a rejected deletion exits 1 and ends with the cloud code and its explanation', async () => {
    const imageId = await seedImage(stack.admin, { inUse: true });
    const run = await imgdel(['delete', imageId, '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`ImageNotAllowDelete: ${explain('ImageNotAllowDelete')}`);
    const json = await imgdel(['status', imageId, '--json'], env);
    expect(json.code).toBe(1);
    expect(parseOutcomeJson(json.stdout)).toMatchObject({ status: 'rejected', error: { code: 'ImageNotAllowDelete' } });
  });

  it('a compensation that cannot re-create a template exits 1, names it, and --json carries its full snapshot', async () => {
    const imageId = await seedImage(stack.admin, { templates: 2 });
    const kept = `b-${imageId.slice(4)}1`;
    const lost = `b-${imageId.slice(4)}0`;
    await stack.admin.addFault({ action: 'DeleteTemplates', code: 'DeleteTemplate.Failed', templateId: kept, times: -1 });
    await stack.admin.addFault({ action: 'CreateTemplate', code: 'Image.NotExist', imageId, times: -1 });
    const run = await imgdel(['delete', imageId, '--wait', '--region-concurrency', '1'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`Templates NOT re-created (1): ${lost} (tpl-${imageId}-0)`);
    expect(run.stdout).toContain(`imgdel status ${imageId} --json`);

    const json = await imgdel(['status', imageId, '--json'], env);
    expect(json.code).toBe(1);
    const outcome = parseOutcomeJson(json.stdout);
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'CompensationFailed' } });
    expect(outcome.templates.find((template) => template.templateId === lost)).toMatchObject({ status: 'failed', lastError: { code: 'Image.NotExist' } });
    expect(outcome.unrestoredTemplates).toHaveLength(1);
    expect(outcome.unrestoredTemplates?.[0]).toMatchObject({ templateId: lost, templateName: `tpl-${imageId}-0`, imageId });
    expect(outcome.unrestoredTemplates?.[0]?.fields).toMatchObject({ SystemDiskSize: 80 });

    const human = await imgdel(['status', imageId], env);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`Templates NOT re-created (1): ${lost} (tpl-${imageId}-0)`);
  });

  it('status of an image never deleted exits 1 and says so', async () => {
    const run = await imgdel(['status', 'img-nodeletion0001'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no deletion found for image img-nodeletion0001');
    expect(run.stderr).toContain(`in namespace ${testNamespace()}`);
    expect(run.stderr).toContain('start one: imgdel delete img-nodeletion0001');
  });
});

describe('parked: retry and abandon', () => {
  it('delete --wait exits 3 when parked; list finds it; retry --wait exits 3 while the cause stays, 0 once fixed', async () => {
    const imageId = await seedImage(stack.admin);
    const fault = await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    const parked = await imgdel(['delete', imageId, '--wait'], env);
    expect(parked.code).toBe(3);
    expect(parked.stdout).toContain('PARKED, awaiting retry');
    expect(parked.stdout).toContain(`imgdel retry ${imageId}`);
    expect(parked.stdout.trimEnd().split('\n').at(-1)).toBe(`ImageNotAllowDelete: ${explain('ImageNotAllowDelete')}`);
    expect(parked.stdout).toMatch(/Parked until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC: without a retry or abandon by then/);

    // A second start attaches to the parked deletion: it says it is parked and what to do, as exit 3 does.
    const attached = await imgdel(['delete', imageId], env);
    expect(attached.code).toBe(3);
    expect(attached.stdout).toContain('already running; attached');
    expect(attached.stdout).toContain('PARKED, awaiting retry');
    expect(attached.stdout).toContain(`imgdel retry ${imageId}`);

    const status = await imgdel(['status', imageId, '--json'], env);
    expect(status.code).toBe(3);
    const outcome = parseOutcomeJson(status.stdout);
    expect(outcome.status).toBe('awaiting-retry');
    expect(outcome.parkedUntil).toBeDefined();
    expect(outcome.regions.find((region) => region.regionId === 'cn-hangzhou')).toMatchObject({
      status: 'failed',
      lastError: { code: 'ImageNotAllowDelete' },
    });

    let listed: { deletions: Array<{ imageId: string; status: string }> } = { deletions: [] };
    for (let attempt = 0; attempt < 100 && !listed.deletions.some((item) => item.imageId === imageId); attempt++) {
      const list = await imgdel(['list', '--status', 'AwaitingRetry', '--json'], env);
      expect(list.code).toBe(0);
      listed = JSON.parse(list.stdout) as typeof listed;
      if (!listed.deletions.some((item) => item.imageId === imageId)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed.deletions.find((item) => item.imageId === imageId)?.status).toBe('awaiting-retry');
    const table = await imgdel(['list', '--status', 'awaiting-retry'], env);
    expect(table.stdout).toMatch(new RegExp(`^${imageId}\\s+awaiting-retry`, 'm'));

    const stillParked = await imgdel(['retry', imageId, '--wait'], env);
    expect(stillParked.code).toBe(3);

    await fetch(`${stack.emulator.url}/_emulator/faults/${fault.id}`, { method: 'DELETE' });
    const retried = await imgdel(['retry', imageId, '--wait', '--json'], env);
    expect(retried.code).toBe(0);
    expect(parseOutcomeJson(retried.stdout).status).toBe('deleted');

    const nothingLeft = await imgdel(['retry', imageId], env);
    expect(nothingLeft.code).toBe(1);
    expect(nothingLeft.stderr).toContain('nothing to retry');
  });

  it('retry is refused with a clear message while nothing failed', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 1_500, times: -1 });
    expect((await imgdel(['delete', imageId], env)).code).toBe(0);
    const refused = await imgdel(['retry', imageId, '--json'], env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'NothingToRetry' } });
    expect(refused.stderr).toMatch(/nothing to retry for image/);
  });

  it('abandon ends a parked deletion: exit 1, status abandoned, error code Abandoned', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai', 'cn-hangzhou'] });
    await stack.admin.addFault({ action: 'DeleteImage', imageId, regionId: 'cn-hangzhou', code: 'ImageNotAllowDelete', times: -1 });
    expect((await imgdel(['delete', imageId, '--wait'], env)).code).toBe(3);
    const run = await imgdel(['abandon', imageId, '--json'], env);
    expect(run.code).toBe(1);
    expect(parseOutcomeJson(run.stdout)).toMatchObject({ status: 'abandoned', error: { code: 'Abandoned' } });
  });
});

describe('cancel', () => {
  it('cancels a running deletion (exit 0); status then says cancelled (exit 1); a second cancel exits 1', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteTemplates', latencyMs: 3_000, times: -1 });
    expect((await imgdel(['delete', imageId], env)).code).toBe(0);
    const cancel = await imgdel(['cancel', imageId], env);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain('Cancellation of');
    await stack.admin.clearFaults();
    let status = await imgdel(['status', imageId, '--json'], env);
    for (let attempt = 0; attempt < 100 && parseOutcomeJson(status.stdout).status === 'running'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await imgdel(['status', imageId, '--json'], env);
    }
    expect(parseOutcomeJson(status.stdout).status).toBe('cancelled');
    expect(status.code).toBe(1);
    const again = await imgdel(['cancel', imageId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing to cancel');
    const againJson = await imgdel(['cancel', imageId, '--json'], env);
    expect(againJson.code).toBe(1);
    expect(JSON.parse(againJson.stdout)).toMatchObject({
      workflowId: `delete-image-${imageId}`,
      requested: false,
      outcome: { status: 'cancelled' },
    });
  });

  it('--json says the cancellation was requested, in one object on stdout', async () => {
    const imageId = await seedImage(stack.admin);
    await stack.admin.addFault({ action: 'DeleteTemplates', latencyMs: 3_000, times: -1 });
    expect((await imgdel(['delete', imageId], env)).code).toBe(0);
    const cancel = await imgdel(['cancel', imageId, '--json'], env);
    await stack.admin.clearFaults();
    expect(cancel.code).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({ workflowId: `delete-image-${imageId}`, requested: true });
  });
});

describe('cancel --dry-run', () => {
  it('ends a dry run no worker ever answered, which then no longer holds a new dry run; there is no deletion to cancel', async () => {
    const imageId = await seedImage(stack.admin);
    const nobody = { ...env, IMGDEL_TASK_QUEUE: `nobody-polls-${imageId}` };
    expect((await imgdel(['delete', imageId, '--dry-run', '--worker-timeout', '1'], nobody)).code).toBe(5);
    const cancel = await imgdel(['cancel', imageId, '--dry-run', '--json'], nobody);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({ workflowId: `delete-image-${imageId}-dry-run`, requested: true });
    // Ended at once, with no worker: a new dry run starts and is answered.
    const planned = await imgdel(['delete', imageId, '--dry-run', '--json'], env);
    expect(planned.code, planned.stderr).toBe(0);
    expect(parseOutcomeJson(planned.stdout).status).toBe('planned');
    const noDeletion = await imgdel(['cancel', imageId], env);
    expect(noDeletion.code).not.toBe(0);
  });
});

describe('the imgdel executable', () => {
  it('exits 2 for invalid input, 4 without Temporal, 0 for a deletion', async () => {
    const invalid = await runBin(['delete', 'img-dеmo0001'], env);
    expect(invalid.code).toBe(2);
    const unreachable = await runBin(['status', 'img-a1b2c3d4'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain('127.0.0.1:1');
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai'] });
    const deleted = await runBin(['delete', imageId, '--wait', '--json'], env);
    expect(deleted.code).toBe(0);
    expect(parseOutcomeJson(deleted.stdout).status).toBe('deleted');
  });

  it('Ctrl-C stops delete --wait at once (exit 130), saying only the command stopped; the deletion goes on', async () => {
    const imageId = await seedImage(stack.admin, { regions: ['cn-shanghai'] });
    // A slow region delete keeps the deletion running well past the Ctrl-C.
    await stack.admin.addFault({ action: 'DeleteImage', imageId, latencyMs: 30_000, times: -1 });
    const stopped = await runBin(['delete', imageId, '--wait'], env, { interruptWhen: (stdout) => stdout.includes(`Started the deletion of ${imageId}.`) });
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toBe(
      'imgdel: stopped by SIGINT. Only this command stopped: what Temporal had already accepted goes on ' +
        `(a deletion keeps running without it; imgdel cancel stops one): see imgdel status ${imageId}\n`,
    );
    const handle = stack.client.workflow.getHandle(`delete-image-${imageId}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test cleanup');
  });

  it('runs the emulator subcommand (its help, from emulatorCommand())', async () => {
    const help = await runBin(['emulator', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--seed <name>');
    // The admin API that drives it (faults, limits) is in its help, not only in the source.
    expect(help.stdout).toMatch(/POST +faults/);
    expect(help.stdout).toMatch(/POST +limits/);
  });
});
