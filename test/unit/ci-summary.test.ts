/**
 * .ci/run's closing line `tests: N passed, M failed` is what CI reads. Its numbers come from
 * .ci/test-summary.mjs; the reports below have the shape vitest's JSON reporter writes.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SUMMARY_SCRIPT = fileURLToPath(new URL('../../.ci/test-summary.mjs', import.meta.url));

function summarize(report: unknown, testExitCode: number): { passed: number; failed: number; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imgdel-ci-summary-'));
  const reportPath = join(dir, 'vitest.json');
  let result: SpawnSyncReturns<string>;
  try {
    if (report !== undefined) writeFileSync(reportPath, JSON.stringify(report));
    result = spawnSync(process.execPath, [SUMMARY_SCRIPT, reportPath, String(testExitCode)], { encoding: 'utf8' });
  } finally {
    // The script has read the report by now: no run leaves its directory behind.
    rmSync(dir, { recursive: true, force: true });
  }
  expect(result.status).toBe(0);
  const [passed, failed] = result.stdout.trim().split(' ').map(Number);
  return { passed: passed ?? Number.NaN, failed: failed ?? Number.NaN, stderr: result.stderr };
}

const passingFile = { name: 'ok.test.ts', status: 'passed', message: '', assertionResults: [{ status: 'passed' }] };

describe('.ci/test-summary.mjs', () => {
  it('names each skipped test before the numbers, which count only passed and failed ones', () => {
    const report = {
      numPassedTests: 1,
      numFailedTests: 0,
      success: true,
      testResults: [
        { name: 'ui.test.ts', status: 'passed', message: '', assertionResults: [{ status: 'passed' }, { status: 'skipped', fullName: 'Temporal UI shows a deletion' }] },
      ],
    };
    const summary = summarize(report, 0);
    expect([summary.passed, summary.failed]).toEqual([1, 0]);
    expect(summary.stderr).toContain('skipped: ui.test.ts > Temporal UI shows a deletion');
    expect(summarize({ ...report, testResults: [passingFile] }, 0).stderr).not.toContain('skipped');
  });

  it('counts passed and failed tests', () => {
    const report = {
      numPassedTests: 3,
      numFailedTests: 1,
      success: false,
      testResults: [passingFile, { name: 'bad.test.ts', status: 'failed', message: '', assertionResults: [{ status: 'failed' }] }],
    };
    expect(summarize(report, 1)).toMatchObject({ passed: 3, failed: 1 });
  });

  it('counts a test file that fails to import as a failure', () => {
    const report = {
      numPassedTests: 1,
      numFailedTests: 0,
      numFailedTestSuites: 1,
      success: false,
      testResults: [passingFile, { name: 'import-fail.test.ts', status: 'failed', message: "Cannot find module './gone.js'", assertionResults: [] }],
    };
    const summary = summarize(report, 1);
    expect(summary).toMatchObject({ passed: 1, failed: 1 });
    expect(summary.stderr).toContain("import-fail.test.ts: Cannot find module './gone.js'");
  });

  it('counts a file whose hook failed (its tests skipped) as a failure', () => {
    const report = {
      numPassedTests: 1,
      numFailedTests: 0,
      success: false,
      testResults: [passingFile, { name: 'hook-fail.test.ts', status: 'failed', message: '', assertionResults: [{ status: 'skipped' }] }],
    };
    expect(summarize(report, 1)).toMatchObject({ passed: 1, failed: 1 });
  });

  it('counts a file whose test process died as a failure, not its tests as skipped', () => {
    // What vitest reports for a file whose fork was killed mid-run: "passed", every test "pending".
    const crashed = {
      name: 'crashed.test.ts',
      status: 'passed',
      message: '',
      assertionResults: [{ status: 'pending', fullName: 'ran first' }, { status: 'pending', fullName: 'killed the process' }],
    };
    const run = summarize({ numPassedTests: 1, numFailedTests: 0, success: false, testResults: [passingFile, crashed] }, 1);
    expect([run.passed, run.failed]).toEqual([1, 1]);
    expect(run.stderr).toContain('crashed.test.ts: 2 test(s) never finished');
    expect(run.stderr).not.toContain('skipped:');
  });

  it('never says 0 failed when npm test failed', () => {
    const report = { numPassedTests: 5, numFailedTests: 0, success: true, testResults: [passingFile] };
    expect(summarize(report, 1)).toMatchObject({ passed: 5, failed: 1 });
    expect(summarize(report, 0)).toMatchObject({ passed: 5, failed: 0 });
  });

  it('counts a missing report as one failure', () => {
    expect(summarize(undefined, 1)).toMatchObject({ passed: 0, failed: 1 });
  });
});
