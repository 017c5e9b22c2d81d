// Reads vitest's JSON report and prints "<passed> <failed>" for .ci/run's closing line.
// A test file that fails to import, or a failing hook, fails its file without failing a test:
// each such file counts as one failure, so the closing line never says "0 failed" for a red run.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * @param {unknown} report the parsed vitest JSON report
 * @param {number} testExitCode the exit status of `npm test`
 * @returns {{ passed: number, failed: number, notes: string[] }}
 */
export function summarize(report, testExitCode) {
  const notes = [];
  if (typeof report !== 'object' || report === null) {
    return { passed: 0, failed: 1, notes: ['the test report is not a JSON object'] };
  }
  const passed = Number(report.numPassedTests) || 0;
  const failedTests = Number(report.numFailedTests) || 0;
  const files = Array.isArray(report.testResults) ? report.testResults : [];
  const assertionsOf = (file) => (Array.isArray(file?.assertionResults) ? file.assertionResults : []);
  const filesFailedWithoutFailedTest = files.filter(
    (file) => file?.status === 'failed' && !assertionsOf(file).some((assertion) => assertion?.status === 'failed'),
  );
  // A file whose test process died (a native crash, the OOM killer) is reported "passed" with its
  // tests "pending": they never ran, which is a failure of the file, not a skip.
  const filesThatNeverFinished = files.filter(
    (file) =>
      !filesFailedWithoutFailedTest.includes(file) &&
      !assertionsOf(file).some((assertion) => assertion?.status === 'failed') &&
      assertionsOf(file).some((assertion) => assertion?.status === 'pending'),
  );
  // A test skipped for want of a tool (chromium, docker-compose, hadolint) counts in neither
  // number: name it, so a green line never hides a check that did not run.
  for (const file of files) {
    if (filesThatNeverFinished.includes(file)) continue;
    for (const assertion of assertionsOf(file)) {
      if (assertion?.status === 'passed' || assertion?.status === 'failed') continue;
      const title = typeof assertion?.fullName === 'string' && assertion.fullName !== '' ? assertion.fullName : String(assertion?.title ?? 'a test');
      notes.push(`skipped: ${relative(process.cwd(), String(file?.name ?? ''))} > ${title}`);
    }
  }
  for (const file of filesFailedWithoutFailedTest) {
    const why = typeof file.message === 'string' && file.message !== '' ? file.message.split('\n')[0] : 'a hook or the file itself failed';
    notes.push(`${file.name}: ${why}`);
  }
  for (const file of filesThatNeverFinished) {
    const notRun = assertionsOf(file).filter((assertion) => assertion?.status === 'pending').length;
    notes.push(`${file.name}: ${notRun} test(s) never finished (its test process ended early: crashed or killed)`);
  }
  let failed = failedTests + filesFailedWithoutFailedTest.length + filesThatNeverFinished.length;
  // An unhandled error or a failed type check fails the run with every test green.
  if (failed === 0 && (testExitCode !== 0 || report.success === false)) {
    notes.push(`npm test exited with ${testExitCode} although no test failed (type check, unhandled error or a setup failure)`);
    failed = 1;
  }
  return { passed, failed, notes };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const [reportPath = '', exitCodeText = '1'] = process.argv.slice(2);
  let summary;
  try {
    summary = summarize(JSON.parse(readFileSync(reportPath, 'utf8')), Number(exitCodeText));
  } catch (error) {
    summary = { passed: 0, failed: 1, notes: [`no usable test report at ${reportPath}: ${error instanceof Error ? error.message : String(error)}`] };
  }
  for (const note of summary.notes) console.error(note);
  console.log(`${summary.passed} ${summary.failed}`);
}
