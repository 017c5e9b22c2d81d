/**
 * Recorded workflow histories for the replay tests. `npm run histories:record`
 * re-runs the end-to-end scenarios with IMGDEL_RECORD_HISTORIES=1, and each
 * scenario saves its history (proto3 JSON, as the Temporal CLI and UI export it)
 * under test/histories/<name>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

export async function recordHistoryIfAsked(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.IMGDEL_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  await mkdir(HISTORIES_DIR, { recursive: true });
  await writeFile(`${HISTORIES_DIR}${name}.json`, `${withoutStackTraces(historyToJSON(history))}\n`);
}

/**
 * Failure stack traces name files of the machine that recorded them; replay never reads
 * them, so the committed histories keep none.
 */
export function withoutStackTraces(historyJson: string): string {
  return JSON.stringify(JSON.parse(historyJson, (key, value: unknown) => (key === 'stackTrace' ? '' : value)));
}
