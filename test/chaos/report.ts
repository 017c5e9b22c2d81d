/** The table a chaos run prints: outcomes (planned and observed), faults, chaos, time, verdict. */
import type { ChaosReport } from './run.js';

const WIDTH = 46;

function row(label: string, ...values: Array<string | number>): string {
  return `  ${label.padEnd(WIDTH)}${values.map((value) => String(value).padStart(10)).join('')}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

export function formatReport(report: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`imgdel chaos run: seed ${report.seed}, ${report.images} images`, '');
  lines.push(row('outcome', 'planned', 'observed'));
  const labels = [...new Set([...report.planned.keys(), ...report.outcomes.keys()])].sort();
  for (const label of labels) lines.push(row(label, report.planned.get(label) ?? 0, report.outcomes.get(label) ?? 0));
  lines.push('', row('faults injected', 'calls'));
  for (const [label, count] of [...report.faultsInjected.entries()].sort()) lines.push(row(label, count));
  const totalFaults = [...report.faultsInjected.values()].reduce((sum, count) => sum + count, 0);
  lines.push(row('total', totalFaults));
  lines.push('', row('chaos', 'count'));
  lines.push(row('worker SIGKILLs', report.workerKills));
  lines.push(row('worker restarts', report.workerRestarts));
  lines.push(row('Temporal dev server restarts', report.devServerRestarts));
  lines.push(row('emulator restarts (SIGKILL)', report.emulatorRestarts));
  lines.push(row('retry updates sent', report.retriesSent));
  lines.push('', row('wall time', formatDuration(report.wallTimeMs)), '');
  if (report.mismatches.length === 0) {
    lines.push('PASS: every image matches its plan, the emulator state and the call log');
  } else {
    lines.push(`FAIL: ${report.mismatches.length} mismatch(es)`);
    for (const mismatch of report.mismatches) lines.push(`  - ${mismatch}`);
  }
  if (report.workDir !== undefined) lines.push(`work directory (database, emulator state, logs): ${report.workDir}`);
  return lines.join('\n');
}
